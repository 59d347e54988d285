"""The maintainers' measuring scripts, beside the package and run by no command: the README's
quick start as typed (quick_start.py), its results blocks (results_table.py), Optuna's pruners
replayed on a sweep (optuna_pruners.py). The speed benchmark is part of the package:
gan_mnist.benchmarks, gan-mnist benchmark."""
