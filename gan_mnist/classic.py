"""The whole GAN in one file: the classic fully connected GAN of the TensorFlow 1.x tutorials.

Read this first. The rest of the package trains the same model faster (an in-graph pipeline,
one session.run per step) and adds recipes, evaluation and export; tests/test_classic.py shows
that its `fc` step and this file end with the same weights from the same start.

    python -m gan_mnist.classic --steps 5000    # grids in output-classic/, every 500 steps
    python -m gan_mnist.classic --steps 10000   # the same command, further: resumes
"""
import argparse
import os

import numpy as np
from PIL import Image

from gan_mnist.errors import GanError
from gan_mnist.core.data import load_split  # MNIST as uint8 arrays (downloads are checked)
from gan_mnist.tf_compat import tf  # tensorflow.compat.v1 in graph mode, without start-up noise

Z_DIM = 100  # the noise G turns into a digit
HIDDEN = 128  # units of the one hidden layer of G and of D
PIXELS = 28 * 28
BATCH = 128
LEARNING_RATE = 2e-4
BETA1 = 0.5  # Adam's momentum, lowered from 0.9 as DCGAN found GANs train better
SMOOTHING = 0.1  # one-sided label smoothing: D aims at 0.9, not 1, on real digits
SAMPLE_EVERY = 500  # a grid and a checkpoint every 500 steps


def dense(x, units, name):
    """x @ W + b, W drawn with Xavier (Glorot) init, so activations keep their scale."""
    with tf.variable_scope(name):
        w = tf.get_variable("weights", [int(x.shape[-1]), units],
                            initializer=tf.glorot_uniform_initializer())
        b = tf.get_variable("biases", [units], initializer=tf.zeros_initializer())
    return tf.matmul(x, w) + b


def generator(z):
    """Noise (batch, 100) -> 128 leaky ReLU -> 784 pixels in [-1, 1] (tanh)."""
    with tf.variable_scope("generator"):
        h = tf.nn.leaky_relu(dense(z, HIDDEN, "hidden"), 0.2)
        return tf.tanh(dense(h, PIXELS, "output"))


def discriminator(x, reuse=False):
    """Images (batch, 784) -> 128 leaky ReLU -> a logit, and its sigmoid: P(the image is real)."""
    with tf.variable_scope("discriminator", reuse=reuse):  # reuse: the same D for fakes
        h = tf.nn.leaky_relu(dense(x, HIDDEN, "hidden"), 0.2)
        logit = tf.reshape(dense(h, 1, "logit"), [-1])
        return logit, tf.sigmoid(logit)


def build():
    """The graph: placeholders that NumPy batches fill, G, D twice, the losses, two Adams."""
    real = tf.placeholder(tf.float32, [None, PIXELS], name="real")
    z = tf.placeholder(tf.float32, [None, Z_DIM], name="z")
    fake = generator(z)
    real_logit, real_prob = discriminator(real)
    fake_logit, fake_prob = discriminator(fake, reuse=True)

    cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits  # on logits: numerically safe
    d_loss = (tf.reduce_mean(cross_entropy(labels=tf.fill(tf.shape(real_logit), 1 - SMOOTHING),
                                           logits=real_logit))
              + tf.reduce_mean(cross_entropy(labels=tf.zeros_like(fake_logit),
                                             logits=fake_logit)))
    # G wants D to call its digits real (the non-saturating loss: strong gradients early on).
    g_loss = tf.reduce_mean(cross_entropy(labels=tf.ones_like(fake_logit), logits=fake_logit))

    # Each optimiser may move only its own network's weights: var_list, chosen by scope.
    d_vars = tf.trainable_variables("discriminator")
    g_vars = tf.trainable_variables("generator")
    step = tf.train.get_or_create_global_step()  # counts G updates; saved with the weights
    with tf.name_scope("discriminator/"):  # Adam's own variables beside D's
        d_train = tf.train.AdamOptimizer(LEARNING_RATE, beta1=BETA1).minimize(
            d_loss, var_list=d_vars)
    with tf.name_scope("generator/"):
        g_train = tf.train.AdamOptimizer(LEARNING_RATE, beta1=BETA1).minimize(
            g_loss, var_list=g_vars, global_step=step)
    return dict(real=real, z=z, fake=fake, real_prob=real_prob, fake_prob=fake_prob,
                d_loss=d_loss, g_loss=g_loss, d_train=d_train, g_train=g_train, step=step)


