"""Generating digits from a trained checkpoint (used by scripts/sample.py)."""
import numpy as np

from gan_mnist import GanError, checkpoints, config as config_lib, data, images, models
from gan_mnist.tf_compat import tf

BATCH = 1000  # generate in chunks so a large --n does not build one huge batch


def generate(checkpoint_dir, n, seed=0):
    """``n`` digits as uint8 (n, 28, 28) from the newest checkpoint, and that checkpoint's step.

    Only the generator's variables are restored, so the discriminator need not fit in memory or
    even match; the same seed always gives the same digits.
    """
    saved = config_lib.load_saved(checkpoint_dir)
    path = checkpoints.latest(checkpoint_dir)
    if saved is None or path is None:
        raise GanError("no trained model in %s (it needs a checkpoint and config.json); train one "
                       "with scripts/train.py --checkpoint-dir %s" % (checkpoint_dir,
                                                                      checkpoint_dir))
    config = config_lib.resolve({}, saved)
    graph = tf.Graph()
    with graph.as_default():
        z = tf.placeholder(tf.float32, [None, config.z_dim], name="z")
        fake = models.generator(z, config)
        variables = models.scope_variables(models.GENERATOR_SCOPE, tf.GraphKeys.GLOBAL_VARIABLES)
        saver = tf.train.Saver(variables)
    noise = np.random.RandomState(seed).uniform(-1, 1, (n, config.z_dim)).astype(np.float32)
    with tf.Session(graph=graph) as session:
        checkpoints.restore_from(session, saver, path, variables)
        out = [session.run(fake, {z: noise[i:i + BATCH]}) for i in range(0, n, BATCH)]
    return data.to_uint8(np.concatenate(out).reshape(n, 28, 28)), checkpoints.step_of(path)


def write_png(path, digits):
    images.save_png(path, images.grid(digits))


def write_npy(path, digits):
    np.save(path, digits)
