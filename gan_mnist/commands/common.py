"""What every command shares: a parser that answers a bad flag in one line, and ``run``, which
turns a problem the user can fix into one line on stderr and a non-zero exit.

Flags are parsed and checked before TensorFlow is imported, so a typo is answered at once.
"""
import argparse
import os
import sys

from gan_mnist.errors import GanError, reason
from gan_mnist.core.data import DATASETS


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag gets one line (not the whole usage) and exit status 2; every
    command takes --version and --verbose."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from gan_mnist import __version__

        self.add_argument("--version", action="version", version="gan-mnist %s" % __version__)
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


DATASETS = tuple(DATASETS)  # --dataset's choices, wherever a command takes it


# The shipped generators (gan_mnist.evaluation.pretrained.NAMES), named here so that the flag is
# checked before TensorFlow starts.
PRETRAINED = ("best", "best-conditional")


def add_checkpoint_dir(parser, what="the newest checkpoint here", pretrained=False,
                       needs_mnist=False):
    """--checkpoint-dir, and for commands that read only a generator, --pretrained NAME
    (``needs_mnist``: the command still reads real digits, as evaluate.py does)."""
    parser.add_argument("--checkpoint-dir", default=None if pretrained else "checkpoints",
                        help="%s (default checkpoints/)" % what)
    if pretrained:
        parser.add_argument("--pretrained", choices=PRETRAINED,
                            help="instead of a checkpoint folder, the generator shipped with "
                            "the package for this recipe (15 minutes of training, seed 0): no "
                            "training needed%s" % (
                                ", only the real digits to compare with" if needs_mnist
                                else " and no MNIST files"))


def check_model_source(parser, args):
    """--checkpoint-dir or --pretrained, not both; with neither, checkpoints/."""
    if args.pretrained and args.checkpoint_dir:
        parser.error("give --checkpoint-dir or --pretrained, not both")
    if not args.pretrained:
        args.checkpoint_dir = args.checkpoint_dir or "checkpoints"


def model_folder(args):
    """The checkpoint folder to read: --checkpoint-dir's, or the shipped generator's (made in
    the cache on first use)."""
    if args.pretrained:
        from gan_mnist import api

        return api.pretrained(args.pretrained)
    return args.checkpoint_dir


def add_data_dir(parser):
    parser.add_argument("--data-dir", help="data folder (default: the dataset's, as for "
                        "train.py)")


def run(action):
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
        print("error: %s%s" % (reason(e), ": %s" % e.filename if e.filename else ""),
              file=sys.stderr)
        return 1
