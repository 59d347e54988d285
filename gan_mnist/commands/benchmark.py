"""``benchmark.py`` / ``gan-mnist benchmark``: the speed benchmark (gan_mnist.benchmarks.speed),
installed with the package; its PyTorch variant needs the benchmark extra."""
from gan_mnist.benchmarks import speed


def parser(prog="benchmark.py"):
    return speed.parser(prog)


def main(argv=None, prog="benchmark.py"):
    return speed.main(argv, prog)
