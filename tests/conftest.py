"""Shared fixtures. Tests that need the real digits read MNIST_DATA_DIR (CI sets it to
../shared/MNIST_data); outside CI they are skipped when it is unset."""
import os
import re
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def says(text, phrase):
    """How often ``text`` holds ``phrase`` as whole words and numbers: "resumed from step 40"
    is not found in "resumed from step 400", nor "ckpt-4" in "model.ckpt-40" (0, falsy)."""
    return len(re.findall(r"(?<!\w)%s(?!\w)" % re.escape(phrase), text))


@pytest.fixture(scope="session")
def mnist_dir():
    path = os.environ.get("MNIST_DATA_DIR")
    if not path:
        if os.environ.get("CI"):
            pytest.fail("CI must set MNIST_DATA_DIR to the folder with the real MNIST files")
        pytest.skip("MNIST_DATA_DIR is not set")
    return path


@pytest.fixture(scope="session")
def train_images(mnist_dir):
    from gan_mnist import data

    images, _ = data.load_split(mnist_dir, "train")
    return images


@pytest.fixture
def run_config(tmp_path, mnist_dir):
    """A Config for a short real training run in temporary folders."""
    from gan_mnist.config import resolve

    def make(**overrides):
        values = dict(data_dir=mnist_dir, checkpoint_dir=str(tmp_path / "ckpt"),
                      output_dir=str(tmp_path / "out"), steps=300, log_every=50)
        values.update(overrides)
        return resolve(values)
    return make


@pytest.fixture(scope="session")
def classifier_dir(mnist_dir, tmp_path_factory):
    """A classifier trained in a folder, as --classifier-dir does: one epoch (about 15 s) is
    enough to test that path. Everything else uses the classifier shipped with the package."""
    from gan_mnist import classifier

    folder = str(tmp_path_factory.mktemp("classifier"))
    classifier.train(folder, mnist_dir, epochs=1)
    return folder
