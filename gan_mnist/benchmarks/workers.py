"""The benchmark's workers: each measures one variant in a Python process of its own
(``python -m gan_mnist.benchmarks.speed --worker VARIANT ...``, started by speed.measure) and
prints one JSON line. A process cannot hold both TF1 graph mode and TF2 eager mode, so every
variant gets a fresh one, on the same model, batch size and digits.
"""
import collections
import dataclasses
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

from gan_mnist import PACKAGE_DIR
from gan_mnist.benchmarks import keras_rewrite, profile, torch_rewrite

WARMUP_STEPS = 100
FeedDictGraph = collections.namedtuple("FeedDictGraph", "graph real z rows d_step g_step init")


def child_env():
    """The environment of a process this one starts (``python -P``: the current folder is not
    on its path): it imports the gan_mnist this process runs, installed or a checkout's that
    scripts/benchmark.py found, whatever folder the user is in."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.dirname(PACKAGE_DIR),
                                                      env.get("PYTHONPATH")]))
    return env


def run_flags(args):
    """The flags that say what a measured run trains, as both a worker and train.py take them:
    the recipe (or --arch), --batch-size, and --hidden, --precision, --data-dir where given."""
    flags = ["--recipe", args.recipe] if args.recipe else ["--arch", args.arch]
    flags += ["--batch-size", str(args.batch_size)]
    for name in ("hidden", "precision", "data_dir"):
        if getattr(args, name):
            flags += ["--" + name.replace("_", "-"), str(getattr(args, name))]
    return flags


def mnist_images(data_dir):
    from gan_mnist.core import data

    images, _ = data.load_split(data_dir, "train")
    return images


def config_of(args):
    """The Config of the benchmark's recipe with its --batch-size, --hidden and --precision."""
    from gan_mnist.training.config import resolve

    values = {"recipe": args.recipe} if args.recipe else {"arch": args.arch}
    values["seed"] = 0
    if args.batch_size:
        values["batch_size"] = args.batch_size
    if args.hidden:
        values["hidden"] = args.hidden
    if args.precision:
        values["precision"] = args.precision
    return resolve(values)


def _groups(config, n):
    """Each training digit's group for a --clusters or --conditional recipe (None otherwise):
    drawn at random, a timing stand-in for its k-means cluster or class (a step costs the same
    whichever group a digit is in; train_py runs the real k-means, untimed)."""
    import numpy as np

    from gan_mnist.techniques import conditioning

    width = conditioning.of(config).width
    return np.random.RandomState(0).randint(0, width, n) if width else None


def timed(step_fn, steps):
    for _ in range(WARMUP_STEPS):
        step_fn()
    start = time.perf_counter()
    for _ in range(steps):
        step_fn()
    return steps / (time.perf_counter() - start)


def is_classic(config):
    """Whether ``config`` is exactly the GAN of gan_mnist/classic.py (the default `fc`)."""
    from gan_mnist import classic
    from gan_mnist.training.config import resolve

    return config == resolve({"seed": config.seed, "batch_size": config.batch_size}) and \
        config.batch_size == classic.BATCH


def build_feed_dict_graph(config):
    """The tutorials' graph: placeholders for real images and noise, one Adam per network, each
    step a separate ``session.run``.

    For the default `fc` it is gan_mnist/classic.py's graph itself. For the other recipes it is
    built by our own model, loss and train-op functions, so it computes what our fused step
    computes; only the data path and the number of session.run calls differ.
    """
    from gan_mnist.core import gan
    from gan_mnist.techniques import conditioning
    from gan_mnist.tf_compat import tf

    width = conditioning.of(config).width
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config.seed)
        if is_classic(config):
            from gan_mnist import classic

            seeds = classic.build()
            return FeedDictGraph(graph, seeds["real"], seeds["z"], None, seeds["d_train"],
                                 seeds["g_train"], tf.global_variables_initializer())
        real = tf.placeholder(tf.float32, [None, 784], name="real")
        z = tf.placeholder(tf.float32, [None, config.z_dim], name="z")
        rows = tf.placeholder(tf.float32, [None, width], name="rows") if width else None
        model_spec = config.model_spec()
        model = gan.build_gan(real, z, model_spec, conditioning.of(config), labels=rows)
        ops = gan.build_train_ops(model, model_spec, config.train_spec(),
                                  tf.train.get_or_create_global_step(), extra_phases=(gan.Phase.G,))
        init = tf.global_variables_initializer()
    return FeedDictGraph(graph, real, z, rows, ops.steps[gan.Phase.D], ops.steps[gan.Phase.G],
                         init)


