#!/usr/bin/env python
"""Command-line entry point; the work is done in gan_mnist/benchmarks/speed.py (see --help)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan_mnist.commands.benchmark import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
