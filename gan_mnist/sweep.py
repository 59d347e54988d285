"""Sweeps: every combination of ``--set`` values times ``--seeds`` is one trial (train.py, then
evaluate.py, in its own folder), run as Ray tasks on this machine or on a cluster.

A sweep sits on top of the package: each trial calls the same entry points a user types, with the
trial's flags, in a fresh Ray worker process (``max_calls=1``), so a trial is exactly a run of
train.py. The folders are the state: a trial whose ``trial.json`` says finished (for the same
budget) is skipped, any other one is started again and the trainer resumes it from its own
checkpoints. Ray is imported only to run trials; reports need only the folders.
"""
import contextlib
import itertools
import os
import sys
import threading
import time

from gan_mnist import GanError
from gan_mnist.trials import is_finished, read_trial, write_trial
from gan_mnist.metrics import EVAL_N

LOG_FILE = "train.log"
# Flags a sweep sets itself for every trial; the user sets them through the sweep's own flags.
RESERVED = {"checkpoint-dir": "each trial has its own", "output-dir": "each trial has its own",
            "seed": "use --seeds", "steps": "use the sweep's --steps",
            "minutes": "use the sweep's --minutes", "fresh": "delete the trial's folder instead"}
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
HEARTBEAT_SECONDS = 5


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
        if not flags[key] and any(v.lower() not in TRUE + FALSE for v in values):
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


def train_argv(settings, seed, folder, budget, flags, trained_seconds=0.0):
    """train.py's argv for a trial; with a --minutes budget, only what is left of it."""
    argv = []
    for key, value in settings:
        if not flags[key]:
            argv += ["--" + key] if value.lower() in TRUE else []
        else:
            argv += ["--" + key, value]
    argv += ["--seed", str(seed), "--checkpoint-dir", os.path.join(folder, "checkpoints"),
             "--output-dir", os.path.join(folder, "output")]
    if budget.get("minutes"):
        left = budget["minutes"] - trained_seconds / 60.0
        argv += ["--minutes", "%.4f" % max(left, 1e-4)]
    if budget.get("steps"):
        argv += ["--steps", str(budget["steps"])]
    return argv


# ---------------------------------------------------------------- one trial (in a Ray worker)

class _Heartbeat:
    """Adds the seconds this trial trains to trial.json every few seconds, so a trial resumed
    after a crash gets only what is left of a --minutes budget."""

    def __init__(self, folder, record):
        self.folder, self.record = folder, record
        self.base = record.get("trained_seconds", 0.0)
        self.start = time.time()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self):
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            self.update()

    def update(self):
        self.record["trained_seconds"] = round(self.base + time.time() - self.start, 1)
        write_trial(self.folder, self.record)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()
        self.update()


def _last_error(log_path):
    """The one-line error a failed command printed last."""
    try:
        with open(log_path, errors="replace") as f:
            lines = [line.strip() for line in f.read().replace("\r", "\n").splitlines()]
    except OSError:
        return "failed (no log)"
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or [line for line in lines if line] or ["failed"])[-1]


def _call(main, argv):
    """A command's exit status; a bad flag value exits through argparse, which must not take
    the Ray worker down with it."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    except Exception as e:  # a bug or a TensorFlow error: the trial fails, the sweep goes on
        import traceback

        traceback.print_exc()
        print("error: %s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e)
                                 else ""))
        return 1


def run_trial(folder, settings, seed, budget, eval_n, threads):
    """Train (or resume) and evaluate one trial; returns its trial.json record. Runs in a fresh
    Ray worker process, with everything it prints going to the trial's train.log."""
    os.environ["GAN_MNIST_THREADS"] = str(threads)
    os.makedirs(folder, exist_ok=True)
    record = read_trial(folder) or {}
    trained = record.get("trained_seconds", 0.0)  # counts towards a new budget too
    record = dict(settings=dict(settings), seed=seed, budget=budget, status="running",
                  error=None, trained_seconds=trained, host=os.uname().nodename)
    write_trial(folder, record)
    from gan_mnist.commands import evaluate, train

    log_path = os.path.join(folder, LOG_FILE)
    with open(log_path, "a", buffering=1) as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        print("=== %s" % time.strftime("%Y-%m-%d %H:%M:%S"))
        status = 0
        left = budget.get("minutes", 0) * 60 - trained
        if not budget.get("minutes") or left > 1:
            argv = train_argv(settings, seed, folder, budget, train.flags(), trained)
            print("train.py " + " ".join(argv))
            with _Heartbeat(folder, record):
                status = _call(train.main, argv)
        if status == 0:
            argv = ["--checkpoint-dir", os.path.join(folder, "checkpoints"), "--output-dir",
                    folder, "--n", str(eval_n)]
            print("evaluate.py " + " ".join(argv))
            status = _call(evaluate.main, argv)
    record = read_trial(folder) or record
    if status == 0:
        record.update(status="finished", error=None)
    elif status in (130, 143):  # stopped by Ctrl-C / SIGTERM, checkpoint saved
        record.update(status="stopped", error=None)
    else:
        record.update(status="failed", error=_last_error(log_path))
    write_trial(folder, record)
    return record


