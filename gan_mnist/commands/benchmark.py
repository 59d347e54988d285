"""``benchmark.py`` / ``gan-mnist benchmark``: training speed of our step against the seeds'
feed_dict loop and Keras (gan_mnist.benchmark)."""
import argparse
import json
import os
import sys

from gan_mnist import benchmark
from gan_mnist.checks import positive_int
from gan_mnist.commands.common import Parser
from gan_mnist.recipes import PRESETS


def parser():
    p = Parser(prog="benchmark.py", description="Time training variants of the same model "
                "alternately in one run; report steps/s, images/s, the ratio to the seeds' "
                "feed_dict loop and peak memory.")
    p.add_argument("--variants", help="comma-separated, from: %s (default: all that fit the "
                   "recipe; keras only for %s)" % (", ".join(benchmark.VARIANTS), ", ".join(benchmark.KERAS_ARCHS)))
    p.add_argument("--rounds", type=positive_int, default=3,
                   help="alternating rounds; medians are reported (default 3)")
    p.add_argument("--steps", type=positive_int, default=2000,
                   help="timed steps per measurement, after %d warm-up steps (default 2000)"
                   % benchmark.WARMUP_STEPS)
    p.add_argument("--batch-size", type=positive_int,
                   help="default: the recipe's (fc: 128)")
    p.add_argument("--hidden", type=positive_int, help="hidden units (default: the recipe's)")
    p.add_argument("--arch", default="fc", choices=sorted(PRESETS), help="recipe (default fc)")
    p.add_argument("--data-dir", help="MNIST folder (default $MNIST_DATA_DIR or MNIST_data/)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--worker", choices=sorted(benchmark.VARIANTS), dest="variant",
                   help=argparse.SUPPRESS)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    args.batch_size = args.batch_size or PRESETS[args.arch]["batch_size"]
    if args.variant:
        return benchmark.worker_main(args)
    if args.variants is None:
        variants = [v for v in benchmark.VARIANTS if v != "keras" or args.arch in benchmark.KERAS_ARCHS]
    else:
        variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in benchmark.VARIANTS]
    if unknown or not variants:
        print("benchmark.py: error: unknown variant(s) %s; choose from %s"
              % (", ".join(unknown) or "(none)", ", ".join(benchmark.VARIANTS)), file=sys.stderr)
        return 2
    if "keras" in variants and args.arch not in benchmark.KERAS_ARCHS:
        print("benchmark.py: error: the keras variant is written for %s, not %s"
              % (", ".join(benchmark.KERAS_ARCHS), args.arch), file=sys.stderr)
        return 2
    rounds = []
    for i in range(args.rounds):
        results = {}
        for variant in variants:
            results[variant] = benchmark.measure(variant, args)
            print("round %d/%d  %-16s %7.0f steps/s" % (i + 1, args.rounds, variant,
                                                       results[variant]["steps_per_s"]),
                  file=sys.stderr)
        rounds.append(results)
    summary = benchmark.summarise(rounds, variants, args.batch_size)
    if args.json:
        print(json.dumps({"batch_size": args.batch_size, "arch": args.arch, "steps": args.steps,
                          "rounds": args.rounds, "cpu_count": os.cpu_count(),
                          "variants": summary}, indent=2))
    else:
        print(benchmark.format_table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
