"""Folders written by an older version keep working, and the same flags keep giving the same model.

tests/assets/folders_0.1.0/ holds three checkpoint folders made by the code of commit fc7b68e
(before recipes, field declarations and the commands package), from a folder holding nothing else:

    C="--steps 10 --checkpoint-every 5 --keep 1 --eval-every 0 --sample-every 10 --log-every 5"
    train.py --arch fc --hidden 8 --z-dim 8 --batch-size 16 $C --checkpoint-dir fc
    train.py --arch fast --clusters 4 --spectral-norm --beta1 0 --ema 0.999 --hidden 8 --z-dim 8 \
        --batch-size 16 $C --checkpoint-dir fast_clusters
    train.py --arch fast --conditional --loss hinge --r1 1 --r1-every 2 --d-pretrain-steps 3 \
        --hidden 8 --z-dim 8 --batch-size 16 $C --checkpoint-dir fast_conditional

Between them they cover what a refactoring of the graph could change: plain and conditioned
models (labels, clusters), spectral norm, EMA, hinge, lazy R1 and D pre-training.

fc7b68e's fast_conditional no longer gives its weights from its flags: its step 4 was both an R1
step and a logged one, and fetching the logged G loss ran the plain D update beside the
regularised one (D updated twice), until 2026-12-05. It still resumes (test_an_old_folder_resumes);
tests/assets/folders_r1_log_fix/fast_conditional, made with the same command by the code that
fixed it, is the one today's code must train again.

tests/assets/folders_e8d7b10/ holds two made by commit e8d7b10, the last main before the package
moved into subpackages, with today's recipes (run from that commit's root):

    train.py --recipe best --clusters 4 --hidden 8 --z-dim 8 --batch-size 16 $C \
        --checkpoint-dir best
    train.py --recipe best-conditional --clusters 20 --hidden 8 --z-dim 8 --batch-size 16 $C \
        --checkpoint-dir best_conditional
"""
import json
import os
import re
import shutil

import numpy as np
import pytest

from gan_mnist.training import checkpoints, config as config_lib, trainer
from gan_mnist.tf_compat import tf
from tests.conftest import says

ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")
FOLDERS = os.path.join(ASSETS, "folders_0.1.0")
FLAGS = ("fc", "fast_clusters", "fast_conditional",  # made by 0.1.0 at fc7b68e
         "../folders_e8d7b10/best", "../folders_e8d7b10/best_conditional")  # by e8d7b10
RETRAINED = tuple(name for name in FLAGS if name != "fast_conditional") + (
    "../folders_r1_log_fix/fast_conditional",)  # without the double D update (see above)


def weights(checkpoint_dir):
    """Every saved variable of the newest checkpoint, by name."""
    reader = tf.train.load_checkpoint(checkpoints.latest(checkpoint_dir))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def old_config(name):
    with open(os.path.join(FOLDERS, name, "config.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("name", RETRAINED)
def test_the_same_flags_train_the_same_weights(name, tmp_path, mnist_dir):
    """Today's code, given the flags the old folder was made with, trains to the same weights
    at step 10: the refactoring kept the graph, its initial weights and its random streams.
    Within 5% of each variable's largest value: the order in which threads add up R1's double
    gradient made one of three runs of the same code differ by up to 1.6%; a changed graph or
    random stream differs by 100%."""
    saved = old_config(name)
    explicit = {k: v for k, v in saved.items() if k not in ("checkpoint_dir", "output_dir",
                                                              "data_dir")}
    explicit.setdefault("precision", "float32")  # made before --precision: all float32
    config = config_lib.resolve(dict(explicit, data_dir=mnist_dir,
                                     checkpoint_dir=str(tmp_path / "c"),
                                     output_dir=str(tmp_path / "o")))
    assert trainer.train(config) == 0
    new, old = weights(tmp_path / "c"), weights(os.path.join(FOLDERS, name))
    assert sorted(new) == sorted(old)
    for variable in old:  # Adam's moments included: a changed graph differs by far more
        scale = np.abs(old[variable]).max() + 1e-6
        assert np.abs(new[variable] - old[variable]).max() <= 0.05 * scale, variable


@pytest.mark.parametrize("name", FLAGS)
def test_an_old_folder_resumes(name, tmp_path, mnist_dir, capsys):
    """The same command line as a user typed then (no --recipe) resumes the old folder, and
    config.json keeps every setting it had."""
    folder = tmp_path / os.path.basename(name)
    shutil.copytree(os.path.join(FOLDERS, name), folder)
    saved = config_lib.load_saved(folder)
    config = config_lib.resolve({"steps": 14, "checkpoint_dir": str(folder),
                                 "output_dir": str(tmp_path / "o"), "data_dir": mnist_dir},
                                saved)
    assert trainer.train(config) == 0
    out = capsys.readouterr().out
    assert says(out, "resumed from step 10") and says(out, "done: step 14")
    resumed = json.loads((folder / "config.json").read_text())
    for field in config_lib.CARRIED_FIELDS:
        if field in saved:
            assert resumed[field] == saved[field], field
    # An old folder's recipe is its architecture's; a newer one keeps its own.
    assert resumed["recipe"] == saved.get("recipe", saved["arch"])


def test_a_recipe_that_fits_resumes_an_old_folder(tmp_path, mnist_dir):
    """--recipe on an old folder: its recipe is its architecture's, so another is refused."""
    folder = tmp_path / "fc"
    shutil.copytree(os.path.join(FOLDERS, "fc"), folder)
    saved = config_lib.load_saved(folder)
    with pytest.raises(config_lib.GanError, match="%s holds a --recipe fc run, not --recipe "
                       "best" % re.escape(str(folder))):
        config_lib.resolve({"recipe": "best", "checkpoint_dir": str(folder)}, saved)
    assert config_lib.resolve({"recipe": "fc"}, saved).hidden == 8
