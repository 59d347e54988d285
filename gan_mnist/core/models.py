"""Generator and discriminator builders for every recipe, each network in its own variable scope.

Variables are made with ``tf.get_variable`` inside ``tf.variable_scope("generator")`` and
``tf.variable_scope("discriminator")``, so train ops, savers and tests can select them by scope.
Layers are written with ``tf.get_variable`` and ``tf.nn`` only: ``tf.layers`` and Keras layers do
not work inside compat.v1 graphs under Keras 3.

``training`` switches batch norm between batch statistics (and moving-average updates, collected
in ``tf.GraphKeys.UPDATE_OPS``) and the moving averages, and turns dropout on or off. Dropout
masks are drawn from a stateless seed, so a resumed run repeats an uninterrupted one exactly.
"""
import collections

from gan_mnist.techniques import conditioning as conditioning_lib
from gan_mnist.techniques.conditioning import NUM_CLASSES, cluster_of_noise  # noqa: F401 (re-exported)
from gan_mnist.core.layers import batch_norm, conv2d, conv2d_transpose, dense, dropout, leaky_relu, spectral_norm_getter
from gan_mnist.core.scopes import DISCRIMINATOR_SCOPE, GENERATOR_SCOPE, scope_update_ops, scope_variables
from gan_mnist.tf_compat import tf

IMAGE_PIXELS = 28 * 28

GANModel = collections.namedtuple(
    "GANModel", "real z fake real_logits real_prob fake_logits fake_prob fake_seed labels")


# ---------------------------------------------------------------- fc and mlp256

def mlp_generator(z, config, training, layers=1):
    """z -> ``layers`` x (hidden, leaky ReLU) -> 784 tanh."""
    h = z
    for i in range(layers):
        h = leaky_relu(dense(h, config.hidden, "hidden" if layers == 1 else "hidden%d" % (i + 1)))
    return tf.tanh(dense(h, IMAGE_PIXELS, "output"))


def mlp_discriminator(x, config, training, seed, layers=1):
    """784 -> ``layers`` x (hidden, leaky ReLU): the features under the logit."""
    h = x
    for i in range(layers):
        h = leaky_relu(dense(h, config.hidden, "hidden" if layers == 1 else "hidden%d" % (i + 1)))
    return h


# ---------------------------------------------------------------- dcgan (the TensorFlow tutorial)

def dcgan_generator(z, config, training):
    """dense 7x7x256 (no bias) -> BN -> leaky ReLU -> 5x5 transposed convolutions 128 (stride 1),
    64 (stride 2), each with BN and leaky ReLU, -> 1 (stride 2) tanh: 28x28."""
    h = dense(z, 7 * 7 * 256, "project", bias=False)
    h = leaky_relu(batch_norm(h, training, "bn0"))
    h = tf.reshape(h, [-1, 7, 7, 256])
    h = leaky_relu(batch_norm(conv2d_transpose(h, 128, 5, 1, "deconv1"), training, "bn1"))
    h = leaky_relu(batch_norm(conv2d_transpose(h, 64, 5, 2, "deconv2"), training, "bn2"))
    h = tf.tanh(conv2d_transpose(h, 1, 5, 2, "deconv3"))
    return tf.reshape(h, [-1, IMAGE_PIXELS])


def dcgan_discriminator(x, config, training, seed):
    """5x5 convolutions 64 and 128 (stride 2), each with leaky ReLU and dropout 0.3."""
    h = tf.reshape(x, [-1, 28, 28, 1])
    h = dropout(leaky_relu(conv2d(h, 64, 5, 2, "conv1")), 0.3, training, seed, 1)
    h = dropout(leaky_relu(conv2d(h, 128, 5, 2, "conv2")), 0.3, training, seed, 2)
    return tf.reshape(h, [-1, 7 * 7 * 128])


# ---------------------------------------------------------------- cnn (56x56 generator, [0, 1])

