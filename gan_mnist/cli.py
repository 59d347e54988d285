"""Command-line front ends of scripts/train.py and scripts/sample.py.

Flags are parsed and checked before TensorFlow is imported, so a typo is answered at once.
Every user-facing failure ends as one line on stderr and a non-zero exit status.
"""
import argparse
import os
import sys

from gan_mnist import GanError, check_writable
from gan_mnist import config as config_lib


_installed_command = None  # the subcommand, when run as the installed gan-mnist command


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag gets one line (not the whole usage) and exit status 2; every
    command takes --verbose."""

    def __init__(self, *args, **kwargs):
        if _installed_command:  # say "gan-mnist train: error ...", not "train.py: error ..."
            kwargs["prog"] = "gan-mnist " + _installed_command
        super().__init__(*args, **kwargs)
        self.add_argument("--verbose", action="store_true", default=False,
                          help="show all of TensorFlow's start-up messages (also: "
                          "GAN_MNIST_VERBOSE=1)")

    def error(self, message):
        self.exit(2, "%s: error: %s (see --help)\n" % (self.prog, message))

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        if parsed.verbose:  # read by gan_mnist.tf_compat when TensorFlow is imported
            os.environ["GAN_MNIST_VERBOSE"] = "1"
        del parsed.verbose
        return parsed


def _number(kind, minimum, inclusive=True, maximum=None):
    """An argparse type: a number of ``kind`` within bounds, with a message that says which."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError("expected %s, got %r" % (
                "an integer" if kind is int else "a number", text))
        low_ok = value >= minimum if inclusive else value > minimum
        if not low_ok or (maximum is not None and value >= maximum) or value != value:
            bound = ("at least %s" if inclusive else "greater than %s") % minimum
            if maximum is not None:
                bound += " and less than %s" % maximum
            raise argparse.ArgumentTypeError("must be %s, got %s" % (bound, text))
        return value
    return parse


positive_int = _number(int, 1)
non_negative_int = _number(int, 0)
positive_float = _number(float, 0.0, inclusive=False)


