"""Every recipe's networks, named in their architecture's record (gan_mnist.core.architectures).

A builder takes its sizes, not the whole Config: a generator ``(z, training, hidden, z_dim)``
returns flat images (batch, 784); a discriminator ``(x, training, seed, hidden)`` returns the
features under D's logit. gan_mnist.core.gan wraps them in their variable scopes.
"""
from gan_mnist.core.layers import (batch_norm, conv2d, conv2d_transpose, dense, dropout,
                                   leaky_relu)
from gan_mnist.tf_compat import tf

IMAGE_PIXELS = 28 * 28


# ---------------------------------------------------------------- fc and mlp256

def mlp_generator(z, training, hidden, z_dim, layers=1):
    """z -> ``layers`` x (hidden, leaky ReLU) -> 784 tanh."""
    h = z
    for i in range(layers):
        h = leaky_relu(dense(h, hidden, "hidden" if layers == 1 else "hidden%d" % (i + 1)))
    return tf.tanh(dense(h, IMAGE_PIXELS, "output"))


def mlp_discriminator(x, training, seed, hidden, layers=1):
    """784 -> ``layers`` x (hidden, leaky ReLU): the features under the logit."""
    h = x
    for i in range(layers):
        h = leaky_relu(dense(h, hidden, "hidden" if layers == 1 else "hidden%d" % (i + 1)))
    return h


def mlp256_generator(z, training, hidden, z_dim):
    return mlp_generator(z, training, hidden, z_dim, layers=2)


def mlp256_discriminator(x, training, seed, hidden):
    return mlp_discriminator(x, training, seed, hidden, layers=2)


# ---------------------------------------------------------------- dcgan (the TensorFlow tutorial)

def dcgan_generator(z, training, hidden, z_dim):
    """dense 7x7x256 (no bias) -> BN -> leaky ReLU -> 5x5 transposed convolutions 128 (stride 1),
    64 (stride 2), each with BN and leaky ReLU, -> 1 (stride 2) tanh: 28x28."""
    h = dense(z, 7 * 7 * 256, "project", bias=False)
    h = leaky_relu(batch_norm(h, training, "bn0"))
    h = tf.reshape(h, [-1, 7, 7, 256])
    h = leaky_relu(batch_norm(conv2d_transpose(h, 128, 5, 1, "deconv1"), training, "bn1"))
    h = leaky_relu(batch_norm(conv2d_transpose(h, 64, 5, 2, "deconv2"), training, "bn2"))
    h = tf.tanh(conv2d_transpose(h, 1, 5, 2, "deconv3"))
    return tf.reshape(h, [-1, IMAGE_PIXELS])


def dcgan_discriminator(x, training, seed, hidden):
    """5x5 convolutions 64 and 128 (stride 2), each with leaky ReLU and dropout 0.3."""
    h = tf.reshape(x, [-1, 28, 28, 1])
    h = dropout(leaky_relu(conv2d(h, 64, 5, 2, "conv1")), 0.3, training, seed, 1)
    h = dropout(leaky_relu(conv2d(h, 128, 5, 2, "conv2")), 0.3, training, seed, 2)
    return tf.reshape(h, [-1, 7 * 7 * 128])


# ---------------------------------------------------------------- cnn (56x56 generator, [0, 1])

def cnn_generator(z, training, hidden, z_dim):
    """dense to 56x56x1 -> BN -> ReLU; twice: 3x3 stride-2 convolution (z/2, then z/4 filters)
    -> BN -> ReLU -> bicubic resize back to 56x56; then a 1x1 stride-2 convolution to 28x28 and
    a sigmoid: pixels in [0, 1]."""
    h = dense(z, 56 * 56, "project")
    h = tf.nn.relu(batch_norm(tf.reshape(h, [-1, 56, 56, 1]), training, "bn0"))
    for i, filters in enumerate((max(z_dim // 2, 1), max(z_dim // 4, 1)), 1):
        h = tf.nn.relu(batch_norm(conv2d(h, filters, 3, 2, "conv%d" % i), training, "bn%d" % i))
        h = tf.image.resize(h, [56, 56], method=tf.image.ResizeMethod.BICUBIC)
    h = tf.sigmoid(conv2d(h, 1, 1, 2, "conv3"))
    return tf.reshape(h, [-1, IMAGE_PIXELS])


def cnn_discriminator(x, training, seed, hidden):
    """5x5 convolutions 32 and 64 with ReLU and 2x2 average pooling -> dense 1024 ReLU."""
    h = tf.reshape(x, [-1, 28, 28, 1])
    h = tf.nn.avg_pool2d(tf.nn.relu(conv2d(h, 32, 5, 1, "conv1")), 2, 2, "SAME")
    h = tf.nn.avg_pool2d(tf.nn.relu(conv2d(h, 64, 5, 1, "conv2")), 2, 2, "SAME")
    return tf.nn.relu(dense(tf.reshape(h, [-1, 7 * 7 * 64]), 1024, "dense"))


# ---------------------------------------------------------------- fast (quality per CPU-minute)

def fast_generator(z, training, hidden, z_dim):
    """dense 7x7xW (no bias) -> BN -> ReLU -> 4x4 stride-2 transposed convolution W/2 -> BN ->
    ReLU -> 4x4 stride-2 transposed convolution 1 (with bias) -> tanh: 28x28. W = ``hidden``.

    The DCGAN layout (Radford et al. 2016) cut to two upsamplings and narrow layers: on a CPU a
    step must be cheap, and 4x4 kernels with stride 2 avoid checkerboard artefacts."""
    width = hidden
    h = tf.reshape(dense(z, 7 * 7 * width, "project", bias=False), [-1, 7, 7, width])
    h = tf.nn.relu(batch_norm(h, training, "bn0"))  # per channel
    h = tf.nn.relu(batch_norm(conv2d_transpose(h, width // 2, 4, 2, "deconv1"), training, "bn1"))
    h = tf.tanh(conv2d_transpose(h, 1, 4, 2, "deconv2", bias=True))
    return tf.reshape(h, [-1, IMAGE_PIXELS])


def fast_discriminator(x, training, seed, hidden):
    """4x4 stride-2 convolutions W/2 and W with leaky ReLU (no batch norm, no dropout)."""
    width = hidden
    h = tf.reshape(x, [-1, 28, 28, 1])
    h = leaky_relu(conv2d(h, width // 2, 4, 2, "conv1"))
    h = leaky_relu(conv2d(h, width, 4, 2, "conv2"))
    return tf.reshape(h, [-1, 7 * 7 * width])
