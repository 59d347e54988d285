"""Training-speed benchmark: the tutorials' feed_dict loop vs our step vs Keras and PyTorch.
``gan-mnist benchmark`` and ``python scripts/benchmark.py`` run it.

Its Keras and PyTorch rewrites (keras_rewrite.py, torch_rewrite.py) are yardsticks, not part of
what trains; PyTorch (and Keras, which TensorFlow brings) come with the benchmark extra,
``pip install gan_mnist[benchmark]``.

Each measurement runs in its own Python process (workers.py: the Keras variant needs TF2's eager
mode, the others TF1 graph mode, and a process cannot have both), on the same model, batch size
and digits. Variants are run alternately, round after round, because these shared machines drift
by tens of percent from minute to minute; the report gives medians of per-round ratios to the
feed_dict loop.
"""
import argparse
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

from gan_mnist.errors import GanError
from gan_mnist.benchmarks import keras_rewrite, profile, torch_rewrite, workers
from gan_mnist.benchmarks.workers import WARMUP_STEPS, config_of, run_flags
from gan_mnist.training.checks import positive_int
from gan_mnist.commands.common import Parser, run
from gan_mnist.core.precision import CHOICES as PRECISIONS
from gan_mnist.core.architectures import ARCHITECTURES
from gan_mnist.training.recipes import RECIPES, recipe_values

VARIANTS = {
    "feed_dict": "the tutorials' loop: NumPy batches and noise through feed_dict, two session.run "
                 "calls per step (D, then G); for the default fc, gan_mnist/classic.py's graph",
    "fused": "our training step alone: in-graph data and noise, D then G in one session.run",
    "fused_tf_threads": "the same step with TensorFlow's default thread settings",
    "fused_float32": "the same step with --precision float32 (for a recipe whose convolutions "
                     "compute in bfloat16 on this CPU: --recipe best with --precision auto)",
    "train_py": "the real train command (scripts/train.py, gan-mnist train) end to end "
                "(grids, checkpoints, logs at their defaults; quick evaluation and D "
                "pre-training off), its own steps/s",
    "keras": "the same model in Keras with a tf.function step (TF2 eager), data in-graph "
             "(fc, mlp256, dcgan, fast and the recipes on it)",
    "torch": "the same model in plain PyTorch (its DCGAN tutorial's loop), data as a tensor "
             "(fc, mlp256, fast and the recipes on it; the benchmark extra)",
}
KERAS_ARCHS = keras_rewrite.ARCHS
TORCH_ARCHS = torch_rewrite.ARCHS
# The variants that import a library training does not need: variant -> (module, the oldest
# major version the rewrite is written for, its name). The benchmark extra installs them.
EXTRA_LIBRARIES = {"keras": ("keras", 3, "Keras 3"), "torch": ("torch", 2, "PyTorch")}
EXTRA = ("pip install 'gan_mnist[benchmark]' (in a checkout: pip install -r "
         "requirements-benchmark.txt)")


def missing_library(variant):
    """The name of the library ``variant`` needs and this Python lacks (or has too old a major
    version of), else None. Asks the installed files, not the library (importing it takes
    seconds)."""
    import importlib.metadata

    if variant not in EXTRA_LIBRARIES:
        return None
    module, major, name = EXTRA_LIBRARIES[variant]
    if importlib.util.find_spec(module) is None:
        return name
    try:
        version = importlib.metadata.version(module)
    except importlib.metadata.PackageNotFoundError:  # another distribution provides it
        return None
    leading = re.match(r"\d+", version)
    return name if leading and int(leading.group()) < major else None


def cpu_model():
    """The processor, as lscpu names it (platform's guess where there is no lscpu)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return re.search(r"Model name:\s*(.+)", out).group(1).strip()
    except (OSError, AttributeError):
        return platform.processor() or "unknown"


# ---------------------------------------------------------------- the orchestrator


# ---------------------------------------------------------------- the orchestrator

def measure(variant, args):
    """One measurement of ``variant`` in a process of its own (workers.worker_main), run from
    the user's folder, so a relative --data-dir means what it means here; its JSON line."""
    command = [sys.executable, "-P", "-m", __name__, "--worker", variant, "--steps",
               str(args.steps)] + run_flags(args) + (["--profile"] if args.profile else [])
    result = subprocess.run(command, capture_output=True, text=True, env=workers.child_env())
    if result.returncode != 0:  # the worker's own one line (a GanError's) or a traceback's last
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise GanError("variant %s failed: %s" % (variant, re.sub(r"^error: ", "", tail)))
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

def parser(prog="benchmark.py"):
    p = Parser(prog=prog, description="Time training variants of the same model "
                "alternately in one run; report steps/s, images/s, the ratio to the tutorials' "
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
    p.add_argument("--arch", default="fc", choices=sorted(ARCHITECTURES),
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


def main(argv=None, prog="benchmark.py"):
    p = parser(prog)
    args = p.parse_args(argv)
    if args.recipe:
        args.arch = recipe_values(args.recipe)["arch"]
    args.batch_size = args.batch_size or RECIPES[args.arch]["batch_size"]
    if args.variant:
        return run(lambda: workers.worker_main(args))
    if args.profile:
        return run(lambda: print_profile(args))
    if args.variants is None:
        variants = [v for v in VARIANTS if (v != "keras" or args.arch in KERAS_ARCHS) and (
            v != "torch" or args.arch in TORCH_ARCHS) and not missing_library(v) and (
            v != "fused_float32" or config_of(args).precision != "float32")]
    else:
        variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    refusal = refused(variants, args.arch)
    if refusal:
        print("%s: error: %s" % (p.prog, refusal), file=sys.stderr)
        return 2
    typed = "python scripts/benchmark.py" if p.prog == "benchmark.py" else p.prog
    return run(lambda: report(args, variants, " ".join(
        [typed] + list(sys.argv[1:] if argv is None else argv))))


def print_profile(args):
    by_type = measure("fused", args)["profile"]
    print(json.dumps(by_type, indent=2) if args.json else profile.format_profile(by_type))
    return 0


def report(args, variants, command):
    """Time ``variants`` alternately, round after round, and print the table (or the JSON
    record, which says the ``command`` that made it)."""
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
        from gan_mnist.core.precision import convolution_dtype

        precision = config_of(args).precision  # our variants' convolutions (keras, torch: float32)
        print(json.dumps({"command": command,
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


def refused(variants, arch):
    """Why these variants cannot run on ``arch`` here, in one sentence; None when they can."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        return "unknown variant(s) %s; choose from %s" % (", ".join(unknown) or "(none)",
                                                         ", ".join(VARIANTS))
    for variant, archs in (("keras", KERAS_ARCHS), ("torch", TORCH_ARCHS)):
        if variant in variants and arch not in archs:
            return "the %s variant is written for %s, not %s" % (variant, ", ".join(archs), arch)
    for variant in variants:
        if missing_library(variant):
            return "the %s variant needs %s, which is not installed: %s" % (
                variant, missing_library(variant), EXTRA)
    return None


if __name__ == "__main__":
    sys.exit(main())