# ---------------------------------------------------------------- the driver

def _import_ray():
    try:
        import ray
    except ImportError:
        raise GanError("sweeps run on Ray, which is not installed; install it with "
                       "pip install 'ray>=2.9' (or pip install .[sweep])")
    return ray


def _ray_init(ray, address):
    import logging

    env = {k: os.environ[k] for k in ("MNIST_DATA_DIR", "FASHION_MNIST_DATA_DIR",
                                      "GAN_MNIST_VERBOSE", "MNIST_MIRRORS") if k in os.environ}
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # Workers on this machine import the package from where the driver found it (a checkout
    # need not be installed); on a cluster every node must have it installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                  runtime_env={"env_vars": env})
    if address:
        kwargs["address"] = address
    else:
        kwargs["object_store_memory"] = 100 * 1024 * 1024  # trials pass back only small dicts
    ray.init(**kwargs)


def run(out, sets, seeds, budget, address=None, cpus_per_trial=1, eval_n=EVAL_N):
    """Run every unfinished trial; return the process exit status (1 when a trial failed)."""
    from gan_mnist.commands import train

    flags = train.flags()
    out = os.path.abspath(out)
    trials = grid(sets, seeds)
    folders = [os.path.join(out, trial_name(settings, seed)) for settings, seed in trials]
    todo = [(t, f) for t, f in zip(trials, folders) if not is_finished(f, budget)]
    print("%d trials in %s: %d finished already, %d to run"
          % (len(trials), out, len(trials) - len(todo), len(todo)))
    failed = []
    if todo:
        failed = _run_on_ray(todo, budget, address, cpus_per_trial, eval_n, flags)
    from gan_mnist import sweep_report

    paths = sweep_report.write(out, budget)
    print("results: %s" % ", ".join(paths))
    if failed:
        print("%d trial(s) failed; fix the cause and run the same command again to retry them"
              % len(failed), file=sys.stderr)
    return 1 if failed else 0


def _run_on_ray(todo, budget, address, cpus_per_trial, eval_n, flags):
    ray = _import_ray()
    _ray_init(ray, address)
    total_cpus = int(ray.cluster_resources().get("CPU", 1))
    print("Ray: %d CPUs, %d per trial: up to %d trials at a time"
          % (total_cpus, cpus_per_trial, max(total_cpus // cpus_per_trial, 1)))
    task = ray.remote(num_cpus=cpus_per_trial, max_calls=1, max_retries=0)(run_trial)
    pending = {}
    for (settings, seed), folder in todo:
        os.makedirs(folder, exist_ok=True)
        ref = task.remote(folder, settings, seed, budget, eval_n, cpus_per_trial)
        pending[ref] = folder
    failed = []
    try:
        while pending:
            # A short timeout, so Ctrl-C is seen at once rather than when a trial ends.
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            if not done:
                continue
            folder = pending.pop(done[0])
            try:
                record = ray.get(done[0])
            except Exception as e:  # the worker died (killed, out of memory): say so on disk
                lines = str(e).strip().splitlines() or [type(e).__name__]
                record = dict(read_trial(folder) or {}, status="failed",
                              error="its process died (%s)" % lines[-1])
                write_trial(folder, record)
            name = os.path.basename(folder)
            if record["status"] == "finished":
                print("finished %s (%d left)" % (name, len(pending)))
            else:
                failed.append(name)
                print("FAILED %s: %s (%d left)" % (name, record.get("error"), len(pending)),
                      file=sys.stderr)
    except KeyboardInterrupt:
        print("stopping: the running trials save a checkpoint; run the same command to resume",
              file=sys.stderr)
        for ref in pending:
            ray.cancel(ref)  # a KeyboardInterrupt in the trial: the trainer saves and stops
        ray.wait(list(pending), num_returns=len(pending), timeout=60)
        ray.shutdown()
        raise
    ray.shutdown()
    return failed
