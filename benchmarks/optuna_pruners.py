"""What early stopping would have decided on a full sweep's own records (docs/sweeps.md).

A full sweep (no --halving) measures every trial's quick FID at its rungs on the way to the full
budget and ends with its final FID. This replays those numbers, training nothing, through:

- ``--halving``'s synchronous rule (gan_mnist.sweeps.halving.survivors) for each rung schedule
  asked for, and
- Optuna's ``SuccessiveHalvingPruner`` and ``HyperbandPruner`` (asynchronous), with the trials
  reported in the grid's order, each rung as ``step = fraction x 18`` (1/9 -> 2, 1/6 -> 3,
  1/3 -> 6, the full budget 18), so that Optuna's rungs (``min_resource`` 2, factor 3) fall on
  ours;

and says for each how many trials would have reached the full budget, which of them has the best
final FID, and its rank in the full sweep (1 is the full sweep's winner).

    pip install optuna        # only for the two Optuna rows
    python benchmarks/optuna_pruners.py sweeps/full --schedules 1/9,1/3 1/6,1/3 --json out.json
"""
import argparse
import fractions
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan_mnist.sweeps import halving, report  # noqa: E402

STEPS = 18  # Optuna's steps per full budget: every fraction of 1/18 is a whole step


def finished(out):
    """The sweep's trials that reached the full budget, in the grid's order (report.collect's
    order is by name; trial.json holds no start time, so the order is the folders')."""
    return [row for row in report.collect(out) if row.get("fid") is not None]


def rung_key(budget, fraction):
    """The trial.json name of the rung at ``fraction`` of ``budget``."""
    return halving.key(halving.rungs(budget, (fraction,))[0])


def outcome(rows, finalists, trained):
    """The trials at the full budget, the best of them, its rank by final FID among all rows
    (1: the full sweep's winner), and the training it took as a share of the full sweep's
    (``trained``: the fractions of the budget the trials reached, added up)."""
    ranked = sorted(rows, key=lambda r: (r["fid"], r["trial"]))
    best = min(finalists, key=lambda r: (r["fid"], r["trial"]))
    return dict(full_budget=len(finalists), winner=best["trial"], fid=best["fid"],
                rank=ranked.index(best) + 1, training=round(float(trained) / len(rows), 3))


def synchronous(rows, schedule, share=halving.KEEP):
    """--halving's decisions on these records: at each rung, the best ``share`` of those alive."""
    alive, trained, reached = list(rows), 0, 0
    for fraction in schedule:
        trained += len(alive) * (fraction - reached)
        key = rung_key(rows[0]["budget"], fraction)
        kept = set(halving.survivors({r["trial"]: r["rung_fids"][key] for r in alive}, share))
        alive, reached = [r for r in alive if r["trial"] in kept], fraction
    return outcome(rows, alive, trained + len(alive) * (1 - reached))


def optuna_pruner(rows, pruner):
    """An Optuna study asked trial by trial in the grid's order; the trials not pruned."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # A fixed name: Hyperband puts each trial in a bracket by a hash of the study's name.
    study = optuna.create_study(study_name="replay", direction="minimize", pruner=pruner,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    budget = rows[0]["budget"]
    fids = sorted(((fractions.Fraction(f), k) for f, k in _measured(rows[0], budget)))
    finalists, trained = [], 0
    for row in rows:
        trial = study.ask()
        for fraction, key in fids:
            trial.report(row["rung_fids"][key], int(fraction * STEPS))
            if trial.should_prune():
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                trained += fraction
                break
        else:
            trial.report(row["fid"], STEPS)
            study.tell(trial, row["fid"])
            finalists.append(row)
            trained += 1
    return outcome(rows, finalists, trained)


def _measured(row, budget):
    """(fraction, key) of each rung this trial was measured at whose fraction is k/18."""
    candidates = [fractions.Fraction(k, STEPS) for k in range(1, STEPS)]
    return [(f, rung_key(budget, f)) for f in candidates
            if rung_key(budget, f) in row["rung_fids"]]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="a full sweep's folder (every trial finished, measured at rungs)")
    p.add_argument("--schedules", nargs="+", default=["1/9,1/3"],
                   help="rung schedules for --halving's rule, each like 1/9,1/3")
    p.add_argument("--json", help="write the rows here too")
    args = p.parse_args(argv)
    rows = finished(args.out)
    if len(rows) < 2:
        raise SystemExit("error: %s holds fewer than two finished trials" % args.out)
    results = {}
    for text in args.schedules:
        schedule = [fractions.Fraction(f) for f in text.split(",")]
        results["--halving --rungs %s" % text] = synchronous(rows, schedule)
    try:
        import optuna
    except ImportError:
        print("(Optuna is not installed: pip install optuna for its two rows)")
    else:
        results["optuna SuccessiveHalvingPruner"] = optuna_pruner(rows, optuna.pruners.
                                                                  SuccessiveHalvingPruner(
                                                                      min_resource=2,
                                                                      reduction_factor=3))
        results["optuna HyperbandPruner"] = optuna_pruner(rows, optuna.pruners.HyperbandPruner(
            min_resource=2, max_resource=STEPS, reduction_factor=3))
        results["optuna version"] = optuna.__version__
    for name, result in results.items():
        if isinstance(result, dict):
            print("%-34s %2d of %d trials to the full budget, %.0f%% of the training; best %s "
                  "(FID %.2f), rank %d in the full sweep" % (
                      name, result["full_budget"], len(rows), 100 * result["training"],
                      result["winner"], result["fid"], result["rank"]))
    if args.json:
        import datetime

        from gan_mnist.benchmarks.speed import cpu_model

        typed = argv if argv is not None else sys.argv[1:]
        record = dict(command="python benchmarks/optuna_pruners.py " + " ".join(typed),
                      date=datetime.date.today().isoformat(), lscpu_model_name=cpu_model(),
                      sweep=os.path.abspath(args.out), trials=len(rows), results=results)
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
