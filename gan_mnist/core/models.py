"""G and D of every recipe (the networks of gan_mnist.core.networks), each in its own variable
scope, and the GANModel that joins them.

Variables are made with ``tf.get_variable`` inside ``tf.variable_scope("generator")`` and
``tf.variable_scope("discriminator")``, so train ops, savers and tests can select them by scope.
Layers are written with ``tf.get_variable`` and ``tf.nn`` only: ``tf.layers`` and Keras layers do
not work inside compat.v1 graphs under Keras 3.

``training`` switches batch norm between batch statistics (and moving-average updates, collected
in ``tf.GraphKeys.UPDATE_OPS``) and the moving averages, and turns dropout on or off. Dropout
masks are drawn from a stateless seed, so a resumed run repeats an uninterrupted one exactly.
"""
import collections

from gan_mnist.techniques.conditioning import (NUM_CLASSES,  # noqa: F401 (re-exported)
                                               cluster_of_noise)
from gan_mnist.core.layers import convolutions_in, dense, embedding, spectral_norm_getter
from gan_mnist.core import networks, precision
from gan_mnist.core.architectures import ARCHITECTURES
from gan_mnist.core.networks import IMAGE_PIXELS  # noqa: F401 (re-exported)
from gan_mnist.core.scopes import (DISCRIMINATOR_SCOPE, GENERATOR_SCOPE,  # noqa: F401
                                   scope_update_ops, scope_variables)
from gan_mnist.tf_compat import tf

GANModel = collections.namedtuple(
    "GANModel",
    "real z fake real_logits real_prob fake_logits fake_prob fake_seed labels conditioning")


def pixel_range(config):
    """(low, high) of the pixels the recipe's networks see and produce."""
    return ARCHITECTURES[config.arch].pixel_range


def to_tanh_range(images, config):
    """Generated images mapped to [-1, 1], the range grids and evaluation expect."""
    low, high = pixel_range(config)
    return images if (low, high) == (-1.0, 1.0) else images * 2.0 - 1.0


def training_dtype(config, training):
    """What the convolutions compute in: --precision's type while training, float32 otherwise
    (grids, evaluation and export sample in float32)."""
    return precision.convolution_dtype(config.precision) if training else tf.float32


def generator(z, config, conditioning, reuse=False, training=True, custom_getter=None,
              labels=None):
    """Flat images (batch, 784) in the recipe's pixel range, from noise z (batch, z_dim).

    ``custom_getter``: how the network reads its weights, handed in by the caller: the training
    graph passes the EMA's ``read_averages`` so that the sampling generator reads the moving
    averages made by the train ops (--ema); the network itself does not know about them.
    ``conditioning`` (the config's, from gan_mnist.techniques.conditioning) says what joins the
    noise at G's input (Mirza & Osindero 2014): for a --conditional model, ``labels``, the classes
    asked for as one-hot rows (batch, 10) (soft rows blend classes); for a --clusters model its
    group, given as ``labels`` while training (the real batch's groups), otherwise picked by the
    first noise coordinate."""
    build = getattr(networks, ARCHITECTURES[config.arch].generator)
    with tf.variable_scope(GENERATOR_SCOPE, reuse=reuse or bool(custom_getter),
                           custom_getter=custom_getter), \
            convolutions_in(training_dtype(config, training)):
        z, labels = conditioning.generator_input(z, labels)
        if labels is not None:
            z = tf.concat([z, labels], axis=1)
        return build(z, training, hidden=config.hidden, z_dim=config.z_dim)


def discriminator(x, config, conditioning, reuse=False, training=True, seed=None, labels=None):
    """(logit, probability), each of shape (batch,), that the images x (batch, 784) are real.

    ``seed`` (an int64 pair) fixes the dropout masks of recipes that use dropout. With
    --spectral-norm every weight matrix and kernel is read divided by its largest singular value.
    The recipe's network gives features h; the logit is a dense layer on h. A --conditional model
    adds the projection term <embedding(label), h> (Miyato & Koyama 2018): D judges "a real 7",
    not just "real", through one extra matrix, the same way for every recipe. ``labels`` are
    one-hot rows (the training batch's classes or groups).
    """
    build = getattr(networks, ARCHITECTURES[config.arch].discriminator)
    getter = spectral_norm_getter if config.spectral_norm else None
    with tf.variable_scope(DISCRIMINATOR_SCOPE, reuse=reuse, custom_getter=getter), \
            convolutions_in(training_dtype(config, training)):
        features = build(x, training, seed, hidden=config.hidden)
        logits = dense(features, 1, "logit")
        if conditioning.width:
            if labels is None:
                raise ValueError("a conditional model needs labels")
            embedded = embedding(labels, int(features.shape[-1]), "projection")
            logits += tf.reduce_sum(embedded * features, axis=1, keepdims=True)
        logits = tf.reshape(logits, [-1])
    return logits, tf.sigmoid(logits)


def build_gan(real, z, config, conditioning, real_seed=None, fake_seed=None, labels=None):
    """The generator on z and the discriminator on real and fake images (shared weights).

    ``labels`` (one-hot, conditional and --clusters models only): the real batch's classes or
    clusters; G is asked for the same ones, so D sees the same mix in real and generated
    images."""
    fake = generator(z, config, conditioning, labels=labels)
    real_logits, real_prob = discriminator(real, config, conditioning, seed=real_seed,
                                           labels=labels)
    fake_logits, fake_prob = discriminator(fake, config, conditioning, reuse=True, seed=fake_seed,
                                           labels=labels)
    return GANModel(real, z, fake, real_logits, real_prob, fake_logits, fake_prob, fake_seed,
                    labels, conditioning)
