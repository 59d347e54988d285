"""Saving and restoring training state with ``tf.train.Saver``.

A checkpoint folder holds ``model.ckpt-STEP.*`` files, TensorFlow's ``checkpoint`` index that
names the newest one, and ``config.json``. Checkpoints hold the global variables only: the
``generator/`` and ``discriminator/`` weights with their Adam moments, and the global step.
"""
import glob
import json
import os
import time

from gan_mnist import GanError
from gan_mnist.tf_compat import tf

PREFIX = "model.ckpt"
KEEP = 5


BEST_PREFIX = "best.ckpt"
BEST_INDEX = "best_checkpoint"  # TensorFlow's index file for the best-FID checkpoint
BEST_INFO = "best.json"


def make_saver(var_list=None, keep=KEEP):
    """A Saver that keeps the newest ``keep`` checkpoints and records paths relative to the
    folder, so a checkpoint folder can be moved or copied."""
    return tf.train.Saver(var_list=var_list, max_to_keep=keep, save_relative_paths=True)


def save(session, saver, checkpoint_dir, step):
    saver.save(session, os.path.join(checkpoint_dir, PREFIX), global_step=step,
               write_meta_graph=False)


def save_best(session, saver, checkpoint_dir, step, fid):
    """Keep this state as ``best.ckpt-STEP`` (beside the newest ones) and note its FID."""
    saver.save(session, os.path.join(checkpoint_dir, BEST_PREFIX), global_step=step,
               latest_filename=BEST_INDEX, write_meta_graph=False)
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
    if not os.path.isdir(checkpoint_dir):
        return None
    return tf.train.latest_checkpoint(checkpoint_dir)


def restore(session, saver, checkpoint_dir):
    """Restore the newest checkpoint if there is one; return the global step (0 when none)."""
    path = latest(checkpoint_dir)
    if path is None:
        return 0
    with session.graph.as_default():
        restore_from(session, saver, path, tf.global_variables())
    return int(session.run(tf.train.get_global_step(session.graph)))


def restore_from(session, saver, path, variables):
    """``saver.restore`` of ``variables``, after checking that the checkpoint holds each of them
    with the same shape (resource variables would otherwise accept a wrong shape silently)."""
    try:
        stored = dict(tf.train.list_variables(path))
    except (tf.errors.OpError, ValueError) as e:
        raise GanError("the checkpoint %s cannot be read (%s)" % (path, _first_line(str(e))))
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
    except tf.errors.OpError as e:
        raise GanError("the checkpoint %s is damaged (%s)" % (path, _first_line(e.message)))


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
                          for name in ("checkpoint", BEST_INDEX, BEST_INFO, "config.json"))
              if os.path.exists(p)]
    if not names:
        return None
    target = os.path.join(checkpoint_dir, time.strftime("replaced-%Y%m%d-%H%M%S"))
    os.makedirs(target, exist_ok=True)
    for path in names:
        os.replace(path, os.path.join(target, os.path.basename(path)))
    return target
