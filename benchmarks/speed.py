"""Training-speed benchmark: the seeds' feed_dict loop vs our training step vs Keras and PyTorch.

It lives beside the package, not in it: its Keras and PyTorch rewrites
(benchmarks/keras_rewrite.py, benchmarks/torch_rewrite.py) are yardsticks, not part of the
product. Run it as ``python scripts/benchmark.py``.

Each measurement runs in its own Python process (the Keras variant needs TF2's eager mode, the
others TF1 graph mode, and a process cannot have both), on the same model, batch size and digits.
Variants are run alternately, round after round, because these shared machines drift by tens of
percent from minute to minute; the report gives medians of per-round ratios to the feed_dict loop.
"""
import argparse
import collections
import dataclasses
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks import keras_rewrite, profile, torch_rewrite
from gan_mnist.training.checks import positive_int
from gan_mnist.commands.common import Parser
from gan_mnist.core.precision import CHOICES as PRECISIONS
from gan_mnist.training.recipes import PRESETS, RECIPES, recipe_values


WARMUP_STEPS = 100
FeedDictGraph = collections.namedtuple("FeedDictGraph", "graph real z rows d_step g_step init")
VARIANTS = {
    "feed_dict": "the seeds' loop: NumPy batches and noise through feed_dict, two session.run "
                 "calls per step (D, then G); for the default fc, gan_mnist/classic.py's graph",
    "fused": "our training step alone: in-graph data and noise, D then G in one session.run",
    "fused_tf_threads": "the same step with TensorFlow's default thread settings",
    "fused_float32": "the same step with --precision float32 (for a recipe whose convolutions "
                     "compute in bfloat16 on this CPU: --recipe best with --precision auto)",
    "train_py": "the real scripts/train.py end to end (grids, checkpoints, logs at their "
                "defaults; quick evaluation and D pre-training off), its own steps/s",
    "keras": "the same model in Keras with a tf.function step (TF2 eager), data in-graph "
             "(fc, mlp256, dcgan)",
    "torch": "the same model in plain PyTorch (its DCGAN tutorial's loop), data as a tensor "
             "(fc, mlp256, fast and the recipes on it; pip install -r "
             "requirements-benchmark.txt)",
}
KERAS_ARCHS = keras_rewrite.ARCHS
TORCH_ARCHS = torch_rewrite.ARCHS


def torch_installed():
    import importlib.util

    return importlib.util.find_spec("torch") is not None


# ---------------------------------------------------------------- the workers (one per process)

def _mnist_images(data_dir):
    from gan_mnist.core import data

    images, _ = data.load_split(data_dir, "train")
    return images


def _config(args):
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


def _timed(step_fn, steps):
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
    """The seeds' graph: placeholders for real images and noise, one Adam per network, each
    step a separate ``session.run``.

    For the default `fc` it is gan_mnist/classic.py's graph itself. For the other recipes it is
    built by our own model, loss and train-op functions, so it computes what our fused step
    computes; only the data path and the number of session.run calls differ.
    """
    from gan_mnist.core import models
    from gan_mnist.tf_compat import tf
    from gan_mnist.core.train_ops import Phase, build_train_ops

    from gan_mnist.techniques import conditioning

    width = conditioning.of(config).width
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config.seed)
        if is_classic(config):
            from gan_mnist import classic

            gan = classic.build()
            return FeedDictGraph(graph, gan["real"], gan["z"], None, gan["d_train"],
                                 gan["g_train"], tf.global_variables_initializer())
        real = tf.placeholder(tf.float32, [None, 784], name="real")
        z = tf.placeholder(tf.float32, [None, config.z_dim], name="z")
        rows = tf.placeholder(tf.float32, [None, width], name="rows") if width else None
        model = models.build_gan(real, z, config, conditioning.of(config), labels=rows)
        ops = build_train_ops(model, config, tf.train.get_or_create_global_step(),
                              extra_phases=(Phase.G,))
        init = tf.global_variables_initializer()
    return FeedDictGraph(graph, real, z, rows, ops.steps[Phase.D], ops.steps[Phase.G], init)


