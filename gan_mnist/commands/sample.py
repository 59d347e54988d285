"""``sample.py`` / ``gan-mnist sample``: digits from the newest checkpoint, as PNG or .npy."""
import os

from gan_mnist import GanError
from gan_mnist.training import config as config_lib
from gan_mnist.training.checks import non_negative_int, positive_int
from gan_mnist.commands.common import Parser, add_checkpoint_dir, run


def parser():
    p = Parser(prog="sample.py", description="Generate digits from the newest checkpoint.")
    add_checkpoint_dir(p, "sample the newest checkpoint here")
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


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    if not args.png and not args.npy:
        args.png = "samples.png"
    if args.label:
        args.label = _classes(p, args.label, args.checkpoint_dir)
    return run(lambda: _sample(args))


def _classes(parser, specs, checkpoint_dir):
    """--label values as class numbers, checked against the model before TensorFlow starts."""
    from gan_mnist.core import data

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
    from gan_mnist.evaluation import sampling

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
