"""Shared fixtures. Tests that need the real digits read MNIST_DATA_DIR (CI sets it to
../shared/MNIST_data); outside CI they are skipped when it is unset."""
import fcntl
import os
import re
import shutil
import subprocess
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


CONDITIONAL_STEPS = 1500  # fast --conditional: about 45 s; the shipped classifier reads most
# digits as asked (label accuracy 0.45 at step 250, 0.66 at 1000, 0.87 at 1500)


def session_folder(tmp_path_factory):
    """A folder every process of this test session shares: under pytest-xdist each worker's
    base temporary folder sits in the session's one."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def conditional_run(tmp_path_factory, mnist_dir):
    """CONDITIONAL_STEPS real steps of `fast --conditional` from the command line, with a quick
    evaluation and a grid at the end: checkpoints in ``c/``, outputs in ``o/``. Trained once per
    session and shared by test_conditional.py and test_web.py: whichever worker comes first
    trains it under a file lock, the other waits for it. Tests only read ``c/``."""
    root = session_folder(tmp_path_factory) / "conditional"
    with open(str(root) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "trained").exists():
            shutil.rmtree(root, ignore_errors=True)
            steps = str(CONDITIONAL_STEPS)
            result = subprocess.run(
                [sys.executable, os.path.join(REPO, "scripts", "train.py"), "--arch", "fast",
                 "--conditional", "--steps", steps, "--eval-every", steps, "--sample-every",
                 steps, "--data-dir", mnist_dir, "--checkpoint-dir", str(root / "c"),
                 "--output-dir", str(root / "o")], capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, result.stderr
            (root / "trained").write_text("")
    return root
