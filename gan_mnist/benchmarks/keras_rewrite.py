"""The benchmark's yardstick: the recipes' networks, losses and Adam settings written the TF2 way
(Keras models, a tf.function step), with the data in-graph too. Nothing that trains imports it;
Keras comes with TensorFlow and with the benchmark extra."""
import os

ARCHS = ("fc", "mlp256", "dcgan", "fast")  # the recipes the keras variant is written for


def label_width(values):
    """How many groups G and D are conditioned on: clusters, classes, or none (0)."""
    return values["clusters"] or (10 if values["conditional"] else 0)


def networks(arch, values):
    """(generator, discriminator) of the recipe as Keras models: the TF2 way of writing them.
    With --spectral-norm every layer of D with a kernel is wrapped in Keras's
    SpectralNormalization (one power iteration a step, as ours); with --clusters K or
    --conditional the models take [noise, one-hot rows] and [images, one-hot rows]."""
    width = label_width(values)
    g_inputs = values["z_dim"] - (1 if values["clusters"] else 0) + width
    d_layer = _d_layer(values)
    generator, discriminator = _unconditioned(arch, values, d_layer, g_inputs)
    if not width:
        return generator, discriminator
    return _conditioned(generator, discriminator, values, width, d_layer)


def _d_layer(values):
    from keras import layers

    if not values["spectral_norm"]:
        return lambda layer: layer
    return lambda layer: layers.SpectralNormalization(layer, power_iterations=1)


def _conditioned(generator, discriminator, values, width, d_layer):
    """G sees [noise, rows] (a --clusters G drops the noise coordinate that picks the group when
    sampling); D adds the projection <embedding(rows), features> to its logit."""
    import keras
    from keras import layers

    z, rows = keras.Input((values["z_dim"],)), keras.Input((width,))
    shaped = layers.Lambda(lambda t: t[:, 1:])(z) if values["clusters"] else z
    conditioned_g = keras.Model([z, rows], generator(layers.Concatenate()([shaped, rows])))
    x = keras.Input((784,))
    features = keras.Sequential(discriminator.layers[:-1])(x)  # all but the logit layer
    logit = discriminator.layers[-1](features)
    embedded = d_layer(layers.Dense(int(features.shape[-1]), use_bias=False))(rows)
    projection = layers.Lambda(lambda t: keras.ops.sum(t[0] * t[1], axis=1, keepdims=True))(
        [embedded, features])
    return conditioned_g, keras.Model([x, rows], layers.Add()([logit, projection]))