def cnn_generator(z, config, training):
    """dense to 56x56x1 -> BN -> ReLU; twice: 3x3 stride-2 convolution (z/2, then z/4 filters)
    -> BN -> ReLU -> bicubic resize back to 56x56; then a 1x1 stride-2 convolution to 28x28 and
    a sigmoid: pixels in [0, 1]."""
    h = dense(z, 56 * 56, "project")
    h = tf.nn.relu(batch_norm(tf.reshape(h, [-1, 56, 56, 1]), training, "bn0"))
    for i, filters in enumerate((max(config.z_dim // 2, 1), max(config.z_dim // 4, 1)), 1):
        h = tf.nn.relu(batch_norm(conv2d(h, filters, 3, 2, "conv%d" % i), training, "bn%d" % i))
        h = tf.image.resize(h, [56, 56], method=tf.image.ResizeMethod.BICUBIC)
    h = tf.sigmoid(conv2d(h, 1, 1, 2, "conv3"))
    return tf.reshape(h, [-1, IMAGE_PIXELS])


def cnn_discriminator(x, config, training, seed):
    """5x5 convolutions 32 and 64 with ReLU and 2x2 average pooling -> dense 1024 ReLU."""
    h = tf.reshape(x, [-1, 28, 28, 1])
    h = tf.nn.avg_pool2d(tf.nn.relu(conv2d(h, 32, 5, 1, "conv1")), 2, 2, "SAME")
    h = tf.nn.avg_pool2d(tf.nn.relu(conv2d(h, 64, 5, 1, "conv2")), 2, 2, "SAME")
    return tf.nn.relu(dense(tf.reshape(h, [-1, 7 * 7 * 64]), 1024, "dense"))


# ---------------------------------------------------------------- fast (quality per CPU-minute)

def fast_generator(z, config, training):
    """dense 7x7xW (no bias) -> BN -> ReLU -> 4x4 stride-2 transposed convolution W/2 -> BN ->
    ReLU -> 4x4 stride-2 transposed convolution 1 (with bias) -> tanh: 28x28. W = ``hidden``.

    The DCGAN layout (Radford et al. 2016) cut to two upsamplings and narrow layers: on a CPU a
    step must be cheap, and 4x4 kernels with stride 2 avoid checkerboard artefacts."""
    width = config.hidden
    h = tf.reshape(dense(z, 7 * 7 * width, "project", bias=False), [-1, 7, 7, width])
    h = tf.nn.relu(batch_norm(h, training, "bn0"))  # per channel
    h = tf.nn.relu(batch_norm(conv2d_transpose(h, width // 2, 4, 2, "deconv1"), training, "bn1"))
    h = tf.tanh(conv2d_transpose(h, 1, 4, 2, "deconv2", bias=True))
    return tf.reshape(h, [-1, IMAGE_PIXELS])


def fast_discriminator(x, config, training, seed):
    """4x4 stride-2 convolutions W/2 and W with leaky ReLU (no batch norm, no dropout)."""
    width = config.hidden
    h = tf.reshape(x, [-1, 28, 28, 1])
    h = leaky_relu(conv2d(h, width // 2, 4, 2, "conv1"))
    h = leaky_relu(conv2d(h, width, 4, 2, "conv2"))
    return tf.reshape(h, [-1, 7 * 7 * width])


ARCHITECTURES = {
    "fc": (mlp_generator, mlp_discriminator),
    "mlp256": (lambda z, c, t: mlp_generator(z, c, t, layers=2),
               lambda x, c, t, s: mlp_discriminator(x, c, t, s, layers=2)),
    "dcgan": (dcgan_generator, dcgan_discriminator),
    "cnn": (cnn_generator, cnn_discriminator),
    "fast": (fast_generator, fast_discriminator),
}
SIGMOID_OUTPUT = {"cnn"}  # recipes whose images (real and generated) live in [0, 1]


def pixel_range(config):
    """(low, high) of the pixels the recipe's networks see and produce."""
    return (0.0, 1.0) if config.arch in SIGMOID_OUTPUT else (-1.0, 1.0)


def to_tanh_range(images, config):
    """Generated images mapped to [-1, 1], the range grids and evaluation expect."""
    low, high = pixel_range(config)
    return images if (low, high) == (-1.0, 1.0) else images * 2.0 - 1.0


def generator(z, config, reuse=False, training=True, custom_getter=None, labels=None,
              conditioning=None):
    """Flat images (batch, 784) in the recipe's pixel range, from noise z (batch, z_dim).

    ``custom_getter``: how the network reads its weights, handed in by the caller: the training
    graph passes the EMA's ``read_averages`` so that the sampling generator reads the moving
    averages made by the train ops (--ema); the network itself does not know about them.
    ``conditioning`` (gan_mnist.techniques.conditioning, default: the config's) says what joins the noise
    at G's input (Mirza & Osindero 2014): for a --conditional model, ``labels``, the classes
    asked for as one-hot rows (batch, 10) (soft rows blend classes); for a --clusters model its
    group, given as ``labels`` while training (the real batch's groups), otherwise picked by the
    first noise coordinate."""
    build, _ = ARCHITECTURES[config.arch]
    conditioning = conditioning or conditioning_lib.of(config)
    with tf.variable_scope(GENERATOR_SCOPE, reuse=reuse or bool(custom_getter),
                           custom_getter=custom_getter):
        z, labels = conditioning.generator_input(z, labels)
        if labels is not None:
            z = tf.concat([z, labels], axis=1)
        return build(z, config, training)


def discriminator(x, config, reuse=False, training=True, seed=None, labels=None):
    """(logit, probability), each of shape (batch,), that the images x (batch, 784) are real.

    ``seed`` (an int64 pair) fixes the dropout masks of recipes that use dropout. With
    --spectral-norm every weight matrix and kernel is read divided by its largest singular value.
    The recipe's network gives features h; the logit is a dense layer on h. A --conditional model
    adds the projection term <embedding(label), h> (Miyato & Koyama 2018): D judges "a real 7",
    not just "real", through one extra matrix, the same way for every recipe.
    """
    _, build = ARCHITECTURES[config.arch]
    getter = spectral_norm_getter if config.spectral_norm else None
    with tf.variable_scope(DISCRIMINATOR_SCOPE, reuse=reuse, custom_getter=getter):
        features = build(x, config, training, seed)
        logits = dense(features, 1, "logit")
        if conditioning_lib.of(config).width:
            if labels is None:
                raise ValueError("a conditional model needs labels")
            embedded = dense(labels, int(features.shape[-1]), "projection", bias=False)
            logits += tf.reduce_sum(embedded * features, axis=1, keepdims=True)
        logits = tf.reshape(logits, [-1])
    return logits, tf.sigmoid(logits)


def build_gan(real, z, config, real_seed=None, fake_seed=None, labels=None, conditioning=None):
    """The generator on z and the discriminator on real and fake images (shared weights).

    ``labels`` (one-hot, conditional and --clusters models only): the real batch's classes or
    clusters; G is asked for the same ones, so D sees the same mix in real and generated
    images."""
    fake = generator(z, config, labels=labels, conditioning=conditioning)
    real_logits, real_prob = discriminator(real, config, seed=real_seed, labels=labels)
    fake_logits, fake_prob = discriminator(fake, config, reuse=True, seed=fake_seed,
                                           labels=labels)
    return GANModel(real, z, fake, real_logits, real_prob, fake_logits, fake_prob, fake_seed,
                    labels)
