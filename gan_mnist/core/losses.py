"""GAN losses as plain functions of the discriminator's logits (no variables, no model).

``gan_loss`` is the stage's contract, as TF-GAN hands a GANModel to its loss: one value holding
D's loss, G's loss and D's regulariser, chosen by the Config (--loss, --r1).
"""
import collections

from gan_mnist.tf_compat import tf

GANLoss = collections.namedtuple("GANLoss", "d_loss g_loss d_regulariser generator_loss")
GANLoss.__doc__ = """D's and G's losses on the model's logits; ``d_regulariser``: what R1 adds
to D's loss on a step that carries it (gamma times the penalty), or None without --r1;
``generator_loss``: G's loss as a function of logits, for a G step against an updated D."""


def discriminator_loss(real_logits, fake_logits, label_smoothing=0.1):
    """Sigmoid cross-entropy: real images labelled 1 - smoothing, generated images labelled 0.

    One-sided label smoothing keeps D from growing over-confident on real digits, which would
    starve G of gradient (Salimans et al. 2016).
    """
    real_loss = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(real_logits), 1.0 - label_smoothing), logits=real_logits)
    fake_loss = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.zeros_like(fake_logits), logits=fake_logits)
    return tf.add(tf.reduce_mean(real_loss), tf.reduce_mean(fake_loss), name="d_loss")


def generator_loss(fake_logits):
    """Non-saturating loss: G maximises log D(G(z)) by labelling its images 1.

    Strong gradients early in training, when D easily rejects G's output (Goodfellow et al. 2014).
    """
    loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(fake_logits),
                                                   logits=fake_logits)
    return tf.reduce_mean(loss, name="g_loss")


def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge loss: D is pushed to logits >= 1 on real and <= -1 on generated images, and no
    further (Lim & Ye 2017; Miyato et al. 2018). No label smoothing: the margin plays its part."""
    return tf.add(tf.reduce_mean(tf.nn.relu(1.0 - real_logits)),
                  tf.reduce_mean(tf.nn.relu(1.0 + fake_logits)), name="d_loss")


def hinge_generator_loss(fake_logits):
    """G raises D's logits on its images: -mean(D(G(z)))."""
    return tf.negative(tf.reduce_mean(fake_logits), name="g_loss")


def r1_penalty(real_logits, real):
    """R1: half the mean squared norm of D's gradient with respect to the real images (Mescheder
    et al. 2018). Penalising D's slope on real digits keeps it from overshooting around the data,
    the oscillation that stops plain GANs from converging. Times gamma, added to D's loss."""
    gradient = tf.gradients(tf.reduce_sum(real_logits), real)[0]
    return tf.multiply(0.5, tf.reduce_mean(tf.reduce_sum(tf.square(gradient), axis=1)),
                       name="r1_penalty")


LOSSES = {  # --loss: (D loss of (real_logits, fake_logits, label_smoothing), G loss of logits)
    "ns": (discriminator_loss, generator_loss),
    "hinge": (lambda real, fake, smoothing: hinge_discriminator_loss(real, fake),
              hinge_generator_loss),
}


def gan_loss(model, config):
    """The losses of a GANModel (gan_mnist.core.models.build_gan) for this config."""
    discriminator_loss, generator_loss = LOSSES[config.loss]
    d_loss = discriminator_loss(model.real_logits, model.fake_logits, config.label_smoothing)
    g_loss = generator_loss(model.fake_logits)
    regulariser = config.r1 * r1_penalty(model.real_logits, model.real) if config.r1 else None
    return GANLoss(d_loss, g_loss, regulariser, generator_loss)
