"""Saving and restoring training state, so that no crash loses more than one checkpoint interval.

A checkpoint folder holds ``model.ckpt-STEP.*`` files, TensorFlow's ``checkpoint`` index that
names the newest ones, ``config.json``, and while a trainer runs, a ``lock`` file. Checkpoints
hold the global variables only: the ``generator/`` and ``discriminator/`` weights with their Adam
moments, and the global step.

A save is published in three moves: the Saver writes the new files, they are fsync'ed, and only
then does the ``checkpoint`` index (replaced atomically) name them. A process killed at any moment
therefore leaves an index that names complete checkpoints only. On restore, a checkpoint that
turns out damaged is renamed aside (``*.damaged``) and the previous one is used.
"""
import glob
import json
import os
import shutil
import sys
import time

from gan_mnist import GanError
from gan_mnist.tf_compat import tf

PREFIX = "model.ckpt"
INDEX = "checkpoint"  # TensorFlow's name for the index file
KEEP = 5
BEST_PREFIX = "best.ckpt"
BEST_INDEX = "best_checkpoint"  # a second index file, for the best-FID checkpoint
BEST_INFO = "best.json"
LOCK = "lock"


def make_saver(var_list=None):
    """A Saver whose checkpoints record paths relative to the folder (movable folders). Which
    checkpoints are kept is decided by ``save``, not by the Saver."""
    return tf.train.Saver(var_list=var_list, max_to_keep=None, save_relative_paths=True)


def _files_of(path):
    return glob.glob(glob.escape(path) + ".index") + glob.glob(glob.escape(path) + ".data-*")


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _listed(checkpoint_dir, index=INDEX):
    """The checkpoint paths the index names, oldest first (empty when there is no index)."""
    try:
        state = tf.train.get_checkpoint_state(checkpoint_dir, latest_filename=index)
    except (tf.errors.OpError, ValueError):  # an unreadable index: treat as none
        state = None
    if state is None:
        return []
    paths = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
    return [p if os.path.isabs(p) else os.path.join(checkpoint_dir, p) for p in paths if p]


def save(session, saver, checkpoint_dir, step, keep=KEEP, prefix=PREFIX, index=INDEX):
    """Write, fsync, then publish a checkpoint of ``step``; drop all but the newest ``keep``.

    A failed write (a full disk, say) removes its partial files and raises a GanError; the
    checkpoints published before are untouched.
    """
    path = os.path.join(checkpoint_dir, "%s-%d" % (prefix, step))
    try:
        saver.save(session, os.path.join(checkpoint_dir, prefix), global_step=step,
                   write_meta_graph=False, write_state=False)
        for name in _files_of(path):
            _fsync(name)
        listed = [p for p in _listed(checkpoint_dir, index) if p != path] + [path]
        tf.train.update_checkpoint_state(checkpoint_dir, os.path.basename(path),
                                         [os.path.basename(p) for p in listed[-keep:]],
                                         latest_filename=index)
        _fsync(checkpoint_dir)
    except (OSError, tf.errors.OpError) as e:
        for name in _files_of(path) + glob.glob(glob.escape(path) + "_temp*"):
            shutil.rmtree(name, ignore_errors=True) if os.path.isdir(name) else os.remove(name)
        good = _listed(checkpoint_dir, index)
        raise GanError("could not save the checkpoint of step %d in %s (%s); %s" % (
            step, checkpoint_dir, _reason(e),
            "the checkpoint of step %d is intact" % step_of(good[-1]) if good
            else "no earlier checkpoint exists"))
    for old in listed[:-keep]:
        for name in _files_of(old):
            os.remove(name)
    return path


def _reason(error):
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return _first_line(error.message)


