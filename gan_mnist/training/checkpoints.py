"""Saving and restoring training state, so that no crash loses more than one checkpoint interval.

A checkpoint folder holds ``model.ckpt-STEP.*`` files, TensorFlow's ``checkpoint`` index that
names the newest ones, ``config.json``, and while a trainer runs, a ``lock`` file. Checkpoints
hold the global variables only: the ``generator/`` and ``discriminator/`` weights with their Adam
moments, and the global step.

A save is published in three moves: the Saver writes the new files, they are fsync'ed, and only
then does the ``checkpoint`` index (replaced atomically) name them. A process killed at any moment
therefore leaves an index that names complete checkpoints only. On restore, a checkpoint that
turns out damaged is renamed aside (``*.damaged``) and the previous one is used.

Index entries are bare file names (``model.ckpt-1500``), relative to the folder itself, so a folder
resumes however it is spelled and wherever it is moved. ``repair`` mends folders written by
versions that got this wrong.
"""
import glob
import json
import os
import re
import shutil

from gan_mnist.errors import GanError, reason, to_stderr
from gan_mnist.files import atomic_write
from gan_mnist.tf_compat import tf

PREFIX = "model.ckpt"
INDEX = "checkpoint"  # TensorFlow's name for the index file
BEST_PREFIX = "best.ckpt"
BEST_INDEX = "best_checkpoint"  # a second index file, for the best-FID checkpoint
BEST_INFO = "best.json"


def make_saver(var_list=None):
    """A Saver whose checkpoints record paths relative to the folder (movable folders). Which
    checkpoints are kept is decided by ``save``, not by the Saver."""
    return tf.train.Saver(var_list=var_list, max_to_keep=None, save_relative_paths=True)


_DATA_SUFFIX = re.compile(r"\.data-\d+-of-\d+$")


def _files_of(path):
    """The Saver files of checkpoint ``path``: its ``.index`` and ``.data-*-of-*`` shards (not
    files renamed aside as ``*.damaged``)."""
    return (glob.glob(glob.escape(path) + ".index")
            + [f for f in glob.glob(glob.escape(path) + ".data-*") if _DATA_SUFFIX.search(f)])


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _by_step(paths):
    return sorted(paths, key=step_in_path)


def _on_disk(checkpoint_dir, prefix):
    """Every complete ``prefix-STEP`` checkpoint in the folder (an index file and its data),
    oldest first, whatever the index says."""
    found = []
    for index_file in glob.glob(os.path.join(glob.escape(checkpoint_dir), prefix + "-*.index")):
        path = index_file[:-len(".index")]
        if re.fullmatch(re.escape(prefix) + r"-\d+", os.path.basename(path)) and \
                len(_files_of(path)) > 1:
            found.append(path)
    return _by_step(found)


def index_entries(checkpoint_dir, index):
    """The entries of an index file exactly as written, oldest first ([] when there is none or it
    cannot be read)."""
    try:
        state = tf.train.get_checkpoint_state(checkpoint_dir, latest_filename=index)
    except (tf.errors.OpError, ValueError):  # an unreadable index: treat as none
        state = None
    if state is None:
        return []
    # TensorFlow joins relative entries to the folder; undo that to see what the file says.
    prefix = os.path.join(checkpoint_dir, "")
    entries = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
    return [p[len(prefix):] if p.startswith(prefix) else p for p in entries if p]


def published(checkpoint_dir, prefix=PREFIX, index=INDEX):
    """The checkpoints of ``prefix`` that count, oldest first, as paths inside the folder.

    The index names them by file name, relative to the folder itself, so any spelling of the
    folder (relative, absolute, through a link, moved or renamed) finds them. Only the file name
    of an entry is used: indexes written by older versions (``../model.ckpt-N``) still resolve.
    When the index names none of the files in the folder (missing, unreadable, or written
    elsewhere), the complete checkpoints actually on disk are used instead.
    """
    listed = [os.path.join(checkpoint_dir, os.path.basename(e))
              for e in index_entries(checkpoint_dir, index)]
    listed = [p for p in dict.fromkeys(listed) if _files_of(p)]
    return listed or _on_disk(checkpoint_dir, prefix)