def train_parser():
    p = _Parser(prog="train.py", description="Train a GAN on MNIST. Running it again with the "
                "same --checkpoint-dir resumes from the newest checkpoint.",
                argument_default=argparse.SUPPRESS)
    d = config_lib.Config()
    presets = config_lib.PRESETS["fc"]
    p.add_argument("--steps", type=positive_int,
                   help="train until the global step reaches N (default %d)" % d.steps)
    p.add_argument("--minutes", type=_number(float, 0.0, inclusive=False),
                   help="stop after M minutes of training, saving a checkpoint (a time budget "
                   "for this run; running again continues); default: no limit")
    p.add_argument("--arch", choices=sorted(config_lib.PRESETS),
                   help="model recipe (default %s)" % d.arch)
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"],
                   help="training data (default mnist)")
    p.add_argument("--batch-size", type=positive_int,
                   help="images per step (recipe's; fc: %d)" % presets["batch_size"])
    p.add_argument("--z-dim", type=positive_int,
                   help="noise size (recipe's; fc: %d)" % presets["z_dim"])
    p.add_argument("--hidden", type=positive_int,
                   help="hidden units of fc and mlp256 (fc: %d, mlp256: 256); channel width of "
                   "fast (64)" % presets["hidden"])
    p.add_argument("--lr-d", type=positive_float,
                   help="discriminator Adam learning rate (fc: %g)" % presets["lr_d"])
    p.add_argument("--lr-g", type=positive_float,
                   help="generator Adam learning rate (fc: %g)" % presets["lr_g"])
    p.add_argument("--beta1", type=_number(float, 0.0, maximum=1.0),
                   help="Adam beta1 (fc: %g)" % presets["beta1"])
    p.add_argument("--label-smoothing", type=_number(float, 0.0, maximum=1.0),
                   help="real labels become 1 - s (recipe's; fc: %g)" % presets["label_smoothing"])
    p.add_argument("--d-pretrain-steps", type=non_negative_int,
                   help="the first N steps train only the discriminator (recipe's; cnn: 300, "
                   "others 0)")
    p.add_argument("--sample-every", type=positive_int,
                   help="write the fixed-noise grid every N steps (default %d)" % d.sample_every)
    p.add_argument("--checkpoint-every", type=positive_int,
                   help="save every N steps, and always at the end and on Ctrl-C (default %d)"
                   % d.checkpoint_every)
    p.add_argument("--log-every", type=positive_int,
                   help="log losses and scores every N steps (default %d)" % d.log_every)
    p.add_argument("--eval-every", type=non_negative_int,
                   help="quick FID and Inception Score on 2,000 samples every N steps, keeping "
                   "the best-FID checkpoint as best.ckpt; 0 turns it off (default %d)"
                   % d.eval_every)
    p.add_argument("--classifier-dir", help="train (once) or use the evaluation classifier in "
                   "this folder instead of the one shipped with the package")
    p.add_argument("--data-dir", help="data folder (default: MNIST $MNIST_DATA_DIR or "
                   "MNIST_data/; Fashion-MNIST $FASHION_MNIST_DATA_DIR, "
                   "/usr/share/datasets/fashion-mnist or MNIST_data/fashion/)")
    p.add_argument("--checkpoint-dir", help="checkpoint folder (default %s/)" % d.checkpoint_dir)
    p.add_argument("--output-dir", help="samples and logs folder (default %s/)" % d.output_dir)
    p.add_argument("--seed", type=non_negative_int,
                   help="makes a run repeatable on CPU (default %d)" % d.seed)
    p.add_argument("--keep", type=positive_int,
                   help="how many of the newest checkpoints to keep (default %d)" % d.keep)
    p.add_argument("--on-nan", choices=["stop", "rollback"],
                   help="when a loss or weight becomes NaN/Inf: stop (default), or roll back to "
                   "the last good checkpoint with both learning rates halved")
    p.add_argument("--ema", type=_number(float, 0.0, maximum=1.0),
                   help="keep a moving average of G's weights with this decay (e.g. 0.999) and "
                   "draw every grid, sample, evaluation and export from it; 0 (default) is off")
    p.add_argument("--loss", choices=["ns", "hinge"],
                   help="ns: non-saturating (default), hinge: hinge loss (label smoothing unused)")
    p.add_argument("--conditional", action="store_true",
                   help="G and D see the class label, so sample.py --label can ask for a digit; "
                   "part of the model (a resume keeps it)")
    p.add_argument("--clusters", type=_number(int, 0, maximum=256),
                   help="self-conditioning: split the training digits into K groups by k-means "
                   "on their pixels (no labels) and condition G and D on the group; sampling "
                   "picks groups as often as they occur. Part of the model; 0 (default) is off")
    p.add_argument("--spectral-norm", action="store_true",
                   help="divide each of D's weight matrices by its largest singular value "
                   "(power iteration, one step per training step); kept on resume")
    p.add_argument("--r1", type=_number(float, 0.0),
                   help="R1 gradient penalty on real digits with this gamma (e.g. 1); 0 "
                   "(default) is off")
    p.add_argument("--r1-every", type=positive_int,
                   help="lazy R1: apply the penalty, scaled by K, on every K-th D step "
                   "(default %d)" % d.r1_every)
    p.add_argument("--fresh", action="store_true",
                   help="start over: move an existing checkpoint aside instead of resuming")
    return p


def train_main(argv=None):
    explicit = vars(train_parser().parse_args(argv))
    explicit.setdefault("checkpoint_dir", config_lib.Config.checkpoint_dir)
    return _run(lambda: _train(explicit))


def _train(explicit):
    saved = None if explicit.get("fresh") else config_lib.load_saved(explicit["checkpoint_dir"])
    config = config_lib.resolve(explicit, saved)
    from gan_mnist import trainer  # imports TensorFlow

    return trainer.train(config)


def sample_parser():
    p = _Parser(prog="sample.py", description="Generate digits from the newest checkpoint.")
    p.add_argument("--checkpoint-dir", default="checkpoints", help="default checkpoints/")
    p.add_argument("--n", type=positive_int, default=64, help="how many digits (default 64)")
    p.add_argument("--png", help="write a grid of the digits to this PNG "
                   "(default samples.png when --npy is not given)")
    p.add_argument("--npy", help="write the digits as uint8 (N, 28, 28), 0 = black, 255 = white")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="noise seed: the same seed gives the same digits (default 0)")
    p.add_argument("--label", action="append", metavar="L",
                   help="conditional models: the classes to draw, in turn (repeatable, or a list "
                   "like 0,3,7; Fashion-MNIST also takes names like sneaker); default all ten. "
                   "With --npy the labels go to NAME.labels.npy")
    return p


