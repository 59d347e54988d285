"""The sweep's Ray side: connect (or start a local Ray), run trials as tasks, retry the trials
the system lost, and keep Ray's own output off the terminal.

A trial is one Ray task in a fresh worker process (``max_calls=1``). ``run_trial`` never raises:
a failure of the trial's own (a bad flag, a divergence) comes back as a record saying "failed"
and is reported once. An exception from ``ray.get`` means the system lost the trial (its process
was killed, its node died): the driver writes that into trial.json and, up to ``--max-failures``
times per trial, starts it again; Ray places it on a node that is alive, and the trainer resumes
it from its own newest checkpoint (the folders are on storage every node sees).
"""
import contextlib
import itertools
import os
import socket
import sys
import tempfile
import time

from gan_mnist import PACKAGE_DIR
from gan_mnist.errors import GanError, reason
from gan_mnist.sweeps.halving import describe, key
from gan_mnist.sweeps.trial import run_trial
from gan_mnist.sweeps.records import read_trial, write_trial

RAY_LOG = "ray.log"
ENV_PASSED_ON = ("MNIST_DATA_DIR", "FASHION_MNIST_DATA_DIR", "GAN_MNIST_VERBOSE", "MNIST_MIRRORS")
# How long the sweep waits for a cluster's port to answer; Ray itself retries for many minutes.
CONNECT_TIMEOUT_S = 10


def import_ray():
    try:
        import ray
    except ImportError:
        raise GanError("sweeps run on Ray, which is not installed; install it with "
                       "pip install 'ray>=2.9' (or pip install .[sweep])")
    return ray


class Terminal:
    """The user's stdout and stderr, kept while file descriptors 1 and 2 go to ``ray.log``:
    Ray's C++ core and its Python logging write there, never to the user's terminal. Until
    ``log_to`` names that file (OUT is made only once Ray answers), they go to an unnamed
    temporary file, whose text ``log_to`` copies over."""

    log_path = None

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = os.dup(1), os.dup(2)
        self.out = os.fdopen(os.dup(self.saved[0]), "w", buffering=1)
        self.err = os.fdopen(os.dup(self.saved[1]), "w", buffering=1)
        self.early = tempfile.TemporaryFile()
        self._point(self.early.fileno())
        return self

    def log_to(self, path):
        """From now on Ray's output goes to ``path``, after what it wrote so far."""
        sys.stdout.flush()
        sys.stderr.flush()
        log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.early.seek(0)
        with os.fdopen(os.dup(log), "ab") as f:
            f.write(self.early.read())
        self._point(log)
        os.close(log)
        self.log_path = path

    @staticmethod
    def _point(fd):
        os.dup2(fd, 1)
        os.dup2(fd, 2)

    def say(self, message, error=False):
        print(message, file=self.err if error else self.out)

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)
        self.out.close()
        self.err.close()
        self.early.close()


@contextlib.contextmanager
def session(out, address):
    """Ray connected (a local Ray of its own without ``address``), then OUT made and Ray's
    output sent to OUT/ray.log; yields (ray, terminal). A sweep that cannot connect makes
    nothing. Ray is shut down on the way out."""
    import logging

    with Terminal() as terminal:
        ray = import_ray()
        if address:
            answers(address)
        env = {k: os.environ[k] for k in ENV_PASSED_ON if k in os.environ}
        # Where train.py run here would read the digits, for trials that run elsewhere.
        env["MNIST_DATA_DIR"] = os.path.abspath(os.environ.get("MNIST_DATA_DIR") or "MNIST_data")
        here = os.path.dirname(PACKAGE_DIR)
        # Workers on this machine import the package from where the driver found it (a checkout
        # need not be installed); on a cluster every node must have it at the same path.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
        kwargs = dict(log_to_driver=False, logging_level=logging.ERROR,
                      runtime_env={"env_vars": env})
        if address:
            kwargs["address"] = address
        else:  # "local": a new Ray, whatever RAY_ADDRESS or an earlier `ray start` left behind
            kwargs.update(address="local", include_dashboard=False,  # trials return small dicts
                          object_store_memory=100 * 1024 * 1024)
        try:
            ray.init(**kwargs)
        except Exception as e:
            lines = str(e).strip().splitlines() or [type(e).__name__]
            raise GanError("cannot connect to Ray at %s: %s; check --address and RAY_AUTH_MODE "
                           "(docs/sweeps.md, On a cluster)" % (address, lines[0]) if address
                           else "cannot start a local Ray: %s" % lines[0])
        try:
            try:
                os.makedirs(out, exist_ok=True)
                terminal.log_to(os.path.join(out, RAY_LOG))
            except OSError as e:
                raise GanError("cannot write to the sweep folder %s: %s" % (out, reason(e)))
            yield ray, terminal
        finally:
            ray.shutdown()


def answers(address, timeout=CONNECT_TIMEOUT_S):
    """Refuse, within ``timeout`` seconds, a cluster whose port does not answer (HOST:PORT,
    ray://HOST:PORT, or for ``auto`` the address Ray picks: RAY_ADDRESS, else the one the last
    `ray start` recorded): ray.init would retry it for more than ten minutes, saying nothing."""
    target = address
    if address == "auto":
        target = os.environ.get("RAY_ADDRESS", "")
        if target in ("", "auto"):
            target = _recorded_address()
    host, sep, port = (target or "").split("://", 1)[-1].rpartition(":")
    if not sep or not port.isdigit():
        return  # no HOST:PORT to try: Ray refuses (or finds no cluster) at once by itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise GanError("cannot connect to Ray at %s: nothing answers at %s:%s (%s); start the "
                       "cluster first (ray start --head, docs/sweeps.md) or correct --address"
                       % (address, host, port, reason(e)))


