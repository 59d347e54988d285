"""The commands a user types: one module each, holding its parser and its ``main``.

``scripts/NAME.py`` and ``gan-mnist NAME`` (gan_mnist.cli) both call ``gan_mnist.commands.NAME
.main``. Commands sit on top of the package: nothing below imports them.
"""
NAMES = ("train", "sample", "evaluate", "plot", "benchmark", "export", "classifier", "sweep")