def save_best(session, saver, checkpoint_dir, step, fid):
    """Keep this state as ``best.ckpt-STEP`` (beside the newest ones) and note its FID."""
    save(session, saver, checkpoint_dir, step, keep=1, prefix=BEST_PREFIX, index=BEST_INDEX)
    path = os.path.join(checkpoint_dir, BEST_INFO)
    with open(path + ".tmp", "w") as f:
        json.dump({"step": int(step), "fid": float(fid)}, f)
    os.replace(path + ".tmp", path)


def best_fid(checkpoint_dir):
    """The quick FID of the best checkpoint so far, or None."""
    try:
        with open(os.path.join(checkpoint_dir, BEST_INFO)) as f:
            return float(json.load(f)["fid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def latest(checkpoint_dir):
    """The path prefix of the newest checkpoint in ``checkpoint_dir``, or None."""
    listed = _listed(checkpoint_dir) if os.path.isdir(checkpoint_dir) else []
    return listed[-1] if listed else None


def restore(session, saver, checkpoint_dir, log=None):
    """Restore the newest good checkpoint; return the global step (0 when there is none).

    A damaged checkpoint is renamed aside with one line of explanation and the one before it is
    tried. A checkpoint of another architecture is not damage: that is refused (GanError).
    """
    log = log or (lambda message: print(message, file=sys.stderr))
    with session.graph.as_default():
        variables = tf.global_variables()
    for path in reversed(_listed(checkpoint_dir)):
        if not _files_of(path):
            continue  # renamed aside earlier, or removed by hand
        try:
            restore_from(session, saver, path, variables)
        except DamagedCheckpoint as e:
            log("warning: %s; its files are renamed to *.damaged and the previous checkpoint is "
                "used" % e)
            for name in _files_of(path):
                os.replace(name, name + ".damaged")
            continue
        return int(session.run(tf.train.get_global_step(session.graph)))
    return 0


class DamagedCheckpoint(GanError):
    """A checkpoint whose files cannot be read back."""


def restore_from(session, saver, path, variables):
    """``saver.restore`` of ``variables``, after checking that the checkpoint holds each of them
    with the same shape (resource variables would otherwise accept a wrong shape silently).
    Raises GanError for a checkpoint of another model, DamagedCheckpoint for unreadable files."""
    try:
        stored = dict(tf.train.list_variables(path))
    except (tf.errors.OpError, ValueError) as e:
        raise DamagedCheckpoint("the checkpoint %s cannot be read (%s)"
                                % (path, _first_line(str(e))))
    for variable in variables:
        name, shape = variable.op.name, variable.shape.as_list()
        if name not in stored:
            problem = "it has no %s" % name
        elif list(stored[name]) != shape:
            problem = "%s is %s there but %s in this model" % (name, list(stored[name]), shape)
        else:
            continue
        raise GanError("the checkpoint %s does not fit this model (%s); use --fresh to start "
                       "over or choose another --checkpoint-dir" % (path, problem))
    try:
        saver.restore(session, path)
    except (tf.errors.OpError, ValueError) as e:
        raise DamagedCheckpoint("the checkpoint %s is damaged (%s)"
                                % (path, _first_line(str(e))))


def step_of(path):
    """The step number in a checkpoint path such as ``.../model.ckpt-1500``."""
    return int(path.rsplit("-", 1)[1])


def _first_line(message):
    return message.strip().splitlines()[0] if message.strip() else "no details"


def move_aside(checkpoint_dir):
    """Move an old run's files into ``replaced-<time>/`` inside the folder (``--fresh``).

    Nothing is deleted: a user who typed --fresh by mistake can move them back.
    """
    names = glob.glob(os.path.join(checkpoint_dir, PREFIX + "-*"))
    names += glob.glob(os.path.join(checkpoint_dir, BEST_PREFIX + "-*"))
    names += [p for p in (os.path.join(checkpoint_dir, name)
                          for name in (INDEX, BEST_INDEX, BEST_INFO, "config.json"))
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
        self.log = log or (lambda message: print(message, file=sys.stderr))

    def __enter__(self):
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                owner = self._owner()
                if owner is not None and owner != os.getpid() and _alive(owner):
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


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
