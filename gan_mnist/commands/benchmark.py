"""``gan-mnist benchmark``: the speed benchmark. It lives beside the package, in the repository's
benchmarks/ folder with its Keras yardstick, so it runs from a checkout."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _speed():
    if not os.path.isfile(os.path.join(ROOT, "benchmarks", "speed.py")):
        return None
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from benchmarks import speed

    return speed


def parser():
    return _speed().parser()


def main(argv=None):
    speed = _speed()
    if speed is None:
        print("error: the benchmark lives in the repository's benchmarks/ folder, not in the "
              "installed package: run python scripts/benchmark.py in a checkout",
              file=sys.stderr)
        return 1
    return speed.main(argv)
