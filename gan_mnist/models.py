"""Generator and discriminator builders, each in its own variable scope.

Variables are made with ``tf.get_variable`` inside ``tf.variable_scope("generator")`` and
``tf.variable_scope("discriminator")``, so train ops, savers and tests can select them by scope.
Layers are written with ``tf.get_variable`` and ``tf.nn`` only: ``tf.layers`` and Keras layers do
not work inside compat.v1 graphs under Keras 3.
"""
import collections

from gan_mnist.tf_compat import tf

GENERATOR_SCOPE = "generator"
DISCRIMINATOR_SCOPE = "discriminator"
IMAGE_PIXELS = 28 * 28
LEAKY_SLOPE = 0.2  # the slope DCGAN settled on; keeps gradients alive for negative inputs

GANModel = collections.namedtuple(
    "GANModel", "real z fake real_logits real_prob fake_logits fake_prob")


def dense(x, units, name):
    """x @ W + b with Glorot-uniform W and zero b, in a sub-scope ``name``."""
    with tf.variable_scope(name):
        weights = tf.get_variable("weights", [int(x.shape[-1]), units],
                                  initializer=tf.glorot_uniform_initializer())
        biases = tf.get_variable("biases", [units], initializer=tf.zeros_initializer())
    return tf.matmul(x, weights) + biases


def fc_generator(z, config):
    """z -> hidden leaky-ReLU -> 784 tanh: a flat image with pixels in [-1, 1]."""
    h = tf.nn.leaky_relu(dense(z, config.hidden, "hidden"), LEAKY_SLOPE)
    return tf.tanh(dense(h, IMAGE_PIXELS, "output"))


def fc_discriminator(x, config):
    """784 -> hidden leaky-ReLU -> 1 logit."""
    h = tf.nn.leaky_relu(dense(x, config.hidden, "hidden"), LEAKY_SLOPE)
    return dense(h, 1, "logit")


ARCHITECTURES = {"fc": (fc_generator, fc_discriminator)}


def generator(z, config, reuse=False):
    """Images (batch, 784) in [-1, 1] from noise z (batch, z_dim)."""
    build, _ = ARCHITECTURES[config.arch]
    with tf.variable_scope(GENERATOR_SCOPE, reuse=reuse):
        return build(z, config)


def discriminator(x, config, reuse=False):
    """(logit, probability), each of shape (batch,), that the images x (batch, 784) are real."""
    _, build = ARCHITECTURES[config.arch]
    with tf.variable_scope(DISCRIMINATOR_SCOPE, reuse=reuse):
        logits = tf.reshape(build(x, config), [-1])
    return logits, tf.sigmoid(logits)


def build_gan(real, z, config):
    """The generator on z and the discriminator on real and fake images (shared weights)."""
    fake = generator(z, config)
    real_logits, real_prob = discriminator(real, config)
    fake_logits, fake_prob = discriminator(fake, config, reuse=True)
    return GANModel(real, z, fake, real_logits, real_prob, fake_logits, fake_prob)


def scope_variables(scope, collection=None):
    """Trainable variables (or those of ``collection``) whose names start with ``scope/``."""
    collection = collection or tf.GraphKeys.TRAINABLE_VARIABLES
    return [v for v in tf.get_collection(collection) if v.op.name.startswith(scope + "/")]
