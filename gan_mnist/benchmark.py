"""Training-speed benchmark: the seeds' feed_dict loop vs our training step vs Keras.

Each measurement runs in its own Python process (the Keras variant needs TF2's eager mode, the
others TF1 graph mode, and a process cannot have both), on the same model, batch size and digits.
Variants are run alternately, round after round, because these shared machines drift by tens of
percent from minute to minute; the report gives medians of per-round ratios to the feed_dict loop.
"""
import collections
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time


WARMUP_STEPS = 100
FeedDictGraph = collections.namedtuple("FeedDictGraph", "graph real z d_step g_step init")
VARIANTS = {
    "feed_dict": "the seeds' loop: NumPy batches and noise through feed_dict, two session.run "
                 "calls per step (D, then G)",
    "fused": "our training step alone: in-graph data and noise, D then G in one session.run",
    "fused_tf_threads": "the same step with TensorFlow's default thread settings",
    "train_py": "the real scripts/train.py end to end (grids, checkpoints, logs at their "
                "defaults; quick evaluation and D pre-training off), its own steps/s",
    "keras": "the same model in Keras with a tf.function step (TF2 eager), data in-graph "
             "(fc, mlp256, dcgan)",
}
KERAS_ARCHS = ("fc", "mlp256", "dcgan", "fast")  # the recipes the keras variant is written for


# ---------------------------------------------------------------- the workers (one per process)

def _mnist_images(data_dir):
    from gan_mnist import data

    images, _ = data.load_split(data_dir, "train")
    return images


def _config(args):
    from gan_mnist.config import resolve

    values = {"arch": args.arch, "seed": 0}
    if args.batch_size:
        values["batch_size"] = args.batch_size
    if args.hidden:
        values["hidden"] = args.hidden
    return resolve(values)


def _timed(step_fn, steps):
    for _ in range(WARMUP_STEPS):
        step_fn()
    start = time.perf_counter()
    for _ in range(steps):
        step_fn()
    return steps / (time.perf_counter() - start)


def build_feed_dict_graph(config):
    """The seeds' graph: placeholders for real images and noise, one Adam per network, each
    step a separate ``session.run``.

    Built by our own model, loss and train-op functions, so it computes what our fused step
    computes; only the data path and the number of session.run calls differ.
    """
    from gan_mnist import models
    from gan_mnist.tf_compat import tf
    from gan_mnist.train_ops import build_train_ops

    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config.seed)
        real = tf.placeholder(tf.float32, [None, 784], name="real")
        z = tf.placeholder(tf.float32, [None, config.z_dim], name="z")
        model = models.build_gan(real, z, config)
        ops = build_train_ops(model, config, tf.train.get_or_create_global_step())
        init = tf.global_variables_initializer()
    return FeedDictGraph(graph, real, z, ops.d_step, ops.g_step, init)


def run_feed_dict(args):
    """The loop of the seed tutorials: NumPy batches, two session.run calls per step."""
    import numpy as np

    from gan_mnist import data
    from gan_mnist.tf_compat import tf

    from gan_mnist.models import pixel_range

    config = _config(args)
    low, high = pixel_range(config)
    train = (_mnist_images(args.data_dir).reshape(-1, 784) / np.float32(255 / (high - low))
             + np.float32(low))
    fd = build_feed_dict_graph(config)
    session = tf.Session(graph=fd.graph)
    session.run(fd.init)
    real, z, d_step, g_step = fd.real, fd.z, fd.d_step, fd.g_step
    rng = np.random.RandomState(0)
    state = {"order": rng.permutation(len(train)), "at": 0}

    def next_batch():  # mnist.train.next_batch: shuffled epochs, a copy per batch
        if state["at"] + config.batch_size > len(train):
            state["order"], state["at"] = rng.permutation(len(train)), 0
        index = state["order"][state["at"]:state["at"] + config.batch_size]
        state["at"] += config.batch_size
        return train[index]

    def step():
        batch = next_batch()
        noise = rng.uniform(-1, 1, (config.batch_size, config.z_dim)).astype(np.float32)
        session.run(d_step, {real: batch, z: noise})
        session.run(g_step, {z: noise})

    return _timed(step, args.steps)


def run_fused(args, tuned_threads=True):
    from gan_mnist import trainer

    config = _config(args)
    images = _mnist_images(args.data_dir)
    tg = trainer.build_training_graph(config, len(images))
    session = trainer.start_session(tg, images,
                                    trainer.session_config(config) if tuned_threads else None)
    return _timed(lambda: session.run(tg.ops.train_step), args.steps)


