"""The commands a user types: one module each, holding its parser and its ``main``.

``scripts/NAME.py`` and ``gan-mnist NAME`` (gan_mnist.cli) both call ``gan_mnist.commands.NAME
.main``. Commands sit on top of the package: nothing below imports them.
"""
# Each command and what it does, in the order a user meets them (gan-mnist --help lists them so).
COMMANDS = {
    "train": "train a GAN, or resume the one in --checkpoint-dir",
    "sample": "draw digits from the newest checkpoint as PNG or .npy",
    "evaluate": "score digits: Inception Score, FID, mode coverage, memorisation",
    "plot": "a run's figures again, or several runs' FID against minutes",
    "benchmark": "steps per second of the training-loop variants, in one run",
    "export": "the generator as a SavedModel (and TFLite) or a web page",
    "classifier": "train the evaluation classifier that ships with the package",
    "sweep": "settings x seeds as Ray tasks, with a ranked report",
}
NAMES = tuple(COMMANDS)
