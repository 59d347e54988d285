"""One sweep trial, run inside a Ray worker process: train.py (or resume it) with the trial's
flags, then evaluate.py, everything it prints going to the trial's ``train.log``, its state to
``trial.json``. With ``rung`` (``--halving``) the trial trains only up to that step and measures
its quick FID instead of the full evaluation.

Nothing here raises: a failure of the trial's own (a bad flag, a divergence, a bug) comes back as
a record with status "failed", so the driver can tell it from a process or a node that was lost.
"""
import contextlib
import os
import threading
import time

from gan_mnist.sweeps.records import read_trial, write_trial

LOG_FILE = "train.log"
TRUE = ("1", "true", "yes", "on")
HEARTBEAT_SECONDS = 5
RUNG_SEED = 0  # the quick FID at a rung draws the same noise for every trial


def train_argv(settings, seed, folder, budget, flags, trained_seconds=0.0):
    """train.py's argv for a trial; with a --minutes budget, only what is left of it."""
    argv = []
    for key, value in settings:
        if not flags[key]:
            # off is typed too (--no-KEY), so a setting can turn off what the recipe turns on
            argv += ["--" + key] if value.lower() in TRUE else ["--no-" + key]
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


class _Heartbeat:
    """Adds the seconds this trial trains to trial.json every few seconds, so a trial resumed
    after a crash gets only what is left of a --minutes budget. It counts the trainer's step
    loop (trainer.LOOP_CLOCK), as train.py's --minutes does: not TensorFlow's start-up or the
    graph's building, which each rung of a sweep pays again."""

    def __init__(self, folder, record):
        from gan_mnist.training.trainer import LOOP_CLOCK

        self.folder, self.record, self.clock = folder, record, LOOP_CLOCK
        self.base = record.get("trained_seconds", 0.0)
        self.start = self.clock.seconds()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self):
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            self.update()

    def update(self):
        self.record["trained_seconds"] = round(self.base + self.clock.seconds() - self.start, 1)
        write_trial(self.folder, self.record)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()
        self.update()


def last_error(log_path):
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


def where():
    """This process's Ray node: (its IP address, its node id), or (None, None) outside Ray."""
    try:
        import ray

        if ray.is_initialized():
            node_id = ray.get_runtime_context().get_node_id()
            # The address the cluster knows the node by; get_node_ip_address() in a worker
            # guesses it from this machine's routes instead.
            ips = [n.get("NodeManagerAddress") for n in ray.nodes() if n.get("NodeID") == node_id]
            return (ips[0] if ips and ips[0] else ray.util.get_node_ip_address()), node_id
    except Exception:
        pass
    return None, None


def node_label(ip, node_id):
    return "%s (%s)" % (ip, node_id[:8]) if node_id else os.uname().nodename


def quick_fid(folder):
    """(step, quick FID) of the trial's newest checkpoint, on the quick evaluation's 2,000
    digits."""
    from gan_mnist.evaluation import metrics, report
    from gan_mnist.evaluation.evaluate import Evaluator

    digits, labels, step, dataset = report.digits_of_checkpoint(
        os.path.join(folder, "checkpoints"), metrics.QUICK_N, RUNG_SEED)
    return step, float(Evaluator(None, None, dataset).quick(digits, labels)["fid"])


def _checkpoint_step(folder):
    """The step of the trial's newest checkpoint; None without one."""
    from gan_mnist.training.run_folder import RunFolder

    run = RunFolder(os.path.join(folder, "checkpoints"))
    return run.step() if run.newest() else None


def _passed(folder, record, rung):
    """Whether the trial has trained beyond ``rung`` already (resumed after a crash, or run
    before without rungs): its quick FID there can no longer be measured."""
    if "steps" in rung:
        return (_checkpoint_step(folder) or 0) >= rung["steps"]
    return record.get("trained_seconds", 0.0) >= rung["minutes"] * 60


def _train(folder, record, settings, seed, target):
    """train.py (or its resumption) up to ``target``, a budget: its exit status."""
    from gan_mnist.commands import train

    left = target.get("minutes", 0) * 60 - record["trained_seconds"]
    if target.get("minutes") and left <= 1 and _checkpoint_step(folder) is not None:
        return 0  # its time is used up (a second's training is not worth a start)
    argv = train_argv(settings, seed, folder, target, train.flags(), record["trained_seconds"])
    print("train.py " + " ".join(argv))
    with _Heartbeat(folder, record):
        return _call(train.main, argv)


def _measure(folder, record, rung_key):
    """The quick FID of the newest checkpoint, into ``record["rungs"]``: its exit status."""
    measured = []  # (step, FID), filled by quick_fid unless it fails
    status = _call(lambda _: measured.append(quick_fid(folder)) or 0, [])
    if measured:
        step, fid = measured[0]
        print("quick FID %.2f at step %d (rung %s)" % (fid, step, rung_key))
        record["rungs"] = dict(record.get("rungs") or {}, **{rung_key: round(fid, 3)})
        record["rung_steps"] = dict(record.get("rung_steps") or {}, **{rung_key: step})
        write_trial(folder, record)
    return status


def run_trial(folder, settings, seed, budget, eval_n, threads, attempt=None, rungs=(),
              full=True):
    """Train (or resume) one trial through ``rungs`` (budgets part of the way, see
    gan_mnist.sweeps.halving), measuring its quick FID at each one not yet measured, then, if
    ``full``, to the whole budget and the full evaluation; return its trial.json record."""
    from gan_mnist.sweeps.halving import key, rung_fid

    os.environ["GAN_MNIST_THREADS"] = str(threads)
    os.makedirs(folder, exist_ok=True)
    record = read_trial(folder) or {}
    ip, node_id = where()
    node = node_label(ip, node_id)
    record.pop("halted_at", None)
    record.update(settings=dict(settings), seed=seed, budget=budget, status="running",
                  error=None, trained_seconds=record.get("trained_seconds", 0.0),
                  host=os.uname().nodename, pid=os.getpid(), node=node, node_id=node_id,
                  attempt=attempt, nodes=record.get("nodes", []) + [node])
    write_trial(folder, record)
    from gan_mnist.commands import evaluate

    log_path = os.path.join(folder, LOG_FILE)
    with open(log_path, "a", buffering=1) as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        print("=== %s on %s" % (time.strftime("%Y-%m-%d %H:%M:%S"), node))
        status = 0
        for rung in rungs:
            # On the way to the full budget, a rung passed already is left out; a rung of
            # --halving is measured even so (at the newest checkpoint), to decide on the trial.
            if status == 0 and rung_fid(record, key(rung)) is None and not (
                    full and _passed(folder, record, rung)):
                status = _train(folder, record, settings, seed, dict(budget, **rung)) or \
                    _measure(folder, record, key(rung))
        if status == 0 and full:
            status = _train(folder, record, settings, seed, budget)
            if status == 0:
                argv = ["--checkpoint-dir", os.path.join(folder, "checkpoints"), "--output-dir",
                        folder, "--n", str(eval_n)]
                print("evaluate.py " + " ".join(argv))
                status = _call(evaluate.main, argv)
    record = dict(read_trial(folder) or record)
    if status == 0:
        record.update(status="finished" if full else "paused", error=None)
    elif status in (130, 143):  # stopped by Ctrl-C / SIGTERM, checkpoint saved
        record.update(status="stopped", error=None)
    else:
        record.update(status="failed", error=last_error(log_path))
    write_trial(folder, record)
    return record

