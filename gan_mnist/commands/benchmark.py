"""``benchmark.py`` / ``gan-mnist benchmark``: the speed benchmark (gan_mnist.benchmarks.speed),
installed with the package; its PyTorch variant needs the benchmark extra."""
from gan_mnist.benchmarks import speed


def parser():
    return speed.parser()


def main(argv=None):
    return speed.main(argv)
