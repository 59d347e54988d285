"""The benchmark's yardstick: the recipes' networks, losses and Adam settings written the TF2 way
(Keras models, a tf.function step), with the data in-graph too. Not part of the package."""
import os

ARCHS = ("fc", "mlp256", "dcgan", "fast")  # the recipes the keras variant is written for


def networks(arch, values):
    """(generator, discriminator) of the recipe as Keras models: the TF2 way of writing them."""
    import keras
    from keras import layers

    def leaky():
        return layers.LeakyReLU(0.2)

    def mlp(inputs, output):
        depth = 2 if arch == "mlp256" else 1
        hidden = [l for _ in range(depth) for l in (layers.Dense(values["hidden"]), leaky())]
        return keras.Sequential([keras.Input((inputs,))] + hidden + [output])

    z_dim = values["z_dim"]
    if arch in ("fc", "mlp256"):
        return mlp(z_dim, layers.Dense(784, "tanh")), mlp(784, layers.Dense(1))
    if arch == "fast":
        width = values["hidden"]
        generator = keras.Sequential([
            keras.Input((z_dim,)), layers.Dense(7 * 7 * width, use_bias=False),
            layers.Reshape((7, 7, width)), layers.BatchNormalization(), layers.ReLU(),
            layers.Conv2DTranspose(width // 2, 4, 2, "same", use_bias=False),
            layers.BatchNormalization(), layers.ReLU(),
            layers.Conv2DTranspose(1, 4, 2, "same", activation="tanh"), layers.Reshape((784,))])
        discriminator = keras.Sequential([
            keras.Input((784,)), layers.Reshape((28, 28, 1)),
            layers.Conv2D(width // 2, 4, 2, "same"), leaky(), layers.Conv2D(width, 4, 2, "same"),
            leaky(), layers.Flatten(), layers.Dense(1)])
        return generator, discriminator
    if arch != "dcgan":
        raise ValueError("the keras variant is written for %s only" % ", ".join(ARCHS))
    generator = keras.Sequential([
        keras.Input((z_dim,)), layers.Dense(7 * 7 * 256, use_bias=False),
        layers.BatchNormalization(), leaky(), layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 5, 1, "same", use_bias=False), layers.BatchNormalization(),
        leaky(),
        layers.Conv2DTranspose(64, 5, 2, "same", use_bias=False), layers.BatchNormalization(),
        leaky(),
        layers.Conv2DTranspose(1, 5, 2, "same", use_bias=False, activation="tanh"),
        layers.Reshape((784,))])
    discriminator = keras.Sequential([
        keras.Input((784,)), layers.Reshape((28, 28, 1)),
        layers.Conv2D(64, 5, 2, "same"), leaky(), layers.Dropout(0.3),
        layers.Conv2D(128, 5, 2, "same"), leaky(), layers.Dropout(0.3),
        layers.Flatten(), layers.Dense(1)])
    return generator, discriminator


def run(args, mnist_images, timed):
    """The same networks, losses and Adam settings, written the TF2 way (Keras models, a
    tf.function step), with the data in-graph too."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import keras

    values = config(args)
    z_dim, batch = values["z_dim"], args.batch_size
    smoothing, beta1 = values["label_smoothing"], values["beta1"]
    tf.random.set_seed(0)
    generator, discriminator = networks(args.arch, values)
    d_opt = keras.optimizers.Adam(values["lr_d"], beta_1=beta1)
    g_opt = keras.optimizers.Adam(values["lr_g"], beta_1=beta1)
    images = tf.constant(mnist_images(args.data_dir))
    xent = tf.nn.sigmoid_cross_entropy_with_logits

    @tf.function
    def train_step(step):
        seed = tf.stack([tf.constant(0, tf.int64), step])
        index = tf.random.stateless_uniform([batch], seed, 0, images.shape[0], tf.int32)
        real = tf.reshape(tf.cast(tf.gather(images, index), tf.float32) / 127.5 - 1, [batch, 784])
        z = tf.random.stateless_uniform([batch, z_dim], seed + 1, -1.0, 1.0)
        with tf.GradientTape() as tape:
            real_logits = discriminator(real, training=True)
            fake_logits = discriminator(generator(z, training=True), training=True)
            d_loss = (tf.reduce_mean(xent(tf.fill(tf.shape(real_logits), 1 - smoothing),
                                          real_logits))
                      + tf.reduce_mean(xent(tf.zeros_like(fake_logits), fake_logits)))
        d_vars = discriminator.trainable_variables
        d_opt.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
        with tf.GradientTape() as tape:
            fake_logits = discriminator(generator(z, training=True), training=True)
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
    from gan_mnist.config import Config
    from gan_mnist.recipes import PRESETS

    values = dict(vars(Config()), **PRESETS[args.arch])
    if args.hidden:
        values["hidden"] = args.hidden
    return values
