"""gan_mnist: a small, fast, measured GAN for MNIST digits in TensorFlow 1.x graph mode.

Data flows one way: data -> pipeline -> G and D -> losses -> train ops -> trainer -> images
(docs/architecture.md). Importing the package does not import TensorFlow; the modules that build
graphs do. ``gan_mnist/classic.py`` is the tutorials' whole GAN in one file; ``gan_mnist.api`` is
the package as functions.
"""
import os

__version__ = "0.1.0"

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
