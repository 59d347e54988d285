"""Rungs and ``sweep.py --halving``: successive halving on the quick FID.

A rung is a point part of the way through each trial's budget (``--rungs``, fractions of
``--steps`` or ``--minutes``), where the trial's quick FID (2,000 digits) is measured. Every
sweep measures its trials at the rungs on their way to the full budget, so its report can say how
well each rung ranks the settings (gan_mnist.sweeps.rank). With ``--halving`` the rungs also
decide: every trial trains to the first rung and is measured; the best fraction (``--keep``,
rounded up) goes on to the next rung, and so on; the last survivors train to the full budget and
get the full evaluation. The others are *halted*: trial.json says so and at which rung, and their
checkpoints stay, so a later sweep without --halving resumes them to the full budget.

The rungs are synchronous (each rung waits for all its trials), so the decisions depend only on
the FIDs recorded in the trials' folders: running the same command again takes the same
decisions and runs only what is missing. Ray Tune's ASHA promotes asynchronously instead, which
keeps every CPU busy but decides on whichever trials happen to finish first.
"""
import fractions
import math
import os

from gan_mnist.sweeps.records import read_trial, write_trial

FRACTIONS = (fractions.Fraction(1, 9), fractions.Fraction(1, 3))  # --rungs' default
KEEP = fractions.Fraction(1, 3)  # --keep's default: the share of trials each rung keeps


def rungs(budget, fractions=FRACTIONS):
    """The rungs of a budget, as budgets of their own, in order, the full budget not included:
    ``rungs({"steps": 900}) == [{"steps": 100}, {"steps": 300}]``; with minutes, fractions of
    the minutes (``{"minutes": 2 / 9}``, ...). Rungs that round to the same step are one."""
    if budget.get("steps") and not budget.get("minutes"):
        steps = sorted({max(1, math.ceil(budget["steps"] * f)) for f in fractions})
        return [{"steps": s} for s in steps if s < budget["steps"]]
    return [{"minutes": float(budget["minutes"] * f)} for f in sorted(set(fractions))]


def key(rung):
    """How trial.json names a rung: its step ("100"), or its minutes ("0.2222min")."""
    if "steps" in rung:
        return str(rung["steps"])
    return "%.4gmin" % rung["minutes"]


def describe(rung_key):
    """'step 100' or '0.2222 min', for messages and reports."""
    return "%s min" % rung_key[:-3] if rung_key.endswith("min") else "step %s" % rung_key


def keep(n, share=KEEP):
    """How many of ``n`` measured trials go on: ``share`` of them, rounded up, at least one."""
    return max(1, math.ceil(n * share)) if n else 0


def survivors(fids, share=KEEP):
    """The trials (keys of ``fids``: trial -> quick FID) that go on, best FID first; ties go to
    the trial named first."""
    ranked = sorted(fids, key=lambda name: (fids[name], name))
    return ranked[:keep(len(ranked), share)]


def rung_fid(record, rung_key):
    return ((record or {}).get("rungs") or {}).get(rung_key)


def is_halted(record, budget):
    return bool(record and record.get("status") == "halted" and record.get("budget") == budget)


def run(jobs, budget, run_jobs, say, fractions=FRACTIONS, share=KEEP):
    """Run ``jobs`` (``(settings, seed, folder)`` for every trial of the grid, finished ones
    too) rung by rung; ``run_jobs(jobs, rung)`` runs the given trials up to ``rung`` (None: the
    whole budget and the full evaluation). Returns the names of trials that failed."""
    steps = rungs(budget, fractions)
    alive, failed = list(jobs), []
    for number, rung in enumerate(steps, 1):
        name = key(rung)
        need = [job for job in alive if rung_fid(read_trial(job[2]), name) is None
                and (read_trial(job[2]) or {}).get("status") != "finished"]
        if need:
            failed += run_jobs(need, rung)
        fids, finished = {}, set()
        for job in alive:
            record = read_trial(job[2]) or {}
            if record.get("status") == "finished":
                finished.add(job[2])  # goes on whatever its FID: it is done
            if rung_fid(record, name) is not None:
                fids[job[2]] = rung_fid(record, name)
        kept = set(survivors(fids, share)) | finished
        for folder in sorted(set(fids) - kept, key=lambda f: (fids[f], f)):
            record = read_trial(folder)
            if record.get("status") != "halted":
                record.update(status="halted", halted_at=name, error=None)
                write_trial(folder, record)
                say("halted %s at %s (quick FID %.2f)" % (os.path.basename(folder),
                                                          describe(name), fids[folder]))
        measured = len(set(fids) | finished)
        say("rung %d of %d (%s): %d of %d trials go on" % (number, len(steps) + 1,
                                                          describe(name), len(kept), measured))
        alive = [job for job in alive if job[2] in kept]
    need = [job for job in alive if (read_trial(job[2]) or {}).get("status") != "finished"]
    if need:
        failed += run_jobs(need, None)
    return failed
