from setuptools import find_packages, setup

setup(
    name="gan_mnist",
    version="0.1.0",
    description="A small, fast, measured GAN for MNIST digits in TensorFlow 1.x graph mode",
    packages=find_packages(include=["gan_mnist", "gan_mnist.*"]),
    python_requires=">=3.8",
    install_requires=[
        "tensorflow>=2.12,<3",
        "numpy>=1.23,<3",
        "tqdm>=4.60",
        "pillow>=9.0",
        "matplotlib>=3.5",
        "scipy>=1.9",
    ],
    extras_require={"test": ["pytest>=7.0"]},
    scripts=["scripts/train.py", "scripts/sample.py", "scripts/evaluate.py", "scripts/plot.py"],
)