def run_feed_dict(args):
    """The loop of the seed tutorials: NumPy batches, two session.run calls per step."""
    import numpy as np

    from gan_mnist.tf_compat import tf

    from gan_mnist.core.models import pixel_range

    config = _config(args)
    low, high = pixel_range(config)
    train = (_mnist_images(args.data_dir).reshape(-1, 784) / np.float32(255 / (high - low))
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

    return _timed(step, args.steps)


def fused_session(args, tuned_threads=True, precision=None):
    """(session, the fused step op) of the benchmark's recipe, its digits in the graph;
    ``precision``: another --precision than the recipe's."""
    from gan_mnist.training import trainer
    from gan_mnist.core.train_ops import Phase

    config = _config(args)
    if precision:
        config = dataclasses.replace(config, precision=precision)
    images = _mnist_images(args.data_dir)
    tg = trainer.build_training_graph(config, len(images))
    session = trainer.start_session(tg, images,
                                    trainer.session_config(config) if tuned_threads else None,
                                    train_labels=_groups(config, len(images)))
    return session, tg.ops.steps[Phase.TRAIN]


def run_fused(args, tuned_threads=True, precision=None):
    session, step = fused_session(args, tuned_threads, precision)
    return _timed(lambda: session.run(step), args.steps)


def run_train_py(args):
    """The real script in a subprocess; its own 'done: step N (X steps/s)' line is the result."""
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "scripts", "train.py")
    with tempfile.TemporaryDirectory() as tmp:
        # D pre-training off: every variant times adversarial (D then G) steps.
        command = [sys.executable, script, "--steps", str(args.steps), "--eval-every", "0",
                   "--d-pretrain-steps", "0",
                   "--batch-size", str(args.batch_size)] + _recipe_flags(args) + [
                   "--checkpoint-dir", os.path.join(tmp, "c"), "--output-dir",
                   os.path.join(tmp, "o")]
        if args.hidden:
            command += ["--hidden", str(args.hidden)]
        if args.precision:
            command += ["--precision", args.precision]
        if args.data_dir:
            command += ["--data-dir", args.data_dir]
        result = subprocess.run(command, capture_output=True, text=True)
    match = re.search(r"done: step \d+ \(([\d.]+) steps/s\)", result.stdout)
    if result.returncode != 0 or not match:
        raise RuntimeError("train.py failed: %s" % result.stderr.strip().splitlines()[-1:])
    return float(match.group(1))


WORKERS = {"feed_dict": run_feed_dict, "fused": run_fused,
           "fused_tf_threads": lambda args: run_fused(args, tuned_threads=False),
           "fused_float32": lambda args: run_fused(args, precision="float32"),
           "train_py": run_train_py,
           "keras": lambda args: keras_rewrite.run(args, _mnist_images, _timed),
           "torch": lambda args: torch_rewrite.run(args, _mnist_images, _timed)}


def worker_main(args):
    if args.profile:
        print(json.dumps({"variant": args.variant, "profile": profile.run(args, fused_session)}))
        return 0
    rate = WORKERS[args.variant](args)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if args.variant == "train_py":
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    print(json.dumps({"variant": args.variant, "steps_per_s": rate, "peak_mb": peak_mb}))
    return 0


# ---------------------------------------------------------------- the orchestrator

def _recipe_flags(args):
    return ["--recipe", args.recipe] if args.recipe else ["--arch", args.arch]


def measure(variant, args):
    command = [sys.executable, "-m", "benchmarks.speed", "--worker", variant,
               "--steps", str(args.steps), "--batch-size", str(args.batch_size)
               ] + _recipe_flags(args) + (["--profile"] if args.profile else [])
    if args.hidden:
        command += ["--hidden", str(args.hidden)]
    if args.precision:
        command += ["--precision", args.precision]
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


# ---------------------------------------------------------------- the command

