"""``sample.py`` / ``gan-mnist sample``: digits from the newest checkpoint, as PNG or .npy."""
import os

from gan_mnist.errors import GanError
from gan_mnist.training import config as config_lib
from gan_mnist.training.checks import non_negative_int, positive_int
from gan_mnist.training.recipes import RECIPES
from gan_mnist.commands.common import (Parser, add_checkpoint_dir, check_model_source,
                                       model_folder, run)


def parser(prog="sample.py"):
    p = Parser(prog=prog, description="Generate digits from the newest checkpoint.")
    add_checkpoint_dir(p, "sample the newest checkpoint here", pretrained=True)
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


def main(argv=None, prog="sample.py"):
    p = parser(prog)
    args = p.parse_args(argv)
    check_model_source(p, args)
    if not args.png and not args.npy:
        args.png = "samples.png"
    if args.label:
        args.label = _classes(p, args.label, args.checkpoint_dir, args.pretrained)
    return run(lambda: _sample(args))


def _classes(parser, specs, checkpoint_dir, pretrained=None):
    """--label values as class numbers, checked against the model before TensorFlow starts."""
    from gan_mnist.core import data

    if pretrained:  # a shipped generator is conditional when its recipe is
        saved = {"conditional": RECIPES[pretrained].get("conditional", False)}
    else:
        try:
            saved = config_lib.load_saved(checkpoint_dir) or {}
        except GanError:
            saved = {}  # the sampler says what is wrong with the folder
    if saved and not saved.get("conditional"):
        parser.error("--label needs a conditional model, and %s is unconditional (train one "
                     "with --conditional, or use --pretrained best-conditional)"
                     % ("--pretrained " + pretrained if pretrained else "the one in "
                        + checkpoint_dir))
    try:
        return data.class_numbers(specs, saved.get("dataset", "mnist"))
    except ValueError as e:
        parser.error("--%s" % e)


def _sample(args):
    for path in (args.png, args.npy):  # before the work, not after it
        folder = os.path.dirname(os.path.abspath(path)) if path else None
        if folder and not os.path.isdir(folder):
            raise GanError("cannot write %s: the folder %s does not exist" % (path, folder))
    from gan_mnist import api

    drawn = api.generate(model_folder(args), args.n, args.seed, args.label)
    if args.png:
        api.write_png(drawn, args.png)
        print("wrote %d digits from step %d to %s" % (args.n, drawn.step, args.png))
    if args.npy:
        written = api.write_npy(drawn, args.npy)
        print("wrote %d digits from step %d to %s" % (args.n, drawn.step, args.npy))
        if len(written) > 1:
            print("wrote their labels to %s" % written[1])
    return 0
