"""Housekeeping of a run's checkpoint folder, apart from saving and restoring: one trainer at a
time (the ``lock`` file), ``--fresh`` moving an old run aside, and mending folders that older
versions or crashes left in another shape."""
import glob
import os
import shutil
import time

from gan_mnist.errors import GanError, to_stderr
from gan_mnist.files import process_alive
from gan_mnist.training import checkpoints
from gan_mnist.techniques.clusters import CLUSTERS_FILE
from gan_mnist.training.config import CONFIG_FILE

LOCK = "lock"


def repair(checkpoint_dir, keep, log=None):
    """Bring a folder written by an older version (or left by a crash) to the form ``save``
    keeps: an index naming the newest ``keep`` checkpoints by file name, and no others on disk.

    Older versions wrote indexes such as ``../model.ckpt-N`` for relative folders, so resuming
    started over and nothing was ever pruned. Says what it changed; silent when all is in order.
    """
    log = log or to_stderr
    for prefix, index, count in ((checkpoints.PREFIX, checkpoints.INDEX, keep), (checkpoints.BEST_PREFIX, checkpoints.BEST_INDEX, 1)):
        published = checkpoints.published(checkpoint_dir, prefix, index)
        if not published:
            continue
        kept = published[-count:]
        entries = checkpoints.index_entries(checkpoint_dir, index)
        names = [os.path.basename(p) for p in published]
        broken = not entries or any(e not in names for e in entries)
        if entries != names[-count:]:
            checkpoints.publish(checkpoint_dir, kept, index)
        removed = checkpoints.prune(checkpoint_dir, prefix, kept)
        if broken:
            log("repaired the checkpoint index %s (%s): it now names the newest %s, up to %s"
                % (os.path.join(checkpoint_dir, index),
                   "it named %s" % ", ".join(repr(e) for e in entries[-2:]) if entries
                   else "it was missing or unreadable",
                   "checkpoint" if count == 1 else "%d checkpoints" % len(kept),
                   os.path.basename(kept[-1])))
        if removed:
            log("removed %d checkpoint%s (%s-*) that the index does not name: beyond --keep, or "
                "left by an interrupted save" % (removed, "" if removed == 1 else "s", prefix))


def move_aside(checkpoint_dir):
    """Move an old run's files into ``replaced-<time>/`` inside the folder (``--fresh``).

    Nothing is deleted: a user who typed --fresh by mistake can move them back.
    """
    names = glob.glob(os.path.join(checkpoint_dir, checkpoints.PREFIX + "-*"))
    names += glob.glob(os.path.join(checkpoint_dir, checkpoints.BEST_PREFIX + "-*"))
    names += [p for p in (os.path.join(checkpoint_dir, name)
                          for name in (checkpoints.INDEX, checkpoints.BEST_INDEX,
                                       checkpoints.BEST_INFO, CONFIG_FILE, CLUSTERS_FILE))
              if os.path.exists(p)]
    return _move_into_replaced(checkpoint_dir, names)


# What a run, evaluate.py and plot.py write into an output folder: --fresh moves these aside.
OUTPUT_FILES = ("samples_step_*.png", "log.csv", "events.out.tfevents.*", "evaluation.json",
                "progress.gif", "curves.png", "interpolation.png", "label_interpolation.png",
                "real_vs_fake.png", "nearest_neighbours.png", "closest_pairs.png",
                "memorisation.png")


def move_output_aside(output_dir):
    """``--fresh`` for the output folder: the old run's grids, log.csv, TensorBoard events and
    figures go into ``replaced-<time>/`` there, so the new run's folder holds only the new run
    (TensorBoard would otherwise mix the two runs' steps). Other files stay where they are."""
    names = sorted(p for pattern in OUTPUT_FILES
                   for p in glob.glob(os.path.join(output_dir, pattern)))
    return _move_into_replaced(output_dir, names)


def _move_into_replaced(folder, names):
    if not names:
        return None
    target = os.path.join(folder, time.strftime("replaced-%Y%m%d-%H%M%S"))
    os.makedirs(target, exist_ok=True)
    for path in names:
        os.replace(path, os.path.join(target, os.path.basename(path)))
    return target


