"""Housekeeping of a run's checkpoint folder, apart from saving and restoring: one trainer at a
time (the ``lock`` file), ``--fresh`` moving an old run aside, and mending folders that older
versions or crashes left in another shape."""
import glob
import os
import time

from gan_mnist import GanError, process_alive, to_stderr
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
    if not names:
        return None
    target = os.path.join(checkpoint_dir, time.strftime("replaced-%Y%m%d-%H%M%S"))
    os.makedirs(target, exist_ok=True)
    for path in names:
        os.replace(path, os.path.join(target, os.path.basename(path)))
    return target


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
        return checkpoints.step_of(newest) if newest else 0

    def lock(self, log=None):
        """``with folder.lock():`` one trainer at a time (see Lock)."""
        return Lock(self.path, log)

    def repair(self, keep, log=None):
        repair(self.path, keep, log)

    def move_aside(self):
        return move_aside(self.path)