def run_train_py(args):
    """The real script in a subprocess; its own 'done: step N (X steps/s)' line is the result."""
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "scripts", "train.py")
    with tempfile.TemporaryDirectory() as tmp:
        # D pre-training off: every variant times adversarial (D then G) steps.
        command = [sys.executable, script, "--steps", str(args.steps), "--eval-every", "0",
                   "--d-pretrain-steps", "0",
                   "--batch-size", str(args.batch_size), "--arch", args.arch,
                   "--checkpoint-dir", os.path.join(tmp, "c"), "--output-dir",
                   os.path.join(tmp, "o")]
        if args.hidden:
            command += ["--hidden", str(args.hidden)]
        if args.data_dir:
            command += ["--data-dir", args.data_dir]
        result = subprocess.run(command, capture_output=True, text=True)
    match = re.search(r"done: step \d+ \(([\d.]+) steps/s\)", result.stdout)
    if result.returncode != 0 or not match:
        raise RuntimeError("train.py failed: %s" % result.stderr.strip().splitlines()[-1:])
    return float(match.group(1))


def _keras_networks(arch, values):
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
        raise ValueError("the keras variant is written for %s only" % ", ".join(KERAS_ARCHS))
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


def run_keras(args):
    """The same networks, losses and Adam settings, written the TF2 way (Keras models, a
    tf.function step), with the data in-graph too."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import keras

    values = _keras_config(args)
    z_dim, batch = values["z_dim"], args.batch_size
    smoothing, beta1 = values["label_smoothing"], values["beta1"]
    tf.random.set_seed(0)
    generator, discriminator = _keras_networks(args.arch, values)
    d_opt = keras.optimizers.Adam(values["lr_d"], beta_1=beta1)
    g_opt = keras.optimizers.Adam(values["lr_g"], beta_1=beta1)
    images = tf.constant(_mnist_images(args.data_dir))
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

    return _timed(step, args.steps)


def _keras_config(args):
    """The recipe's numbers without importing gan_mnist.tf_compat (which disables TF2)."""
    from gan_mnist.config import Config
    from gan_mnist.recipes import PRESETS

    values = dict(vars(Config()), **PRESETS[args.arch])
    if args.hidden:
        values["hidden"] = args.hidden
    return values


WORKERS = {"feed_dict": run_feed_dict, "fused": run_fused,
           "fused_tf_threads": lambda args: run_fused(args, tuned_threads=False),
           "train_py": run_train_py, "keras": run_keras}


def worker_main(args):
    rate = WORKERS[args.variant](args)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if args.variant == "train_py":
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    print(json.dumps({"variant": args.variant, "steps_per_s": rate, "peak_mb": peak_mb}))
    return 0


# ---------------------------------------------------------------- the orchestrator

def measure(variant, args):
    command = [sys.executable, "-m", "gan_mnist.commands.benchmark", "--worker", variant,
               "--steps", str(args.steps), "--batch-size", str(args.batch_size),
               "--arch", args.arch]
    if args.hidden:
        command += ["--hidden", str(args.hidden)]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(command, capture_output=True, text=True, cwd=root)
    if result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError("variant %s failed: %s" % (variant, tail[0]))
    return json.loads(result.stdout.strip().splitlines()[-1])


def summarise(rounds, variants, batch_size):
    """Median steps/s per variant, and the median over rounds of its ratio to feed_dict."""
    summary = {}
    for variant in variants:
        rates = [r[variant]["steps_per_s"] for r in rounds]
        entry = {"steps_per_s": statistics.median(rates),
                 "images_per_s": statistics.median(rates) * batch_size,
                 "peak_mb": max(r[variant]["peak_mb"] for r in rounds),
                 "per_round": rates}
        if "feed_dict" in variants:
            entry["ratio_to_feed_dict"] = statistics.median(
                r[variant]["steps_per_s"] / r["feed_dict"]["steps_per_s"] for r in rounds)
        summary[variant] = entry
    return summary


def format_table(summary):
    lines = ["%-16s %8s %9s %12s %8s" % ("variant", "steps/s", "images/s", "vs feed_dict",
                                          "peak MB")]
    for variant, e in summary.items():
        ratio = "%.2fx" % e["ratio_to_feed_dict"] if "ratio_to_feed_dict" in e else "-"
        lines.append("%-16s %8.0f %9.0f %12s %8.0f" % (variant, e["steps_per_s"],
                                                       e["images_per_s"], ratio, e["peak_mb"]))
    return "\n".join(lines)