SMALL_FILE = 1 << 20  # config.json, log.csv, the indexes: what start-up may rewrite


def _contents(folder):
    """Every folder and file under ``folder``: path -> the bytes of a small file, else None.
    None when ``folder`` does not exist."""
    if not os.path.isdir(folder):
        return None
    found = {}
    for root, dirs, files in os.walk(folder):
        found.update((os.path.join(root, name), None) for name in dirs)
        for name in files:
            path = os.path.join(root, name)
            found[path] = None
            if os.path.isfile(path) and os.path.getsize(path) <= SMALL_FILE:
                with open(path, "rb") as f:
                    found[path] = f.read()
    return found


class StartUp:
    """Ctrl-C or an error before the first step leaves the folders as they were: ``undo()``
    removes what start-up added to them (the lock, clusters.npy, config.json, the step-0 grid,
    the logs, a folder it made), puts back what ``--fresh`` moved aside, and rewrites the small
    files it changed (config.json, log.csv) as they were. After the first step, Ctrl-C saves a
    checkpoint instead (``started()``), and an error leaves the checkpoints saved so far."""

    def __init__(self, *folders):
        self.before = {folder: _contents(folder) for folder in folders}
        self.moved, self.running = [], False

    def moved_aside(self, target):
        if target:
            self.moved.append(target)

    def started(self):
        self.running = True

    def undo(self):
        if self.running:
            return
        for target in reversed(self.moved):
            home = os.path.dirname(target)
            for name in os.listdir(target):
                os.replace(os.path.join(target, name), os.path.join(home, name))
            os.rmdir(target)
        for folder, before in self.before.items():
            if before is None:
                shutil.rmtree(folder, ignore_errors=True)
                continue
            # deepest first, so that a folder start-up made is empty when its turn comes
            for path in sorted(_contents(folder) or (), key=len, reverse=True):
                if path not in before:
                    if os.path.isdir(path) and not os.path.islink(path):
                        shutil.rmtree(path, ignore_errors=True)
                    elif os.path.lexists(path):
                        os.remove(path)
            for path, content in before.items():
                if content is not None and os.path.isfile(path):
                    with open(path, "rb") as f:
                        changed = f.read() != content
                    if changed:
                        with open(path, "wb") as f:
                            f.write(content)


class Lock:
    """One trainer per checkpoint folder: a ``lock`` file holding the owner's process id.

    A lock whose process is gone (killed, crashed, machine restarted) is taken over.
    """

    def __init__(self, checkpoint_dir, log=None):
        self.path = os.path.join(checkpoint_dir, LOCK)
        self.log = log or to_stderr

    def __enter__(self):
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                owner = self._owner()
                if owner is not None and owner != os.getpid() and process_alive(owner):
                    raise GanError("another trainer (process %d) is using %s; stop it first or "
                                   "choose another --checkpoint-dir" % (owner,
                                                                        os.path.dirname(self.path)))
                self.log("taking over the lock of process %s, which is no longer running"
                         % (owner if owner is not None else "unknown"))
                try:
                    os.remove(self.path)
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w") as f:
                f.write("%d\n" % os.getpid())
            return self
        raise GanError("cannot take the lock %s" % self.path)

    def _owner(self):
        try:
            with open(self.path) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def __exit__(self, *exc):
        if self._owner() == os.getpid():
            os.remove(self.path)


class RunFolder:
    """A run's checkpoint folder as one object: what the trainer and the tools ask of it."""

    def __init__(self, path):
        self.path = path

    def newest(self):
        """The path prefix of the newest checkpoint, or None."""
        return checkpoints.latest(self.path)

    def step(self):
        """The step of the newest checkpoint (0 when there is none)."""
        newest = self.newest()
        return checkpoints.step_in_path(newest) if newest else 0

    def lock(self, log=None):
        """``with folder.lock():`` one trainer at a time (see Lock)."""
        return Lock(self.path, log)

    def repair(self, keep, log=None):
        repair(self.path, keep, log)

    def move_aside(self):
        return move_aside(self.path)

    def start_up(self, output_dir):
        """What start-up changes in this folder and ``output_dir``, to undo on Ctrl-C."""
        return StartUp(self.path, output_dir)
