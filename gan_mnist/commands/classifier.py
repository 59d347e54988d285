"""``classifier.py`` / ``gan-mnist classifier``: train and ship the evaluation classifier."""
import tempfile

from gan_mnist.commands.common import DATASETS, Parser, add_data_dir, run


def parser(prog="classifier.py"):
    p = Parser(prog=prog, description="Train the evaluation classifier and write the "
               "file shipped with the package (gan_mnist/assets/classifier-DATASET.npz, float16, "
               "with its SHA-256 in SHA256SUMS).")
    p.add_argument("--dataset", choices=DATASETS, default="mnist", help="default mnist")
    add_data_dir(p)
    p.add_argument("--classifier-dir", help="ship the classifier already trained in this folder "
                   "(default: train a new one, about two minutes)")
    p.add_argument("--assets-dir", help="where to write it (default: the package's "
                   "gan_mnist/assets/, which evaluation reads)")
    return p


def main(argv=None, prog="classifier.py"):
    return run(lambda: _classifier(parser(prog).parse_args(argv)))


def _classifier(args):
    from gan_mnist.evaluation import classifier

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.classifier_dir or scratch
        classifier.load_or_train(folder, args.data_dir, args.dataset)
        classifier.ship(folder, args.data_dir, args.dataset,
                        assets=args.assets_dir or classifier.ASSETS)
    return 0
