"""--dataset fashion-mnist: the same trainer on Fashion-MNIST (Debian's dataset-fashion-mnist,
which .ci/run installs). Without the files these tests skip, except under CI (CI set), where
they fail."""
import json
import os

import numpy as np
import pytest

from gan_mnist.errors import GanError
from gan_mnist.training import checkpoints, config as config_lib, trainer
from gan_mnist.evaluation import classifier
from gan_mnist.core import data


@pytest.fixture(scope="module")
def fashion_dir():
    path = data.default_data_dir("fashion-mnist")
    if not data.find_file(path, "train-images-idx3-ubyte"):
        message = ("Fashion-MNIST is not installed in %s (apt-get install dataset-fashion-mnist)"
                   % path)
        if os.environ.get("CI"):  # as conftest's mnist_dir: CI must run these tests, not skip them
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_default_folder_and_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FASHION_MNIST_DATA_DIR", str(tmp_path))
    assert data.default_data_dir("fashion-mnist") == str(tmp_path)
    monkeypatch.delenv("FASHION_MNIST_DATA_DIR")
    expected = (data.FASHION_SYSTEM_DIR if os.path.isdir(data.FASHION_SYSTEM_DIR)
                else "MNIST_data/fashion")
    assert data.default_data_dir("fashion-mnist") == expected
    monkeypatch.setenv("FASHION_MNIST_MIRRORS", "file:///x/")
    assert data.mirrors_from_env("fashion-mnist") == ("file:///x/",)
    with pytest.raises(GanError, match="unknown dataset"):
        data.load_split(str(tmp_path), dataset="kmnist")


def test_fashion_files_verify_and_differ_from_mnist(fashion_dir, mnist_dir):
    images, labels = data.load_split(None, "test", dataset="fashion-mnist")
    assert images.shape == (10000, 28, 28) and set(np.unique(labels)) == set(range(10))
    digits, _ = data.load_split(mnist_dir, "test")
    assert not np.array_equal(images[:10], digits[:10])
    with pytest.raises(GanError, match="wrong content"):  # MNIST's checksums do not fit it
        data.load_file(fashion_dir, "t10k-labels-idx1-ubyte", checksums=data.MNIST_FILES)


def test_short_fashion_run_and_dataset_is_part_of_the_checkpoint(run_config, fashion_dir):
    config = run_config(dataset="fashion-mnist", data_dir=None, steps=40, sample_every=40)
    assert trainer.train(config) == 0
    assert os.path.exists(os.path.join(config.output_dir, "samples_step_000040.png"))
    saved = config_lib.load_saved(config.checkpoint_dir)
    assert saved["dataset"] == "fashion-mnist"
    with pytest.raises(GanError, match="dataset=fashion-mnist but you asked for dataset=mnist"):
        config_lib.resolve({"dataset": "mnist"}, saved)
    assert config_lib.resolve({}, saved).dataset == "fashion-mnist"  # resumes on its data
    assert checkpoints.step_in_path(checkpoints.latest(config.checkpoint_dir)) == 40


def test_a_classifier_serves_only_its_own_dataset(tmp_path):
    with open(tmp_path / classifier.INFO_FILE, "w") as f:
        json.dump({"dataset": "mnist", "test_accuracy": 0.99}, f)
    with pytest.raises(GanError, match="trained on mnist, not fashion-mnist"):
        classifier.load_or_train(str(tmp_path), dataset="fashion-mnist")


def test_missing_fashion_files_are_downloaded_and_verified(fashion_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FASHION_MNIST_MIRRORS", "file://" + os.path.abspath(fashion_dir) + "/")
    target = tmp_path / "fashion"
    images, labels = data.load_split(str(target), "test", dataset="fashion-mnist")
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    assert sorted(os.listdir(target)) == ["t10k-images-idx3-ubyte.gz",
                                          "t10k-labels-idx1-ubyte.gz"]
