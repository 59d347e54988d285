"""Checkpoint folders however the user spells them: relative, absolute, through a link, moved, and
folders written by older versions whose index named ``../model.ckpt-N``."""
import os
import shutil

import pytest

from gan_mnist.training import checkpoints, config as config_lib, trainer
from gan_mnist.evaluation import sampling
from gan_mnist.tf_compat import tf
from tests.conftest import says


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """The current directory is tmp/work, so '../ck' stays inside tmp_path."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def train(mnist_dir, checkpoint_dir, steps, **overrides):
    values = dict(data_dir=mnist_dir, checkpoint_dir=checkpoint_dir, output_dir="out",
                  steps=steps, checkpoint_every=20, sample_every=1000, log_every=1000,
                  eval_every=0)
    values.update(overrides)
    saved = config_lib.load_saved(checkpoint_dir) if os.path.isdir(checkpoint_dir) else None
    return trainer.train(config_lib.resolve(values, saved))


def index_lines(folder, index=checkpoints.INDEX):
    with open(os.path.join(folder, index)) as f:
        return f.read().splitlines()


def on_disk(folder, prefix=checkpoints.PREFIX):
    return sorted(checkpoints.step_in_path(n[:-len(".index")]) for n in os.listdir(folder)
                  if n.startswith(prefix + "-") and n.endswith(".index"))


@pytest.mark.parametrize("spelling", ["checkpoints", "./ck", "a/b", "../ck", "absolute", "link"])
def test_every_spelling_of_the_folder_resumes(workdir, mnist_dir, capsys, spelling):
    if spelling == "absolute":
        spelling = str(workdir / "abs" / "ck")
    elif spelling == "link":
        (workdir / "real").mkdir()
        os.symlink(workdir / "real", workdir / "link")
    assert train(mnist_dir, spelling, 40) == 0
    assert index_lines(spelling) == ['model_checkpoint_path: "model.ckpt-40"',
                                     'all_model_checkpoint_paths: "model.ckpt-20"',
                                     'all_model_checkpoint_paths: "model.ckpt-40"']
    capsys.readouterr()
    assert train(mnist_dir, spelling, 60) == 0
    captured = capsys.readouterr()
    assert says(captured.out, "resumed from step 40") and "repaired" not in captured.err
    assert on_disk(spelling) == [20, 40, 60]
    # Nothing was written beside the folder, where a misread index would point.
    assert not [n for n in os.listdir(os.path.dirname(os.path.abspath(spelling)))
                if n.startswith("model.ckpt")]


def test_a_moved_and_renamed_folder_resumes(workdir, mnist_dir, capsys):
    assert train(mnist_dir, "a/ck", 40) == 0
    os.makedirs("b")
    os.rename("a/ck", "b/renamed")
    shutil.rmtree("a")
    capsys.readouterr()
    assert train(mnist_dir, str(workdir / "b" / "renamed"), 60) == 0
    assert says(capsys.readouterr().out, "resumed from step 40")
    assert checkpoints.step_in_path(checkpoints.latest("b/renamed")) == 60


def build_folder_like_the_old_version(mnist_dir, folder):
    """Eight checkpoints (the old version never pruned them), two best ones, and indexes written
    the way the old code wrote them: TensorFlow's update_checkpoint_state given the folder as
    spelled (relative), which records '../model.ckpt-N'."""
    assert train(mnist_dir, folder, 80, checkpoint_every=10, keep=100) == 0
    for step in (30, 50):
        for suffix in (".index", ".data-00000-of-00001"):
            shutil.copy(os.path.join(folder, "model.ckpt-%d%s" % (step, suffix)),
                        os.path.join(folder, "best.ckpt-%d%s" % (step, suffix)))
    tf.train.update_checkpoint_state(folder, "model.ckpt-80",
                                     ["model.ckpt-%d" % s for s in (40, 50, 60, 70, 80)])
    tf.train.update_checkpoint_state(folder, "best.ckpt-50", ["best.ckpt-30", "best.ckpt-50"],
                                     latest_filename=checkpoints.BEST_INDEX)
    config = config_lib.load_saved(folder)
    config["keep"] = 5
    config_lib.save(config_lib.resolve(config), folder)
    assert index_lines(folder)[0] == 'model_checkpoint_path: "../model.ckpt-80"'
    assert on_disk(folder) == [10, 20, 30, 40, 50, 60, 70, 80]


def test_a_folder_written_by_the_old_version_is_repaired_and_pruned(workdir, mnist_dir, capsys):
    build_folder_like_the_old_version(mnist_dir, "checkpoints")
    # Read-only tools find the newest checkpoint without changing anything.
    assert sampling.Generator("checkpoints").step == 80
    assert on_disk("checkpoints") == [10, 20, 30, 40, 50, 60, 70, 80]

    capsys.readouterr()
    assert train(mnist_dir, "checkpoints", 100, checkpoint_every=10) == 0
    captured = capsys.readouterr()
    assert ("repaired the checkpoint index checkpoints/checkpoint (it named '../model.ckpt-70', "
            "'../model.ckpt-80'): it now names the newest 5 checkpoints, up to model.ckpt-80"
            in captured.err)
    assert "removed 3 checkpoints (model.ckpt-*)" in captured.err
    assert says(captured.out, "resumed from step 80")
    assert on_disk("checkpoints") == [60, 70, 80, 90, 100]
    assert on_disk("checkpoints", checkpoints.BEST_PREFIX) == [50]
    assert index_lines("checkpoints", checkpoints.BEST_INDEX) == [
        'model_checkpoint_path: "best.ckpt-50"', 'all_model_checkpoint_paths: "best.ckpt-50"']
    assert index_lines("checkpoints")[0] == 'model_checkpoint_path: "model.ckpt-100"'


def test_a_repaired_folder_already_at_its_target_is_pruned_too(workdir, mnist_dir, capsys):
    build_folder_like_the_old_version(mnist_dir, "ck")
    capsys.readouterr()
    assert train(mnist_dir, "ck", 80) == 0
    captured = capsys.readouterr()
    assert says(captured.out, "already at step 80") and "repaired" in captured.err
    assert on_disk("ck") == [40, 50, 60, 70, 80]


def test_a_missing_index_is_rebuilt_from_the_files(workdir, mnist_dir, capsys):
    assert train(mnist_dir, "ck", 60) == 0
    os.remove("ck/checkpoint")
    assert checkpoints.step_in_path(checkpoints.latest("ck")) == 60
    capsys.readouterr()
    assert train(mnist_dir, "ck", 80) == 0
    captured = capsys.readouterr()
    assert "(it was missing or unreadable)" in captured.err
    assert says(captured.out, "resumed from step 60")


def test_checkpoints_beyond_keep_are_removed_and_damaged_files_left_alone(workdir, mnist_dir):
    assert train(mnist_dir, "ck", 40) == 0
    for suffix in (".index", ".data-00000-of-00001"):
        os.replace("ck/model.ckpt-40" + suffix, "ck/model.ckpt-40%s.damaged" % suffix)
    assert train(mnist_dir, "ck", 160, keep=2) == 0
    assert on_disk("ck") == [140, 160]
    assert sorted(n for n in os.listdir("ck") if n.endswith(".damaged")) == [
        "model.ckpt-40.data-00000-of-00001.damaged", "model.ckpt-40.index.damaged"]


def test_a_folder_by_hand_is_ordered_by_step_pruned_and_its_best_fid_read(tmp_path):
    """The file side of checkpoints.py without training: Saver-like files written by hand."""
    folder = str(tmp_path)
    path = lambda name: os.path.join(folder, name)  # noqa: E731

    def complete(name):
        for suffix in (".index", ".data-00000-of-00001"):
            open(path(name + suffix), "w").close()

    for name in ("model.ckpt-300", "model.ckpt-5", "model.ckpt-40", "best.ckpt-40",
                 "model.ckpt-12x"):
        complete(name)
    open(path("model.ckpt-7.index"), "w").close()  # a save cut short: no data
    open(path("model.ckpt-9.index"), "w").close()
    open(path("model.ckpt-9.data-00000-of-00001.damaged"), "w").close()  # renamed aside
    steps = [path("model.ckpt-5"), path("model.ckpt-40"), path("model.ckpt-300")]
    # No index: the complete checkpoints on disk, by step (not "300" < "40" < "5").
    assert checkpoints.index_entries(folder, checkpoints.INDEX) == []
    assert checkpoints.published(folder) == steps
    assert checkpoints.latest(folder) == path("model.ckpt-300")
    assert checkpoints.published(folder, checkpoints.BEST_PREFIX, checkpoints.BEST_INDEX) == [
        path("best.ckpt-40")]
    checkpoints.publish(folder, steps[:2], checkpoints.INDEX)
    assert checkpoints.index_entries(folder, checkpoints.INDEX) == ["model.ckpt-5",
                                                                    "model.ckpt-40"]
    assert index_lines(folder)[0] == 'model_checkpoint_path: "model.ckpt-40"'
    assert checkpoints.published(folder) == steps[:2]
    assert checkpoints.latest(folder) == path("model.ckpt-40")
    assert checkpoints.prune(folder, checkpoints.PREFIX, [path("model.ckpt-40")]) == 2
    assert sorted(os.listdir(folder)) == [
        "best.ckpt-40.data-00000-of-00001", "best.ckpt-40.index", "checkpoint",
        "model.ckpt-12x.data-00000-of-00001", "model.ckpt-12x.index",
        "model.ckpt-40.data-00000-of-00001", "model.ckpt-40.index", "model.ckpt-7.index",
        "model.ckpt-9.data-00000-of-00001.damaged", "model.ckpt-9.index"]
    assert checkpoints.prune(folder, checkpoints.PREFIX, [path("model.ckpt-40")]) == 0
    # An index that names only files that are gone, or cannot be read: what is on disk.
    checkpoints.publish(folder, [path("model.ckpt-5")], checkpoints.INDEX)
    assert checkpoints.published(folder) == [path("model.ckpt-40")]
    open(path(checkpoints.INDEX), "w").write("not an index {")
    assert checkpoints.index_entries(folder, checkpoints.INDEX) == []
    assert checkpoints.latest(folder) == path("model.ckpt-40")
    assert checkpoints.latest(path("missing")) is None
    assert checkpoints.step_in_path("runs/a-b/model.ckpt-1500") == 1500
    assert checkpoints.best_fid(folder) is None
    for text, fid in (('{"step": 40, "fid": 12.5}', 12.5), ("{", None), ('{"step": 40}', None),
                      ('{"fid": null}', None), ("[]", None)):
        open(path(checkpoints.BEST_INFO), "w").write(text)
        assert checkpoints.best_fid(folder) == fid, text
