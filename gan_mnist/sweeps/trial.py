"""One sweep trial, run inside a Ray worker process: the api's train (or its resumption) with the
trial's flags as values, then its evaluation, everything they print going to the trial's
``train.log``, its state to ``trial.json``. With ``rung`` (``--halving``) the trial trains only
up to that step and measures its quick FID instead of the full evaluation.

Nothing here raises: a failure of the trial's own (a bad flag, a divergence, a bug) comes back as
a record with status "failed", so the driver can tell it from a process or a node that was lost.
"""
import contextlib
import os
import threading
import time

from gan_mnist.errors import GanError, reason
from gan_mnist.sweeps.records import read_trial, write_trial
from gan_mnist.training import config as config_lib

LOG_FILE = "train.log"
HEARTBEAT_SECONDS = 5
RUNG_SEED = 0  # the quick FID at a rung draws the same noise for every trial


def train_values(settings, seed, folder, budget, trained_seconds=0.0):
    """The train flags of a trial as the api takes them (Config field -> value): its --set
    settings (text, read as train.py reads them: a bad one raises ValueError), seed, folders
    and budget; with a --minutes budget, only what is left of it. An off switch is False, so a
    setting turns off what the recipe turns on."""
    values = {key.replace("-", "_"): config_lib.from_text(key, text) for key, text in settings}
    values.update(seed=seed, checkpoint_dir=os.path.join(folder, "checkpoints"),
                  output_dir=os.path.join(folder, "output"))
    if budget.get("minutes"):
        left = budget["minutes"] - trained_seconds / 60.0
        values["minutes"] = round(max(left, 1e-4), 4)
    if budget.get("steps"):
        values["steps"] = budget["steps"]
    return values


def command_line(values):
    """The train.py command that trains as ``values`` do: what the trial's log says it ran."""
    words = []
    for name, value in values.items():
        flag = config_lib.flag_name(name)
        if isinstance(value, bool):
            words.append(flag if value else "--no-" + flag[2:])
        else:
            words += [flag, str(value)]
    return "train.py " + " ".join(words)


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


def _call(action):
    """``action()``'s exit status, as the command's would be: a problem the user can fix is one
    'error:' line and 1, Ctrl-C 130; a bug must not take the Ray worker down with it."""
    try:
        return action()
    except KeyboardInterrupt:
        print("interrupted")
        return 130
    except (GanError, ValueError) as e:
        print("error: %s" % e)
        return 1
    except OSError as e:
        print("error: %s%s" % (reason(e), ": %s" % e.filename if e.filename else ""))
        return 1
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
    """Training (or its resumption) up to ``target``, a budget: its exit status."""
    from gan_mnist import api

    left = target.get("minutes", 0) * 60 - record["trained_seconds"]
    if target.get("minutes") and left <= 1 and _checkpoint_step(folder) is not None:
        return 0  # its time is used up (a second's training is not worth a start)

    def train():
        values = train_values(settings, seed, folder, target, record["trained_seconds"])
        print(command_line(values))
        return api.train_flags(values)
    with _Heartbeat(folder, record):
        return _call(train)


def _measure(folder, record, rung_key):
    """The quick FID of the newest checkpoint, into ``record["rungs"]``: its exit status."""
    measured = []  # (step, FID), filled by quick_fid unless it fails
    status = _call(lambda: measured.append(quick_fid(folder)) or 0)
    if measured:
        step, fid = measured[0]
        print("quick FID %.2f at step %d (rung %s)" % (fid, step, rung_key))
        record["rungs"] = dict(record.get("rungs") or {}, **{rung_key: round(fid, 3)})
        record["rung_steps"] = dict(record.get("rung_steps") or {}, **{rung_key: step})
        write_trial(folder, record)
    return status


def _evaluate(folder, eval_n):
    """The full evaluation of the trial's newest checkpoint, evaluation.json in its folder."""
    from gan_mnist import api

    checkpoint_dir = os.path.join(folder, "checkpoints")
    print("evaluate.py --checkpoint-dir %s --output-dir %s --n %d" % (checkpoint_dir, folder,
                                                                     eval_n))
    report = api.evaluate(checkpoint_dir, folder, eval_n)
    print(api.format_report(report))
    return 0


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
                status = _call(lambda: _evaluate(folder, eval_n))
    record = dict(read_trial(folder) or record)
    if status == 0:
        record.update(status="finished" if full else "paused", error=None)
    elif status in (130, 143):  # stopped by Ctrl-C / SIGTERM, checkpoint saved
        record.update(status="stopped", error=None)
    else:
        record.update(status="failed", error=last_error(log_path))
    write_trial(folder, record)
    return record

