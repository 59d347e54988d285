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


def run_trial(folder, settings, seed, budget, eval_n, threads, attempt=None, rung=None):
    """Train (or resume) and evaluate one trial; return its trial.json record."""
    os.environ["GAN_MNIST_THREADS"] = str(threads)
    os.makedirs(folder, exist_ok=True)
    record = read_trial(folder) or {}
    ip, node_id = where()
    node = node_label(ip, node_id)
    record.pop("halted_at", None)
    record.update(settings=dict(settings), seed=seed, budget=budget, status="running",
                  error=None, trained_seconds=record.get("trained_seconds", 0.0),
                  host=os.uname().nodename, pid=os.getpid(), node=node, node_id=node_id, attempt=attempt,
                  nodes=record.get("nodes", []) + [node])
    write_trial(folder, record)
    from gan_mnist.commands import evaluate, train

    log_path = os.path.join(folder, LOG_FILE)
    with open(log_path, "a", buffering=1) as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        print("=== %s on %s" % (time.strftime("%Y-%m-%d %H:%M:%S"), node))
        status = 0
        trained = record["trained_seconds"]
        left = budget.get("minutes", 0) * 60 - trained
        if not budget.get("minutes") or left > 1:
            target = dict(budget, steps=rung) if rung else budget
            argv = train_argv(settings, seed, folder, target, train.flags(), trained)
            print("train.py " + " ".join(argv))
            with _Heartbeat(folder, record):
                status = _call(train.main, argv)
        if status == 0 and rung:
            measured = []  # (step, FID), filled by quick_fid unless it fails
            status = _call(lambda _: measured.append(quick_fid(folder)) or 0, [])
            if measured:
                step, fid = measured[0]
                print("quick FID %.2f at step %d (rung %d)" % (fid, step, rung))
        elif status == 0:
            argv = ["--checkpoint-dir", os.path.join(folder, "checkpoints"), "--output-dir",
                    folder, "--n", str(eval_n)]
            print("evaluate.py " + " ".join(argv))
            status = _call(evaluate.main, argv)
    record = dict(read_trial(folder) or record)
    if status == 0 and rung:
        record["rungs"] = dict(record.get("rungs") or {}, **{str(rung): round(fid, 3)})
        record.update(status="paused", error=None)
    elif status == 0:
        record.update(status="finished", error=None)
    elif status in (130, 143):  # stopped by Ctrl-C / SIGTERM, checkpoint saved
        record.update(status="stopped", error=None)
    else:
        record.update(status="failed", error=last_error(log_path))
    write_trial(folder, record)
    return record
