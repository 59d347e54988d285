"""The generators shipped with the package: their hashes, how well they write (scored with the
shipped classifier, as evaluate.py does), sample.py --pretrained with no MNIST files anywhere,
and a damaged file refused in one line."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gan_mnist import ASSETS_DIR, GanError, asset_checksums
from gan_mnist.commands.common import PRETRAINED
from gan_mnist.evaluation import pretrained
from tests.conftest import REPO

SAMPLE = os.path.join(REPO, "scripts", "sample.py")
# Quick FID on 2,000 digits sits above the 10,000-digit FID the README quotes (a smaller sample
# is scored further from the test set); the bounds leave room for that, not for a broken model.
QUICK_FID_BOUND = {"best": 4.0, "best-conditional": 4.0}


def test_the_command_line_names_the_shipped_generators():
    assert PRETRAINED == pretrained.NAMES


@pytest.mark.parametrize("name", pretrained.NAMES)
def test_each_shipped_file_is_listed_with_its_hash_and_carries_its_recipe(name):
    sums = asset_checksums()
    assert pretrained.asset_name(name) in sums
    folder = pretrained.checkpoint_dir(name)  # checks the SHA-256 on the way
    with open(os.path.join(folder, "config.json")) as f:
        assert json.load(f)["recipe"] == name


@pytest.mark.parametrize("name", pretrained.NAMES)
def test_shipped_generators_write_good_digits(name, mnist_dir):
    from gan_mnist import api
    from gan_mnist.evaluation.evaluate import Evaluator

    drawn = api.generate(api.pretrained(name), n=2000, seed=1)
    scores = Evaluator(None, mnist_dir).quick(drawn.digits, drawn.labels)
    assert scores["fid"] < QUICK_FID_BOUND[name], scores
    if name == "best-conditional":
        assert scores["label_accuracy"] > 0.95, scores


def test_sample_pretrained_needs_no_mnist_files(tmp_path):
    """A user's first command, in an empty folder with no MNIST files and no MNIST_DATA_DIR."""
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DATA_DIR"}
    env["GAN_MNIST_CACHE"] = str(tmp_path / "cache")  # made from the shipped file, here
    result = subprocess.run([sys.executable, SAMPLE, "--pretrained", "best-conditional",
                             "--label", "7", "--n", "16", "--png", "sevens.png"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "sevens.png").size[0] > 28
    assert sorted(os.listdir(tmp_path)) == ["cache", "sevens.png"]  # no MNIST_data/, nothing else
    # An unconditional one refuses a label in one line, before TensorFlow starts.
    refused = subprocess.run([sys.executable, SAMPLE, "--pretrained", "best", "--label", "7"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "--pretrained best is unconditional" in refused.stderr
    both = subprocess.run([sys.executable, SAMPLE, "--pretrained", "best", "--checkpoint-dir",
                           "c"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert both.returncode == 2 and "not both" in both.stderr


def test_a_damaged_shipped_generator_is_one_line(tmp_path):
    assets = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, assets)
    path = assets / pretrained.asset_name("best")
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(GanError, match=r"^the shipped generator .*generator-best\.npz is damaged "
                       r"\(SHA-256 mismatch\); reinstall gan_mnist$"):
        pretrained.checkpoint_dir("best", assets=str(assets))
    path.unlink()
    with pytest.raises(GanError, match="cannot be read"):
        pretrained.checkpoint_dir("best", assets=str(assets))
    with pytest.raises(GanError, match="no shipped generator 'worst'; choose one of: best, "):
        pretrained.checkpoint_dir("worst")


def test_the_cache_folder_is_made_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path))
    first = pretrained.checkpoint_dir("best")
    stamp = os.path.getmtime(os.path.join(first, "config.json"))
    assert pretrained.checkpoint_dir("best") == first
    assert os.path.getmtime(os.path.join(first, "config.json")) == stamp
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []  # no scratch left
    from gan_mnist import api

    np.testing.assert_array_equal(api.sample(first, n=8), api.sample(first, n=8))


def test_training_into_a_shipped_generators_folder_is_refused(tmp_path, monkeypatch):
    """api.train(api.pretrained("best"), fresh=True) would move the shipped weights aside and
    leave a user's run where --pretrained reads: refused in one line, the folder untouched."""
    from gan_mnist import api

    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path))
    folder = api.pretrained("best")
    before = sorted(os.listdir(folder))
    with pytest.raises(GanError, match="is the folder of a shipped generator; train in a folder "
                                       "of your own"):
        api.train(folder, str(tmp_path / "out"), fresh=True, steps=10)
    typed = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "train.py"),
                            "--checkpoint-dir", folder, "--steps", "10"], capture_output=True,
                           text=True, timeout=120,
                           env=dict(os.environ, GAN_MNIST_CACHE=str(tmp_path)))
    assert typed.returncode == 1 and len(typed.stderr.strip().splitlines()) == 1, typed.stderr
    assert "is the folder of a shipped generator" in typed.stderr
    assert sorted(os.listdir(folder)) == before and not (tmp_path / "out").exists()