def sample_main(argv=None):
    parser = sample_parser()
    args = parser.parse_args(argv)
    if not args.png and not args.npy:
        args.png = "samples.png"
    if args.label:
        args.label = _classes(parser, args.label, args.checkpoint_dir)
    return _run(lambda: _sample(args))


def _classes(parser, specs, checkpoint_dir):
    """--label values as class numbers, checked against the model before TensorFlow starts."""
    from gan_mnist import data

    try:
        saved = config_lib.load_saved(checkpoint_dir) or {}
    except GanError:
        saved = {}  # the sampler says what is wrong with the folder
    if saved and not saved.get("conditional"):
        parser.error("--label needs a conditional model, and the one in %s is unconditional "
                     "(train one with --conditional)" % checkpoint_dir)
    names = data.CLASS_NAMES[saved.get("dataset", "mnist")]
    classes = []
    for spec in specs:
        for value in filter(None, (v.strip().lower() for v in spec.split(","))):
            if value.isdigit() and int(value) < len(names):
                classes.append(int(value))
            elif value in names:
                classes.append(names.index(value))
            else:
                parser.error("--label %s: the model knows the classes 0-%d%s" % (
                    value, len(names) - 1, "" if names[0] == "0" else " (" + ", ".join(names)
                    + ")"))
    return classes


def _sample(args):
    for path in (args.png, args.npy):  # before the work, not after it
        folder = os.path.dirname(os.path.abspath(path)) if path else None
        if folder and not os.path.isdir(folder):
            raise GanError("cannot write %s: the folder %s does not exist" % (path, folder))
    from gan_mnist import sampling  # imports TensorFlow

    digits, step, labels = sampling.generate(args.checkpoint_dir, args.n, args.seed, args.label)
    if args.png:
        # Classes in turn: one column per class, so each column shows one digit.
        classes = len(set(labels.tolist())) if labels is not None else 0
        sampling.write_png(args.png, digits, classes if classes > 1 else None)
        print("wrote %d digits from step %d to %s" % (args.n, step, args.png))
    if args.npy:
        sampling.write_npy(args.npy, digits)
        print("wrote %d digits from step %d to %s" % (args.n, step, args.npy))
        if labels is not None:
            sampling.write_npy(sampling.labels_path(args.npy), labels.astype("uint8"))
            print("wrote their labels to %s" % sampling.labels_path(args.npy))
    return 0