def parser():
    p = Parser(prog="benchmark.py", description="Time training variants of the same model "
                "alternately in one run; report steps/s, images/s, the ratio to the seeds' "
                "feed_dict loop and peak memory.")
    p.add_argument("--variants", help="comma-separated, from: %s (default: all that fit the "
                   "recipe; keras only for %s; torch only for %s, when PyTorch is installed)"
                   % (", ".join(VARIANTS), ", ".join(KERAS_ARCHS), ", ".join(TORCH_ARCHS)))
    p.add_argument("--rounds", type=positive_int, default=3,
                   help="alternating rounds; medians are reported (default 3)")
    p.add_argument("--steps", type=positive_int, default=2000,
                   help="timed steps per measurement, after %d warm-up steps (default 2000)"
                   % WARMUP_STEPS)
    p.add_argument("--batch-size", type=positive_int,
                   help="default: the recipe's (fc: 128)")
    p.add_argument("--hidden", type=positive_int, help="hidden units (default: the recipe's)")
    p.add_argument("--arch", default="fc", choices=sorted(PRESETS),
                   help="a seed recipe's network (default fc)")
    p.add_argument("--recipe", choices=sorted(RECIPES),
                   help="a whole recipe instead, e.g. best: its network and every technique it "
                   "switches on (clusters, spectral norm, EMA)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="what our variants' convolutions compute in (default: the recipe's; "
                   "best: auto, bfloat16 where the CPU has bfloat16 instructions)")
    p.add_argument("--data-dir", help="MNIST folder (default $MNIST_DATA_DIR or MNIST_data/)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--profile", action="store_true",
                   help="instead of timing variants: trace %d fused steps after the warm-up "
                   "and print the time per step by kind of op and op type (TensorFlow's "
                   "FULL_TRACE)" % profile.TRACED_STEPS)
    p.add_argument("--worker", choices=sorted(VARIANTS), dest="variant",
                   help=argparse.SUPPRESS)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if args.recipe:
        args.arch = recipe_values(args.recipe)["arch"]
    args.batch_size = args.batch_size or PRESETS[args.arch]["batch_size"]
    if args.variant:
        return worker_main(args)
    if args.profile:
        by_type = measure("fused", args)["profile"]
        print(json.dumps(by_type, indent=2) if args.json else profile.format_profile(by_type))
        return 0
    if args.variants is None:
        variants = [v for v in VARIANTS if (v != "keras" or args.arch in KERAS_ARCHS) and (
            v != "torch" or (args.arch in TORCH_ARCHS and torch_installed())) and (
            v != "fused_float32" or _config(args).precision != "float32")]
    else:
        variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        print("benchmark.py: error: unknown variant(s) %s; choose from %s"
              % (", ".join(unknown) or "(none)", ", ".join(VARIANTS)), file=sys.stderr)
        return 2
    if "keras" in variants and args.arch not in KERAS_ARCHS:
        print("benchmark.py: error: the keras variant is written for %s, not %s"
              % (", ".join(KERAS_ARCHS), args.arch), file=sys.stderr)
        return 2
    if "torch" in variants and args.arch not in TORCH_ARCHS:
        print("benchmark.py: error: the torch variant is written for %s, not %s"
              % (", ".join(TORCH_ARCHS), args.arch), file=sys.stderr)
        return 2
    if "torch" in variants and not torch_installed():
        print("benchmark.py: error: the torch variant needs PyTorch: pip install -r "
              "requirements-benchmark.txt", file=sys.stderr)
        return 2
    rounds = []
    for i in range(args.rounds):
        results = {}
        for variant in variants:
            results[variant] = measure(variant, args)
            print("round %d/%d  %-16s %7.0f steps/s" % (i + 1, args.rounds, variant,
                                                       results[variant]["steps_per_s"]),
                  file=sys.stderr)
        rounds.append(results)
    summary = summarise(rounds, variants, args.batch_size)
    if args.json:
        import platform

        from benchmarks.quick_start import cpu_model
        from gan_mnist.core.precision import convolution_dtype

        precision = _config(args).precision  # our variants' convolutions (keras, torch: float32)
        print(json.dumps({"command": "python scripts/benchmark.py " + " ".join(
                              sys.argv[1:] if argv is None else argv),
                          "date": time.strftime("%Y-%m-%d"), "machine": platform.node(),
                          "lscpu_model_name": cpu_model(),
                          "batch_size": args.batch_size, "arch": args.arch,
                          "recipe": args.recipe or args.arch, "steps": args.steps,
                          "rounds": args.rounds, "cpu_count": os.cpu_count(),
                          "precision": precision,
                          "convolutions": convolution_dtype(precision).name,
                          "variants": summary}, indent=2))
    else:
        print(format_table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
