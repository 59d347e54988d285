"""``plot.py`` / ``gan-mnist plot``: a run's figures again, or several runs' FID against minutes."""
import os

from gan_mnist.commands.common import Parser, add_checkpoint_dir, add_data_dir, run


def parser(prog="plot.py"):
    p = Parser(prog=prog, description="Regenerate the figures of a run from its logs and "
               "newest checkpoint.")
    p.add_argument("--output-dir", default="output", help="the run's output folder (default "
                   "output/); the figures are written there")
    add_checkpoint_dir(p, "the run's checkpoints")
    add_data_dir(p)
    p.add_argument("--compare", nargs="+", metavar="[LABEL=]OUTPUT_DIR",
                   help="instead: draw the quick FID of these runs' log.csv against minutes of "
                   "training into one figure (--out)")
    p.add_argument("--out", default="fid_vs_minutes.png",
                   help="the figure --compare writes (default fid_vs_minutes.png)")
    return p


def main(argv=None, prog="plot.py"):
    return run(lambda: _plot(parser(prog).parse_args(argv)))


def run_label(spec):
    """``LABEL=DIR`` or just ``DIR`` (labelled by its folder, or the one above an output/)."""
    label, sep, folder = spec.partition("=")
    if not sep:
        folder = spec
        name = os.path.basename(os.path.normpath(folder))
        label = name if name != "output" else os.path.basename(
            os.path.dirname(os.path.abspath(folder)))
    return label, folder


def _plot(args):
    from gan_mnist import api

    if args.compare:
        print("wrote %s" % api.fid_against_minutes([run_label(s) for s in args.compare],
                                                   args.out))
        return 0
    for path in api.figures(args.checkpoint_dir, args.output_dir, args.data_dir).values():
        print("wrote %s" % path)
    return 0