def evaluate_parser():
    p = _Parser(prog="evaluate.py", description="Measure generated digits: Inception Score, FID, "
                "mode coverage, precision/recall and memorisation, beside real digits.")
    p.add_argument("--checkpoint-dir", default="checkpoints",
                   help="evaluate the newest checkpoint here (default checkpoints/)")
    p.add_argument("--samples", help="evaluate the digits in this .npy file instead (uint8, "
                   "(N, 28, 28), as written by sample.py --npy)")
    p.add_argument("--n", type=_number(int, 10, maximum=60001), default=10000,
                   help="how many digits to generate, 10 to 60000 (default 10000)")
    p.add_argument("--output-dir", default="output",
                   help="where evaluation.json and the figures go (default output/)")
    p.add_argument("--classifier-dir", help="train (once) or use the classifier in this folder "
                   "instead of the one shipped with the package")
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"],
                   help="what the digits imitate (default: the checkpoint's, or mnist)")
    p.add_argument("--data-dir", help="data folder (default: the dataset's, as for train.py)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="noise seed (default 0)")
    return p


def evaluate_main(argv=None):
    return _run(lambda: _evaluate(evaluate_parser().parse_args(argv)))


def _evaluate(args):
    from gan_mnist import evaluate, figures, sampling  # imports TensorFlow

    labels = None
    if args.samples:
        digits, step, source = evaluate.load_samples(args.samples), None, args.samples
        dataset = args.dataset or "mnist"
        if os.path.exists(sampling.labels_path(args.samples)):  # written by sample.py --npy
            labels = evaluate.load_labels(sampling.labels_path(args.samples), len(digits))
    else:
        generator = sampling.Generator(args.checkpoint_dir)
        if generator.config.conditional:  # class-balanced: every class equally often
            labels = sampling.labels_in_turn(args.n)
        digits, step = generator(generator.noise(args.n, args.seed), labels), generator.step
        source, dataset = args.checkpoint_dir, args.dataset or generator.config.dataset
    check_writable(args.output_dir, "output")
    evaluator = evaluate.Evaluator(args.classifier_dir, args.data_dir, dataset)
    report, (fake_distance, fake_nearest), (real_distance, _) = evaluator.full(
        digits, args.seed, labels)
    report.update(step=step, source=source, dataset=dataset)
    train_images = evaluator.train_images
    paths = [evaluate.write_report(report, args.output_dir),
             figures.nearest_neighbours(args.output_dir, digits, train_images,
                                        nearest=fake_nearest),
             figures.closest_pairs(args.output_dir, digits, train_images, fake_distance,
                                   fake_nearest),
             figures.memorisation(args.output_dir, fake_distance, real_distance)]
    print(evaluate.format_table(report))
    print("wrote " + ", ".join(paths))
    return 0


def plot_parser():
    p = _Parser(prog="plot.py", description="Regenerate the figures of a run from its logs and "
                "newest checkpoint.")
    p.add_argument("--output-dir", default="output", help="the run's output folder (default "
                   "output/); the figures are written there")
    p.add_argument("--checkpoint-dir", default="checkpoints", help="default checkpoints/")
    p.add_argument("--data-dir", help="data folder (default: the run's dataset's, as for "
                   "train.py)")
    p.add_argument("--compare", nargs="+", metavar="[LABEL=]OUTPUT_DIR",
                   help="instead: draw the quick FID of these runs' log.csv against minutes of "
                   "training into one figure (--out)")
    p.add_argument("--out", default="fid_vs_minutes.png",
                   help="the figure --compare writes (default fid_vs_minutes.png)")
    return p


def plot_main(argv=None):
    return _run(lambda: _plot(plot_parser().parse_args(argv)))


def _run_label(spec):
    """``LABEL=DIR`` or just ``DIR`` (labelled by its folder, or the one above an output/)."""
    label, sep, folder = spec.partition("=")
    if not sep:
        folder = spec
        name = os.path.basename(os.path.normpath(folder))
        label = name if name != "output" else os.path.basename(
            os.path.dirname(os.path.abspath(folder)))
    return label, folder


def _plot(args):
    from gan_mnist import figures  # imports TensorFlow

    if args.compare:
        print("wrote %s" % figures.fid_against_minutes([_run_label(s) for s in args.compare],
                                                       args.out))
        return 0
    check_writable(args.output_dir, "output")
    for path in figures.make_all(args.output_dir, args.checkpoint_dir, args.data_dir):
        print("wrote %s" % path)
    return 0


def export_parser():
    p = _Parser(prog="export.py", description="Export the newest checkpoint's generator as a "
                "TensorFlow SavedModel (signatures 'generate': z -> uint8 digits, and 'sample': "
                "seed, n -> digits) that loads without this package.")
    p.add_argument("--checkpoint-dir", default="checkpoints", help="default checkpoints/")
    p.add_argument("--out", required=True, help="the SavedModel folder to create (must not "
                   "exist yet)")
    p.add_argument("--tflite", action="store_true",
                   help="also write generator.tflite (the 'generate' signature) into it")
    return p


def export_main(argv=None):
    return _run(lambda: _export(export_parser().parse_args(argv)))


def _export(args):
    from gan_mnist import export  # imports TensorFlow

    step, files = export.export(args.checkpoint_dir, args.out, args.tflite)
    print("exported the generator of step %d: %s" % (step, ", ".join(files)))
    return 0


def classifier_parser():
    p = _Parser(prog="classifier.py", description="Train the evaluation classifier and write the "
                "file shipped with the package (gan_mnist/assets/classifier-DATASET.npz, float16, "
                "with its SHA-256 in SHA256SUMS).")
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist",
                   help="default mnist")
    p.add_argument("--data-dir", help="data folder (default: the dataset's, as for train.py)")
    p.add_argument("--classifier-dir", help="ship the classifier already trained in this folder "
                   "(default: train a new one, about two minutes)")
    p.add_argument("--assets-dir", help="where to write it (default: the package's "
                   "gan_mnist/assets/, which evaluation reads)")
    return p