def _unconditioned(arch, values, d_layer, g_inputs):
    import keras
    from keras import layers

    def leaky():
        return layers.LeakyReLU(0.2)

    def mlp(inputs, output, is_d):
        wrap = d_layer if is_d else (lambda layer: layer)
        depth = 2 if arch == "mlp256" else 1
        hidden = [l for _ in range(depth) for l in (wrap(layers.Dense(values["hidden"])),
                                                    leaky())]
        return keras.Sequential([keras.Input((inputs,))] + hidden + [wrap(output)])

    if arch in ("fc", "mlp256"):
        return mlp(g_inputs, layers.Dense(784, "tanh"), False), mlp(784, layers.Dense(1), True)
    if arch == "fast":
        width = values["hidden"]
        generator = keras.Sequential([
            keras.Input((g_inputs,)), layers.Dense(7 * 7 * width, use_bias=False),
            layers.Reshape((7, 7, width)), layers.BatchNormalization(), layers.ReLU(),
            layers.Conv2DTranspose(width // 2, 4, 2, "same", use_bias=False),
            layers.BatchNormalization(), layers.ReLU(),
            layers.Conv2DTranspose(1, 4, 2, "same", activation="tanh"), layers.Reshape((784,))])
        discriminator = keras.Sequential([
            keras.Input((784,)), layers.Reshape((28, 28, 1)),
            d_layer(layers.Conv2D(width // 2, 4, 2, "same")), leaky(),
            d_layer(layers.Conv2D(width, 4, 2, "same")), leaky(), layers.Flatten(),
            d_layer(layers.Dense(1))])
        return generator, discriminator
    if arch != "dcgan":
        raise ValueError("the keras variant is written for %s only" % ", ".join(ARCHS))
    generator = keras.Sequential([
        keras.Input((g_inputs,)), layers.Dense(7 * 7 * 256, use_bias=False),
        layers.BatchNormalization(), leaky(), layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 5, 1, "same", use_bias=False), layers.BatchNormalization(),
        leaky(),
        layers.Conv2DTranspose(64, 5, 2, "same", use_bias=False), layers.BatchNormalization(),
        leaky(),
        layers.Conv2DTranspose(1, 5, 2, "same", use_bias=False, activation="tanh"),
        layers.Reshape((784,))])
    discriminator = keras.Sequential([
        keras.Input((784,)), layers.Reshape((28, 28, 1)),
        d_layer(layers.Conv2D(64, 5, 2, "same")), leaky(), layers.Dropout(0.3),
        d_layer(layers.Conv2D(128, 5, 2, "same")), leaky(), layers.Dropout(0.3),
        layers.Flatten(), d_layer(layers.Dense(1))])
    return generator, discriminator


def run(args, mnist_images, timed):
    """The same networks, losses and Adam settings, written the TF2 way (Keras models, a
    tf.function step), with the data in-graph too."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    values = config(args)
    z_dim, batch, width = values["z_dim"], args.batch_size, label_width(values)
    smoothing, beta1 = values["label_smoothing"], values["beta1"]
    tf.random.set_seed(0)
    generator, discriminator = networks(values["arch"], values)
    d_opt = keras.optimizers.Adam(values["lr_d"], beta_1=beta1)
    # --ema: Keras keeps the moving average of G's weights in G's optimizer.
    g_opt = keras.optimizers.Adam(values["lr_g"], beta_1=beta1, use_ema=bool(values["ema"]),
                                  ema_momentum=values["ema"] or 0.99)
    images = tf.constant(mnist_images(args.data_dir))
    # Each digit's group (a timing stand-in for its k-means cluster or class: a step costs the
    # same whichever group a digit is in).
    groups = tf.constant(np.random.RandomState(0).randint(0, max(width, 1), len(images)))
    xent = tf.nn.sigmoid_cross_entropy_with_logits

    def inputs(x, rows):
        return [x, rows] if width else x

    @tf.function
    def train_step(step):
        seed = tf.stack([tf.constant(0, tf.int64), step])
        index = tf.random.stateless_uniform([batch], seed, 0, images.shape[0], tf.int32)
        real = tf.reshape(tf.cast(tf.gather(images, index), tf.float32) / 127.5 - 1, [batch, 784])
        rows = tf.one_hot(tf.gather(groups, index), max(width, 1))
        z = tf.random.stateless_uniform([batch, z_dim], seed + 1, -1.0, 1.0)
        with tf.GradientTape() as tape:
            real_logits = discriminator(inputs(real, rows), training=True)
            fake = generator(inputs(z, rows), training=True)
            fake_logits = discriminator(inputs(fake, rows), training=True)
            d_loss = (tf.reduce_mean(xent(tf.fill(tf.shape(real_logits), 1 - smoothing),
                                          real_logits))
                      + tf.reduce_mean(xent(tf.zeros_like(fake_logits), fake_logits)))
        d_vars = discriminator.trainable_variables
        d_opt.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
        with tf.GradientTape() as tape:
            fake = generator(inputs(z, rows), training=True)
            fake_logits = discriminator(inputs(fake, rows), training=True)
            g_loss = tf.reduce_mean(xent(tf.ones_like(fake_logits), fake_logits))
        g_vars = generator.trainable_variables
        g_opt.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))

    counter = {"step": 0}

    def step():
        counter["step"] += 1
        train_step(tf.constant(counter["step"], tf.int64))

    return timed(step, args.steps)


def config(args):
    """The recipe's numbers without importing gan_mnist.tf_compat (which disables TF2)."""
    from gan_mnist.training.config import Config
    from gan_mnist.training.recipes import recipe_values

    values = dict(vars(Config()), **recipe_values(getattr(args, "recipe", None) or args.arch))
    if args.hidden:
        values["hidden"] = args.hidden
    return values