def _recorded_address():
    """The address in Ray's session file, where ray.init(address="auto") reads it."""
    tmp = os.environ.get("RAY_TMPDIR") or (sys.platform.startswith("linux")
                                           and os.environ.get("TMPDIR")) or "/tmp"
    try:
        with open(os.path.join(tmp, "ray", "ray_current_cluster")) as f:
            return f.read().strip()
    except OSError:
        return None


class Runner:
    """Runs lists of trials as Ray tasks, says one line per event, retries lost trials."""

    def __init__(self, ray, terminal, cpus_per_trial, eval_n, max_failures, rungs=()):
        self.ray, self.say, self.rungs = ray, terminal.say, list(rungs)
        self.cpus, self.eval_n, self.max_failures = cpus_per_trial, eval_n, max_failures
        self.task = ray.remote(num_cpus=cpus_per_trial, max_calls=1, max_retries=0)(run_trial)
        self.attempts = itertools.count(1)
        self.tag = "%d-%d" % (os.getpid(), int(time.time()))
        self.lost = {}  # folder -> times the system lost it in this sweep

    def submit(self, job, budget, rung):
        settings, seed, folder = job
        attempt = "%s-%d" % (self.tag, next(self.attempts))
        # To a rung of --halving and no further, or through every rung to the full budget.
        rungs, full = ([rung], False) if rung else (self.rungs, True)
        ref = self.task.remote(folder, settings, seed, budget, self.eval_n, self.cpus, attempt,
                               rungs, full)
        return ref, dict(job=job, attempt=attempt, announced=False)

    def run(self, jobs, budget, rung=None):
        """Run ``jobs`` ((settings, seed, folder) each) to ``rung`` (a budget part of the way;
        None: the whole budget, measured at every rung on the way); return the names of the
        trials that failed."""
        pending = dict(self.submit(job, budget, rung) for job in jobs)
        failed = []
        try:
            while pending:
                # A short timeout, so Ctrl-C is seen at once rather than when a trial ends.
                done, _ = self.ray.wait(list(pending), num_returns=1, timeout=1.0)
                self._announce(pending)
                for ref in done:
                    entry = pending.pop(ref)
                    again = self._collect(ref, entry, budget, rung, len(pending), failed)
                    if again:
                        pending.update([self.submit(entry["job"], budget, rung)])
        except KeyboardInterrupt:
            self.say("stopping: the running trials save a checkpoint; run the same command to "
                     "resume", error=True)
            for ref in pending:
                self.ray.cancel(ref)  # a KeyboardInterrupt in the trial: it saves and stops
            self.ray.wait(list(pending), num_returns=len(pending), timeout=60)
            raise
        return failed

    def _announce(self, pending):
        """'started X on node N', once trial.json shows that this attempt runs."""
        for entry in pending.values():
            if not entry["announced"]:
                record = read_trial(entry["job"][2]) or {}
                if record.get("attempt") == entry["attempt"]:
                    entry["announced"] = True
                    self.say("started %s on node %s" % (os.path.basename(entry["job"][2]),
                                                        record.get("node")))

    def _collect(self, ref, entry, budget, rung, left, failed):
        """Report a task that ended; True when the trial is to be started again."""
        folder = entry["job"][2]
        name = os.path.basename(folder)
        try:
            record = self.ray.get(ref)
        except self.ray.exceptions.TaskCancelledError:
            raise KeyboardInterrupt
        except self.ray.exceptions.RayTaskError as e:  # run_trial itself failed: a bug of ours
            lines = str(e).strip().splitlines() or [type(e).__name__]
            record = dict(read_trial(folder) or {}, status="failed", error=lines[-1])
            write_trial(folder, record)
        except self.ray.exceptions.RayError as e:  # the process or its node was lost
            lost = self.lost[folder] = self.lost.get(folder, 0) + 1
            reason = "its %s (%s)" % (
                "node was lost" if isinstance(e, self.ray.exceptions.NodeDiedError)
                else "process died", _first_sentence(e))
            record = dict(read_trial(folder) or {}, error=reason)
            record["lost"] = record.get("lost", 0) + 1
            if lost <= self.max_failures:
                record.update(status="retrying")
                write_trial(folder, record)
                self.say("retrying %s (%d of %d retries): %s" % (name, lost, self.max_failures,
                                                                  reason))
                return True
            record.update(status="failed")
            write_trial(folder, record)
        if record["status"] == "failed":
            failed.append(name)
            self.say("FAILED %s: %s (%d left)" % (name, record.get("error"), left), error=True)
        elif record["status"] == "paused":
            self.say("%s: quick FID %.2f at %s (%d left)" % (
                name, record["rungs"][key(rung)], describe(key(rung)), left))
        else:
            self.say("%s %s (%d left)" % (record["status"], name, left))
        return False


def _first_sentence(error):
    """Ray's error in one short line: its first sentence, without Ray's advice."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text.split(". ")[0].rstrip(".")
