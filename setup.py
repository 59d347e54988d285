import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "gan_mnist", "__init__.py")) as f:
    __version__ = re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)

setup(
    name="gan_mnist",
    version=__version__,
    description="A small, fast, measured GAN for MNIST digits in TensorFlow 1.x-style graph mode",
    packages=find_packages(include=["gan_mnist", "gan_mnist.*"]),
    # The evaluation classifiers shipped with the package (float16 weights and their SHA-256).
    package_data={"gan_mnist": ["assets/*.npz", "assets/SHA256SUMS", "assets/web/*"]},
    python_requires=">=3.9",
    # Written against TensorFlow's tf.compat.v1 graph API; CI tests the newest versions these
    # bounds allow and the oldest (requirements-oldest.txt). Keep them equal to requirements.txt,
    # which says why each lower bound is where it is.
    install_requires=[
        "tensorflow>=2.12,<3",
        "numpy>=1.23.2,<3",
        "tqdm>=4.60",
        "pillow>=9.2",
        "matplotlib>=3.6",
        "scipy>=1.9.2",
    ],
    # Optional: sweeps (Ray), export --web (tf2onnx; the browser runtime comes from npm, see
    # requirements-web.txt), the notebook tour (requirements-notebook.txt).
    extras_require={"test": ["pytest>=7.0", "pytest-xdist>=3.0"], "sweep": ["ray>=2.9,<3"],
                    "web": ["tf2onnx>=1.17,<2"],
                    "notebook": ["ipykernel>=6.0", "nbclient>=0.10", "nbformat>=5.9"]},
    # One command with subcommands (gan-mnist train|sample|evaluate|plot|benchmark|export|
    # classifier|sweep), rather than files named train.py on the user's PATH.
    entry_points={"console_scripts": ["gan-mnist=gan_mnist.cli:main"]},
)
