"""Sweeps: every combination of ``--set`` values times ``--seeds`` is one trial (train.py, then
evaluate.py, in its own folder), run as Ray tasks on this machine or on a cluster.

A sweep sits on top of the package: each trial calls the same entry points a user types, with the
trial's flags, in a fresh Ray worker process (gan_mnist.sweeps.trial), so a trial is exactly a run
of train.py. The folders are the state: a trial whose ``trial.json`` says finished (for the same
budget) is skipped, any other one is started again and the trainer resumes it from its own
checkpoints. Ray is imported only to run trials (gan_mnist.sweeps.ray_tasks); reports need only the
folders (gan_mnist.sweeps.report). ``--halving`` stops the worse trials early (gan_mnist.sweeps.halving).
"""
import itertools
import os
import sys

from gan_mnist.errors import GanError
from gan_mnist.evaluation.metrics import EVAL_N
from gan_mnist.sweeps.halving import FRACTIONS, KEEP
from gan_mnist.training.config import OFF, ON
from gan_mnist.sweeps.records import is_finished, read_trial

# Flags a sweep sets itself for every trial; the user sets them through the sweep's own flags.
RESERVED = {"checkpoint-dir": "each trial has its own", "output-dir": "each trial has its own",
            "seed": "use --seeds", "steps": "use the sweep's --steps",
            "minutes": "use the sweep's --minutes", "fresh": "delete the trial's folder instead"}
MAX_FAILURES = 2


# ---------------------------------------------------------------- the grid

def parse_sets(specs, flags):
    """``["arch=fc,fast", "lr-d=1e-4"]`` -> ``[("arch", ["fc", "fast"]), ("lr-d", ["1e-4"])]``.

    ``flags`` maps each train.py flag name (without dashes) to whether it takes a value; an
    unknown or reserved name, a missing '=', or an empty value is refused with one line."""
    sets = []
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip().lstrip("-").replace("_", "-")
        values = [v.strip() for v in values.split(",")]
        if not sep or not key or "" in values:
            raise GanError("--set %r: expected KEY=V1,V2,... (a train.py flag and its values)"
                           % spec)
        if key in RESERVED:
            raise GanError("--set %s: the sweep sets --%s itself (%s)" % (key, key, RESERVED[key]))
        if key not in flags:
            raise GanError("--set %s: train.py has no flag --%s" % (key, key))
        if not flags[key] and any(v.lower() not in ON + OFF for v in values):
            raise GanError("--set %s: --%s is an on/off switch; use values like on,off" % (key, key))
        if key in dict(sets):
            raise GanError("--set %s appears twice; list all its values in one --set" % key)
        sets.append((key, values))
    return sets


def grid(sets, seeds):
    """Every (settings, seed) pair: settings as a tuple of (flag, value), in --set order."""
    keys = [k for k, _ in sets]
    return [(tuple(zip(keys, values)), seed)
            for values in itertools.product(*[v for _, v in sets]) for seed in seeds]


def trial_name(settings, seed):
    """A folder name that reads as the trial's flags: ``arch=fast,lr-d=1e-4,seed=0``."""
    parts = ["%s=%s" % (k, v) for k, v in settings] + ["seed=%d" % seed]
    return ",".join(parts).replace(os.sep, "_")


# ---------------------------------------------------------------- the driver

def run(out, sets, seeds, budget, address=None, cpus_per_trial=1, eval_n=EVAL_N, halving=False,
        max_failures=MAX_FAILURES, fractions=FRACTIONS, share=KEEP):
    """Run every unfinished trial, measuring each at the rungs (``fractions`` of the budget) on
    its way, and with ``halving`` stopping all but ``share`` of them at each rung; return the
    process exit status (1 when a trial failed)."""
    from gan_mnist.sweeps import report as sweep_report

    schedule = dict(fractions=fractions, share=share)
    out = os.path.abspath(out)
    trials = grid(sets, seeds)
    jobs = [(settings, seed, os.path.join(out, trial_name(settings, seed)))
            for settings, seed in trials]
    done = [job for job in jobs if is_finished(job[2], budget)]
    halted = [job for job in jobs if halving and job not in done
              and _halted_for_good(job[2], budget)]
    todo = [job for job in jobs if job not in done and job not in halted]
    summary = "%d trials in %s: %d finished already,%s %d to run" % (
        len(jobs), out, len(done), " %d halted," % len(halted) if halted else "", len(todo))
    failed = []
    if todo:
        failed = _run_on_ray(out, jobs if halving else todo, budget, address, cpus_per_trial,
                             eval_n, halving, max_failures, schedule, summary)
    else:
        print(summary)
    sweep_report.publish(out, budget, schedule["share"])
    if failed:
        print("%d trial(s) failed; fix the cause and run the same command again to retry them"
              % len(failed), file=sys.stderr)
    return 1 if failed else 0


def _halted_for_good(folder, budget):
    """A halted trial that the same --halving sweep would halt again: its rung's FID is on
    record (the decision is taken again from the records, so this only skips starting Ray)."""
    from gan_mnist.sweeps import halving

    record = read_trial(folder)
    return halving.is_halted(record, budget) and halving.rung_fid(record, str(record.get(
        "halted_at"))) is not None


def _run_on_ray(out, jobs, budget, address, cpus_per_trial, eval_n, halving, max_failures,
                schedule, summary):
    from gan_mnist.sweeps import halving as halving_lib, ray_tasks as sweep_ray

    # Ray first: without Ray, or with a cluster that does not answer, one line and no folder.
    with sweep_ray.session(out, address) as (ray, terminal):
        terminal.say(summary)
        for job in jobs:
            os.makedirs(job[2], exist_ok=True)
        total_cpus = int(ray.cluster_resources().get("CPU", 1))
        terminal.say("Ray: %d CPUs, %d per trial: up to %d trials at a time (Ray's own messages: "
                     "%s)" % (total_cpus, cpus_per_trial, max(total_cpus // cpus_per_trial, 1),
                              os.path.join(out, sweep_ray.RAY_LOG)))
        runner = sweep_ray.Runner(ray, terminal, cpus_per_trial, eval_n, max_failures,
                                  halving_lib.rungs(budget, schedule["fractions"]))
        if halving:
            return halving_lib.run(jobs, budget, lambda some, rung: runner.run(some, budget, rung),
                                   terminal.say, **schedule)
        return runner.run(jobs, budget)
