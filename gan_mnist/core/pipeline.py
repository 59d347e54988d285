"""The in-graph input pipeline: training digits held in the graph, batches and noise drawn in-graph.

No Python-side copies per step. Randomness is *stateless*, a pure function of (seed, global step),
so a run that is stopped and resumed sees exactly the batches and noise of a run that never
stopped, and the separate D and G steps of one global step see the same batch and noise.
"""
import collections

import numpy as np

from gan_mnist.tf_compat import tf

Inputs = collections.namedtuple(
    "Inputs", "real z labels images images_feed all_labels labels_feed real_seed fake_seed")

_BATCH_STREAM, _NOISE_STREAM, _REAL_DROPOUT_STREAM, _FAKE_DROPOUT_STREAM = 0, 1, 2, 3


def _stream_seed(seed, step, stream):
    """A stateless-op seed pair, distinct for each (seed, stream) and each step."""
    return tf.stack([tf.constant(seed * 16 + stream, tf.int64), tf.cast(step, tf.int64)])


def sample_noise(batch_size, z_dim, seed, step):
    """Uniform noise in [-1, 1] for the generator, shape (batch_size, z_dim)."""
    return tf.random.stateless_uniform([batch_size, z_dim], _stream_seed(seed, step, _NOISE_STREAM),
                                       minval=-1.0, maxval=1.0, name="z")


def noise(n, z_dim, seed):
    """Noise for the generator outside training (grids, evaluations, sampling), drawn in NumPy:
    uniform in [-1, 1), (n, z_dim) float32, the same for the same seed on any machine."""
    return np.random.RandomState(seed).uniform(-1, 1, (n, z_dim)).astype(np.float32)


def build_inputs(num_images, batch_size, z_dim, seed, step, pixel_range=(-1.0, 1.0),
                 image_shape=(28, 28), with_labels=False):
    """Real batches (batch, 784) scaled to ``pixel_range``, their labels (batch,) int32, and
    noise (batch, z_dim) for global step ``step``, plus the seeds of the discriminator's dropout
    on real and on fake images.

    The images and labels live in local (never checkpointed) uint8 variables, filled once by
    running their initializers with ``{images_feed: uint8 array, labels_feed: uint8 array}``;
    scaling happens in-graph. Batches are drawn uniformly with replacement; a label is drawn
    with its image, so conditional runs add no randomness of their own.
    """
    low, high = pixel_range
    with tf.name_scope("inputs"):
        images_feed = tf.placeholder(tf.uint8, (num_images,) + tuple(image_shape), "images_feed")
        images = tf.Variable(images_feed, trainable=False, name="train_images",
                             collections=[tf.GraphKeys.LOCAL_VARIABLES])
        index = tf.random.stateless_uniform([batch_size], _stream_seed(seed, step, _BATCH_STREAM),
                                            minval=0, maxval=num_images, dtype=tf.int32)
        pixels = tf.cast(tf.gather(images, index), tf.float32)
        real = tf.reshape(pixels / (255.0 / (high - low)) + low, [batch_size, -1], name="real")
        z = sample_noise(batch_size, z_dim, seed, step)
        labels = labels_feed = all_labels = None
        if with_labels:  # only then: extra ops would shift the seeds of the initial weights
            labels_feed = tf.placeholder(tf.uint8, (num_images,), "labels_feed")
            all_labels = tf.Variable(labels_feed, trainable=False, name="train_labels",
                                     collections=[tf.GraphKeys.LOCAL_VARIABLES])
            labels = tf.cast(tf.gather(all_labels, index), tf.int32, name="labels")
    return Inputs(real=real, z=z, labels=labels,
                  images=images, images_feed=images_feed, all_labels=all_labels,
                  labels_feed=labels_feed,
                  real_seed=_stream_seed(seed, step, _REAL_DROPOUT_STREAM),
                  fake_seed=_stream_seed(seed, step, _FAKE_DROPOUT_STREAM))
