"""``sweep.py`` / ``gan-mnist sweep``: settings x seeds as Ray tasks (gan_mnist.sweeps.grid)."""
import argparse
import fractions
import os

from gan_mnist.errors import GanError
from gan_mnist.files import check_writable
from gan_mnist.training.checks import non_negative_int, number, positive_float, positive_int
from gan_mnist.training import config as config_lib
from gan_mnist.commands.common import Parser, run
from gan_mnist.evaluation.metrics import EVAL_N
from gan_mnist.sweeps.grid import MAX_FAILURES
from gan_mnist.sweeps.halving import FRACTIONS, KEEP


def parser(prog="sweep.py"):
    p = Parser(prog=prog, description="Train and evaluate every combination of --set "
               "values for each of --seeds, as Ray tasks (a local Ray unless --address is "
               "given). Running the same command again skips finished trials and resumes the "
               "others from their checkpoints.")
    p.add_argument("--out", required=True, help="the sweep's folder: one folder per trial, "
                   "results.csv, results.md, fid.png (on a cluster: a path every node sees)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2",
                   help="a train.py flag and the values to try (repeatable); on/off for "
                   "switches such as spectral-norm=on,off")
    p.add_argument("--seeds", type=seed_list, default=[0],
                   help="comma-separated seeds, each setting runs once per seed (default 0)")
    p.add_argument("--minutes", type=positive_float,
                   help="training time per trial (a trial resumed after a crash gets what is left)")
    p.add_argument("--steps", type=positive_int, help="training steps per trial")
    p.add_argument("--eval-n", type=number(int, 10, maximum=60001), default=EVAL_N,
                   help="samples for each trial's evaluate.py (default %d)" % EVAL_N)
    p.add_argument("--cpus-per-trial", type=positive_int, default=1,
                   help="CPUs Ray reserves for each trial, and the threads its TensorFlow uses "
                   "(default 1)")
    p.add_argument("--address", help="an existing Ray cluster: HOST:PORT, auto (on a node of "
                   "it), or ray://HOST:10001 (default: start a local Ray on this machine); see "
                   "docs/sweeps.md for RAY_AUTH_MODE")
    p.add_argument("--rungs", type=rung_list, default=FRACTIONS, metavar="F1,F2",
                   help="fractions of each trial's budget (--steps or --minutes) where its quick "
                   "FID is measured on its way, so results.md can say how well each rung ranks "
                   "the trials; none: no such measurements (default %s)"
                   % ",".join(map(str, FRACTIONS)))
    p.add_argument("--halving", action="store_true",
                   help="successive halving: at each of --rungs, stop all but the --keep share "
                   "of trials with the best quick FID; halted trials keep their checkpoints")
    p.add_argument("--keep", type=share, default=KEEP, metavar="F",
                   help="with --halving, the share of trials each rung keeps, rounded up "
                   "(default %s)" % KEEP)
    p.add_argument("--max-failures", type=non_negative_int, default=MAX_FAILURES, metavar="N",
                   help="start a trial again, from its checkpoint, at most N times when its "
                   "process or node is lost (default %d); a trial's own failure (a bad flag, a "
                   "divergence) is never retried" % MAX_FAILURES)
    p.add_argument("--report", action="store_true",
                   help="only rewrite results.csv/md and fid.png from the trial folders")
    return p


def seed_list(text):
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected seeds like 0,1,2, got %r" % text)
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError("expected distinct seeds >= 0 like 0,1,2, got %r" % text)
    return seeds


def fraction(text):
    """'1/9' or '0.25' as a Fraction; argparse's message otherwise."""
    try:
        return fractions.Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError("expected a fraction like 1/3 or 0.25, got %r" % text)


def rung_list(text):
    if text.strip().lower() == "none":
        return ()
    rungs = [fraction(part) for part in text.split(",") if part.strip()]
    if not rungs or not all(0 < f < 1 for f in rungs) or rungs != sorted(set(rungs)):
        raise argparse.ArgumentTypeError("expected increasing fractions between 0 and 1 like "
                                         "1/9,1/3 (or none), got %r" % text)
    return tuple(rungs)


def share(text):
    value = fraction(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError("expected a share between 0 and 1 like 1/3, got %r"
                                         % text)
    return value


def writable_or_makeable(out):
    """Refuse an --out that cannot be written, or made, before Ray starts; make nothing (the
    sweep makes --out once Ray answers)."""
    if os.path.lexists(out):
        return check_writable(out, "sweep")
    parent = os.path.dirname(os.path.abspath(out))
    while not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise GanError("cannot make the sweep folder %s: %s is not a folder" % (out, parent))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise GanError("cannot make the sweep folder %s: Permission denied in %s" % (out, parent))


def main(argv=None, prog="sweep.py"):
    return run(lambda: _sweep(parser(prog).parse_args(argv)))


def _sweep(args):
    from gan_mnist.sweeps import grid as sweep, report as sweep_report

    if args.report:
        sweep_report.publish(args.out, share=args.keep)
        return 0
    if not args.minutes and not args.steps:
        raise GanError("say how long each trial trains: --minutes M or --steps N")
    if args.halving and not args.rungs:
        raise GanError("--halving stops trials at rungs: give --rungs F1,F2, not none")
    budget = {k: v for k, v in (("minutes", args.minutes), ("steps", args.steps)) if v}
    sets = sweep.parse_sets(args.set, config_lib.flags())
    writable_or_makeable(args.out)
    return sweep.run(args.out, sets, args.seeds, budget, args.address, args.cpus_per_trial,
                     args.eval_n, args.halving, args.max_failures, args.rungs, args.keep)