def train_step(session, gan, images, noise):
    """One step as the tutorials take it: D learns on a real and a fake batch, then G learns
    against the updated D, from the same noise. Returns D's loss, G's loss, and D's mean
    P(real) on the real and on the fake batch before D's update: D(x) and D(G(z))."""
    d_loss, d_real, d_fake, _ = session.run(
        [gan["d_loss"], gan["real_prob"], gan["fake_prob"], gan["d_train"]],
        {gan["real"]: images, gan["z"]: noise})
    g_loss, _ = session.run([gan["g_loss"], gan["g_train"]], {gan["z"]: noise})
    return d_loss, g_loss, d_real.mean(), d_fake.mean()


def real_digits(data_dir=None):
    """The training digits as rows of 784 floats in [-1, 1]: the range of G's tanh, so that D
    cannot tell real from fake by the range alone."""
    images, _ = load_split(data_dir, "train")  # uint8, 0 black ... 255 white
    return images.reshape(-1, PIXELS).astype(np.float32) / 127.5 - 1


def save_grid(digits, path):
    """64 digits in [-1, 1] as an 8x8 grid PNG, white on black."""
    tiles = ((digits.reshape(8, 8, 28, 28) + 1) * 127.5).clip(0, 255).astype(np.uint8)
    Image.fromarray(tiles.transpose(0, 2, 1, 3).reshape(8 * 28, 8 * 28)).save(path)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m gan_mnist.classic", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=5000, help="train until this step (5000)")
    p.add_argument("--checkpoint-dir", default="checkpoints-classic")
    p.add_argument("--output-dir", default="output-classic")
    p.add_argument("--data-dir", help="the MNIST files (default $MNIST_DATA_DIR or MNIST_data)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error("--steps must be at least 1")
    try:
        images = real_digits(args.data_dir)
    except GanError as e:  # missing or damaged MNIST files: one line, exit 1
        raise SystemExit("error: %s" % e)
    os.makedirs(args.checkpoint_dir, exist_ok=True)
    os.makedirs(args.output_dir, exist_ok=True)

    tf.set_random_seed(args.seed)  # the initial weights
    gan = build()
    saver = tf.train.Saver(max_to_keep=2)
    fixed_z = np.random.RandomState(args.seed).uniform(-1, 1, (64, Z_DIM)).astype(np.float32)
    with tf.Session() as session:
        session.run(tf.global_variables_initializer())
        latest = tf.train.latest_checkpoint(args.checkpoint_dir)
        if latest:  # the same command again carries on where the last run stopped
            saver.restore(session, latest)
            print("resumed from step %d" % session.run(gan["step"]))
        step = session.run(gan["step"])
        rng = np.random.RandomState(args.seed + step)  # batches and noise, in NumPy
        try:
            while step < args.steps:
                batch = images[rng.randint(0, len(images), BATCH)]
                noise = rng.uniform(-1, 1, (BATCH, Z_DIM)).astype(np.float32)
                d_loss, g_loss, d_real, d_fake = train_step(session, gan, batch, noise)
                step += 1
                if step % 100 == 0:  # D(x) near 1 and D(G(z)) near 0: D is winning
                    print("step %d  D loss %.3f  G loss %.3f  D(x) %.2f  D(G(z)) %.2f"
                          % (step, d_loss, g_loss, d_real, d_fake))
                if step % SAMPLE_EVERY == 0:
                    grid = os.path.join(args.output_dir, "samples_step_%06d.png" % step)
                    save_grid(session.run(gan["fake"], {gan["z"]: fixed_z}), grid)
                    saver.save(session, os.path.join(args.checkpoint_dir, "model.ckpt"), step)
        except KeyboardInterrupt:  # Ctrl-C: keep what was learned, then stop
            print("stopped at step %d" % step)
        saver.save(session, os.path.join(args.checkpoint_dir, "model.ckpt"), step)
        print("step %d saved in %s; grids in %s" % (step, args.checkpoint_dir, args.output_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