def run_feed_dict(args):
    """The loop of the seed tutorials: NumPy batches, two session.run calls per step."""
    import numpy as np

    from gan_mnist.core.gan import pixel_range
    from gan_mnist.tf_compat import tf

    config = config_of(args)
    low, high = pixel_range(config.arch)
    train = (mnist_images(args.data_dir).reshape(-1, 784) / np.float32(255 / (high - low))
             + np.float32(low))
    fd = build_feed_dict_graph(config)
    session = tf.Session(graph=fd.graph)
    session.run(fd.init)
    real, z, rows, d_step, g_step = fd.real, fd.z, fd.rows, fd.d_step, fd.g_step
    groups = _groups(config, len(train))
    eye = None if groups is None else np.eye(int(rows.shape[1]), dtype=np.float32)
    rng = np.random.RandomState(0)
    state = {"order": rng.permutation(len(train)), "at": 0}

    def next_batch():  # mnist.train.next_batch: shuffled epochs, a copy per batch
        if state["at"] + config.batch_size > len(train):
            state["order"], state["at"] = rng.permutation(len(train)), 0
        index = state["order"][state["at"]:state["at"] + config.batch_size]
        state["at"] += config.batch_size
        return index

    def step():
        index = next_batch()
        feed = {real: train[index], z: rng.uniform(-1, 1, (config.batch_size, config.z_dim))
                .astype(np.float32)}
        if rows is not None:  # the batch's groups; G is asked for the same ones
            feed[rows] = eye[groups[index]]
        session.run(d_step, feed)
        session.run(g_step, {k: v for k, v in feed.items() if k is not real})

    return timed(step, args.steps)


def fused_session(args, tuned_threads=True, precision=None):
    """(session, the fused step op) of the benchmark's recipe, its digits in the graph;
    ``precision``: another --precision than the recipe's."""
    from gan_mnist.core.architectures import ARCHITECTURES
    from gan_mnist.core.gan import Phase
    from gan_mnist.tf_compat import session_config
    from gan_mnist.training import graph as training_graph

    config = config_of(args)
    if precision:
        config = dataclasses.replace(config, precision=precision)
    images = mnist_images(args.data_dir)
    tg = training_graph.build_training_graph(config, len(images))
    session = training_graph.start_session(
        tg, images, session_config(ARCHITECTURES[config.arch].intra_op_threads)
        if tuned_threads else None,
        train_labels=_groups(config, len(images)))
    return session, tg.ops.steps[Phase.TRAIN]


def run_fused(args, tuned_threads=True, precision=None):
    session, step = fused_session(args, tuned_threads, precision)
    return timed(lambda: session.run(step), args.steps)


def run_train_py(args):
    """The real train command (what scripts/train.py and gan-mnist train run) in a subprocess;
    its own 'done: step N (X steps/s)' line is the result."""
    with tempfile.TemporaryDirectory() as tmp:
        # D pre-training off: every variant times adversarial (D then G) steps.
        command = [sys.executable, "-P", "-m", "gan_mnist.cli", "train",
                   "--steps", str(args.steps), "--eval-every", "0", "--d-pretrain-steps", "0",
                   ] + run_flags(args) + ["--checkpoint-dir", os.path.join(tmp, "c"),
                                          "--output-dir", os.path.join(tmp, "o")]
        result = subprocess.run(command, capture_output=True, text=True, env=child_env())
    match = re.search(r"done: step \d+ \(([\d.]+) steps/s\)", result.stdout)
    if result.returncode != 0 or not match:
        raise RuntimeError("the train command failed: %s"
                           % (result.stderr.strip().splitlines()[-1:] or ["no output"])[0])
    return float(match.group(1))


WORKERS = {"feed_dict": run_feed_dict, "fused": run_fused,
           "fused_tf_threads": lambda args: run_fused(args, tuned_threads=False),
           "fused_float32": lambda args: run_fused(args, precision="float32"),
           "train_py": run_train_py,
           "keras": lambda args: keras_rewrite.run(args, mnist_images, timed),
           "torch": lambda args: torch_rewrite.run(args, mnist_images, timed)}


def worker_main(args):
    """Measure ``args.variant`` (or trace it, --profile) and print the result as one JSON line."""
    if args.profile:
        traced = profile.run(args, fused_session, WARMUP_STEPS)
        print(json.dumps({"variant": args.variant, "profile": traced}))
        return 0
    rate = WORKERS[args.variant](args)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if args.variant == "train_py":
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    print(json.dumps({"variant": args.variant, "steps_per_s": rate, "peak_mb": peak_mb}))
    return 0