def classifier_main(argv=None):
    return _run(lambda: _classifier(classifier_parser().parse_args(argv)))


def _classifier(args):
    import tempfile

    from gan_mnist import classifier  # imports TensorFlow

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.classifier_dir or scratch
        classifier.load_or_train(folder, args.data_dir, args.dataset)
        classifier.ship(folder, args.data_dir, args.dataset,
                        assets=args.assets_dir or classifier.ASSETS)
    return 0


def sweep_parser():
    p = _Parser(prog="sweep.py", description="Train and evaluate every combination of --set "
                "values for each of --seeds, as Ray tasks (a local Ray unless --address is "
                "given). Running the same command again skips finished trials and resumes the "
                "others from their checkpoints.")
    p.add_argument("--out", required=True, help="the sweep's folder: one folder per trial, "
                   "results.csv, results.md, fid.png (on a cluster: a path every node sees)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2",
                   help="a train.py flag and the values to try (repeatable); on/off for "
                   "switches such as spectral-norm=on,off")
    p.add_argument("--seeds", type=_seed_list, default=[0],
                   help="comma-separated seeds, each setting runs once per seed (default 0)")
    p.add_argument("--minutes", type=positive_float,
                   help="training time per trial (a trial resumed after a crash gets what is left)")
    p.add_argument("--steps", type=positive_int, help="training steps per trial")
    p.add_argument("--eval-n", type=_number(int, 10, maximum=60001), default=10000,
                   help="samples for each trial's evaluate.py (default 10000)")
    p.add_argument("--cpus-per-trial", type=positive_int, default=1,
                   help="CPUs Ray reserves for each trial, and the threads its TensorFlow uses "
                   "(default 1)")
    p.add_argument("--address", help="an existing Ray cluster: auto, or ray://HOST:10001 "
                   "(default: start a local Ray on this machine)")
    p.add_argument("--report", action="store_true",
                   help="only rewrite results.csv/md and fid.png from the trial folders")
    return p


def _seed_list(text):
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected seeds like 0,1,2, got %r" % text)
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError("expected distinct seeds >= 0 like 0,1,2, got %r" % text)
    return seeds


def sweep_main(argv=None):
    return _run(lambda: _sweep(sweep_parser().parse_args(argv)))


def _sweep(args):
    from gan_mnist import sweep, sweep_report

    if args.report:
        paths = sweep_report.write(args.out)
        print("results: %s" % ", ".join(paths))
        return 0
    if not args.minutes and not args.steps:
        raise GanError("say how long each trial trains: --minutes M or --steps N")
    budget = {k: v for k, v in (("minutes", args.minutes), ("steps", args.steps)) if v}
    sets = sweep.parse_sets(args.set, sweep.train_flags())
    check_writable(args.out, "sweep")
    return sweep.run(args.out, sets, args.seeds, budget, args.address, args.cpus_per_trial,
                     args.eval_n)


def _version():
    from gan_mnist import __version__

    return "gan-mnist %s" % __version__


def main(argv=None):
    """``gan-mnist COMMAND [flags]``: the installed command, the scripts' flags unchanged."""
    def benchmark_main(argv):
        from gan_mnist import benchmark

        return benchmark.main(argv)

    commands = {"train": train_main, "sample": sample_main, "evaluate": evaluate_main,
                "plot": plot_main, "benchmark": benchmark_main, "export": export_main,
                "classifier": classifier_main, "sweep": sweep_main}
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--version"]:
        print(_version())
        return 0
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: gan-mnist {%s} [flags]   (gan-mnist COMMAND --help for its flags)\n"
              "       gan-mnist --version" % ",".join(commands))
        return 0 if argv else 2
    if argv[0] not in commands:
        print("gan-mnist: error: unknown command %r; choose one of: %s"
              % (argv[0], ", ".join(commands)), file=sys.stderr)
        return 2
    global _installed_command
    _installed_command = argv[0]
    return commands[argv[0]](argv[1:])


def _run(action):
    """Run ``action``; turn a GanError or an OS error into one line on stderr and exit 1."""
    try:
        return action()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except GanError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    except OSError as e:
        print("error: %s%s" % (e.strerror or e, ": %s" % e.filename if e.filename else ""),
              file=sys.stderr)
        return 1
