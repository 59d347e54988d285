"""The generators shipped with the package: their hashes, how well they write (scored with the
shipped classifier, as evaluate.py does), sample.py --pretrained with no MNIST files anywhere,
and a damaged file refused in one line."""
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from gan_mnist.assets import ASSETS_DIR, asset_checksums
from gan_mnist.errors import GanError
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


def _folder_name(name, assets=ASSETS_DIR):
    return "pretrained-%s-%s" % (name, asset_checksums(assets)[pretrained.asset_name(name)][:12])


def test_an_empty_folder_where_the_generator_goes_is_filled_not_trusted(tmp_path, monkeypatch):
    """A folder of that name with no checkpoint in it (made by hand, or emptied by a cleaner)
    is written again, not handed to sample."""
    from gan_mnist import api

    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path))
    (tmp_path / _folder_name("best")).mkdir()
    folder = pretrained.checkpoint_dir("best")
    assert os.path.basename(folder) == _folder_name("best")
    assert "config.json" in os.listdir(folder)
    assert api.sample(folder, n=4).shape == (4, 28, 28)


def test_an_upgraded_package_with_a_new_generator_does_not_reuse_the_old_folder(tmp_path,
                                                                                monkeypatch):
    """A newer package ships other weights under the same name: the cache made from the old
    file must not answer for the new one."""
    from gan_mnist import api
    from gan_mnist.assets import record_asset_checksum

    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path / "cache"))
    old = pretrained.checkpoint_dir("best")
    upgraded = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, upgraded)
    path = upgraded / pretrained.asset_name("best")
    with np.load(str(path), allow_pickle=False) as stored:
        arrays = {k: stored[k] for k in stored.files}
    bias = sorted(k for k in arrays if k.endswith("bias") or k.endswith("/b"))
    changed = bias[-1] if bias else sorted(k for k in arrays if k not in ("config", "step"))[-1]
    arrays[changed] = arrays[changed] + np.asarray(0.5, arrays[changed].dtype)
    np.savez_compressed(str(path), **arrays)
    record_asset_checksum(str(path))
    new = pretrained.checkpoint_dir("best", assets=str(upgraded))
    assert new != old
    assert not np.array_equal(api.sample(new, n=8), api.sample(old, n=8))


def test_a_cache_that_cannot_be_written_falls_back_to_the_temporary_folder(tmp_path,
                                                                            monkeypatch):
    from gan_mnist import api

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GAN_MNIST_CACHE", str(blocker / "cache"))  # cannot be made, even by root
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    folder = pretrained.checkpoint_dir("best")
    assert folder.startswith(str(tmp_path / "tmp")), folder
    assert api.sample(folder, n=4).shape == (4, 28, 28)


def test_two_processes_making_the_cache_folder_at_once_both_get_it(tmp_path):
    env = dict(os.environ, GAN_MNIST_CACHE=str(tmp_path))
    # Each imports everything, says it is ready, and starts when both are: the folder is
    # missing when both look, and the second rename finds the first one's folder in place.
    code = ("import os, sys, time; from gan_mnist.evaluation import pretrained; "
            "open(sys.argv[1], 'w').close()\n"
            "while not os.path.exists(sys.argv[2]): time.sleep(0.01)\n"
            "print(pretrained.checkpoint_dir('best'))")
    go = tmp_path / "go"
    ready = [tmp_path / ("ready%d" % i) for i in range(2)]
    runs = [subprocess.Popen([sys.executable, "-c", code, str(ready[i]), str(go)], cwd=REPO,
                             env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for i in range(2)]
    for _ in range(3000):
        if all(r.exists() for r in ready):
            break
        time.sleep(0.1)
    go.write_text("")
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-400:] for _, err in outputs]
    folders = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert folders == {str(tmp_path / _folder_name("best"))}
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []


def test_a_shipped_folder_reached_through_a_linked_cache_is_refused_too(tmp_path, monkeypatch):
    """GAN_MNIST_CACHE is a symbolic link (a cache moved to another disk): training into the
    shipped generator's folder is refused all the same, and the folder is untouched."""
    from gan_mnist import api

    (tmp_path / "disk").mkdir()
    os.symlink(tmp_path / "disk", tmp_path / "link")
    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path / "link"))
    folder = api.pretrained("best")
    before = sorted(os.listdir(folder))
    with pytest.raises(GanError, match="is the folder of a shipped generator"):
        api.train(os.path.realpath(folder), str(tmp_path / "out"), fresh=True, steps=1)
    with pytest.raises(GanError, match="is the folder of a shipped generator"):
        api.train(folder, str(tmp_path / "out"), fresh=True, steps=1)
    assert sorted(os.listdir(folder)) == before
