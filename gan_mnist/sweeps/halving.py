"""``sweep.py --halving``: successive halving on the quick FID.

Every trial trains to the first rung (1/9 of ``--steps``) and measures its quick FID (2,000
digits); the best third (rounded up) goes on to the next rung (1/3), the best third of those to
the full budget, where they get the full evaluation. The others are *halted*: trial.json says so
and at which rung, and their checkpoints stay, so a later sweep without --halving resumes them to
the full budget.

The rungs are synchronous (each rung waits for all its trials), so the decisions depend only on
the FIDs recorded in the trials' folders: running the same command again takes the same
decisions and runs only what is missing. Ray Tune's ASHA promotes asynchronously instead, which
keeps every CPU busy but decides on whichever trials happen to finish first.
"""
import os

from gan_mnist.sweeps.records import read_trial, write_trial

ETA = 3  # each rung keeps the best 1/ETA, and the rungs are ETA times apart
RUNGS = 3


def rungs(steps, eta=ETA, count=RUNGS):
    """The step counts at which trials are compared, the last one the full budget:
    ``rungs(900) == [100, 300, 900]``."""
    return sorted({max(1, -(-steps // eta ** k)) for k in range(count)})


def keep(n, eta=ETA):
    """How many of ``n`` measured trials go on: the best third, rounded up, at least one."""
    return max(1, -(-n // eta)) if n else 0


def survivors(fids, eta=ETA):
    """The trials (keys of ``fids``: trial -> quick FID) that go on, best FID first; ties go to
    the trial named first."""
    ranked = sorted(fids, key=lambda name: (fids[name], name))
    return ranked[:keep(len(ranked), eta)]


def rung_fid(record, rung):
    return ((record or {}).get("rungs") or {}).get(str(rung))


def is_halted(record, budget):
    return bool(record and record.get("status") == "halted" and record.get("budget") == budget)


def run(jobs, budget, run_jobs, say):
    """Run ``jobs`` (``(settings, seed, folder)`` for every trial of the grid, finished ones
    too) rung by rung; ``run_jobs(jobs, rung)`` runs the given trials up to ``rung`` (None: the
    whole budget and the full evaluation). Returns the names of trials that failed."""
    steps = rungs(budget["steps"])
    alive, failed = list(jobs), []
    for number, rung in enumerate(steps[:-1], 1):
        need = [job for job in alive if rung_fid(read_trial(job[2]), rung) is None
                and (read_trial(job[2]) or {}).get("status") != "finished"]
        if need:
            failed += run_jobs(need, rung)
        fids, finished = {}, set()
        for job in alive:
            record = read_trial(job[2]) or {}
            if record.get("status") == "finished":
                finished.add(job[2])  # goes on whatever its FID: it is done
            if rung_fid(record, rung) is not None:
                fids[job[2]] = rung_fid(record, rung)
        kept = set(survivors(fids)) | finished
        for folder in sorted(set(fids) - kept, key=lambda f: (fids[f], f)):
            record = read_trial(folder)
            if record.get("status") != "halted":
                record.update(status="halted", halted_at=rung, error=None)
                write_trial(folder, record)
                say("halted %s at step %d (quick FID %.2f)" % (os.path.basename(folder), rung,
                                                                fids[folder]))
        measured = len(set(fids) | finished)
        say("rung %d of %d (step %d): %d of %d trials go on" % (number, len(steps), rung,
                                                                len(kept), measured))
        alive = [job for job in alive if job[2] in kept]
    need = [job for job in alive if (read_trial(job[2]) or {}).get("status") != "finished"]
    if need:
        failed += run_jobs(need, None)
    return failed