def publish(checkpoint_dir, paths, index):
    """Atomically replace the index so that it names ``paths`` (oldest first) by file name."""
    names = [os.path.basename(p) for p in paths]
    # An absolute folder keeps TensorFlow from rewriting the names relative to the spelling given.
    tf.train.update_checkpoint_state(os.path.abspath(checkpoint_dir), names[-1], names,
                                     latest_filename=index)
    _fsync(checkpoint_dir)


def prune(checkpoint_dir, prefix, kept):
    """Delete every ``prefix`` checkpoint in the folder that is not in ``kept``; return how many."""
    removed = 0
    for old in _on_disk(checkpoint_dir, prefix):
        if old not in kept:
            for name in _files_of(old):
                os.remove(name)
            removed += 1
    return removed


def save(session, saver, checkpoint_dir, step, keep, prefix=PREFIX, index=INDEX):
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
        listed = [p for p in published(checkpoint_dir, prefix, index) if p != path] + [path]
        kept = listed[-keep:]
        publish(checkpoint_dir, kept, index)
    except (OSError, tf.errors.OpError) as e:
        for name in _files_of(path) + glob.glob(glob.escape(path) + "_temp*"):
            shutil.rmtree(name, ignore_errors=True) if os.path.isdir(name) else os.remove(name)
        good = published(checkpoint_dir, prefix, index)
        raise GanError("could not save the checkpoint of step %d in %s (%s); %s" % (
            step, checkpoint_dir, reason(e),
            "the checkpoint of step %d is intact" % step_in_path(good[-1]) if good
            else "no earlier checkpoint exists"))
    prune(checkpoint_dir, prefix, kept)
    return path


def save_best(session, saver, checkpoint_dir, step, fid):
    """Keep this state as ``best.ckpt-STEP`` (beside the newest ones) and note its FID."""
    save(session, saver, checkpoint_dir, step, keep=1, prefix=BEST_PREFIX, index=BEST_INDEX)
    path = os.path.join(checkpoint_dir, BEST_INFO)
    with atomic_write(path) as f:
        json.dump({"step": int(step), "fid": float(fid)}, f)


def best_fid(checkpoint_dir):
    """The quick FID of the best checkpoint so far, or None."""
    try:
        with open(os.path.join(checkpoint_dir, BEST_INFO)) as f:
            return float(json.load(f)["fid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def latest(checkpoint_dir):
    """The path prefix of the newest checkpoint in ``checkpoint_dir``, or None."""
    found = published(checkpoint_dir) if os.path.isdir(checkpoint_dir) else []
    return found[-1] if found else None


def restore(session, saver, checkpoint_dir, log=None):
    """Restore the newest good checkpoint; return the global step (0 when there is none).

    A damaged checkpoint is renamed aside with one line of explanation and the one before it is
    tried. A checkpoint of another architecture is not damage: that is refused (GanError).
    """
    log = log or to_stderr
    with session.graph.as_default():
        variables = tf.global_variables()
    for path in reversed(published(checkpoint_dir)):
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
    """``saver.restore`` of ``variables`` (a list, or a dict from the names stored in the
    checkpoint to the variables, as the Saver was given), after checking that the checkpoint
    holds each of them with the same shape (resource variables would otherwise accept a wrong
    shape silently). Raises GanError for a checkpoint of another model, DamagedCheckpoint for
    unreadable files."""
    try:
        stored = dict(tf.train.list_variables(path))
    except (tf.errors.OpError, ValueError) as e:
        raise DamagedCheckpoint("the checkpoint %s cannot be read (%s)"
                                % (path, reason(e)))
    named = variables.items() if isinstance(variables, dict) else [(v.op.name, v)
                                                                     for v in variables]
    for name, variable in named:
        shape = variable.shape.as_list()
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
                                % (path, reason(e)))


def step_in_path(path):
    """The step number in a checkpoint path such as ``.../model.ckpt-1500``."""
    return int(path.rsplit("-", 1)[1])
