"""The evaluation tools on a real classifier and a real (short) training run."""
import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gan_mnist.errors import GanError
from gan_mnist.training import checkpoints, trainer
from gan_mnist.evaluation import classifier, evaluate
from gan_mnist.evaluation.evaluate import quick_evaluator
from gan_mnist.commands import evaluate as evaluate_command
from tests.conftest import REPO, exit_code_of, says

EVALUATE = os.path.join(REPO, "scripts", "evaluate.py")
PLOT = os.path.join(REPO, "scripts", "plot.py")


def run(script, *args):
    return subprocess.run([sys.executable, script] + list(args), capture_output=True, text=True,
                          timeout=600)


def test_shipped_classifier_reaches_99_percent_as_it_says(mnist_dir):
    shipped = classifier.shipped("mnist")
    assert shipped.info["dataset"] == "mnist" and shipped.info["weights"] == "float16"
    assert shipped.test_accuracy >= 0.99
    measured = classifier.accuracy_on_test_set(shipped, mnist_dir)
    assert measured == pytest.approx(shipped.test_accuracy, abs=5e-4)
    assert classifier.load(None, mnist_dir).info == shipped.info  # no folder: the shipped one
    size = os.path.getsize(os.path.join(classifier.ASSETS, classifier.shipped_name("mnist")))
    assert size < 2 * 2 ** 20


def test_a_damaged_shipped_classifier_is_refused(tmp_path):
    shutil.copytree(classifier.ASSETS, tmp_path / "assets")
    path = tmp_path / "assets" / classifier.shipped_name("mnist")
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(GanError, match=r"is damaged \(SHA-256 mismatch\); reinstall gan_mnist, "
                       r"or pass --classifier-dir to train one"):
        classifier.shipped("mnist", str(tmp_path / "assets"))
    os.remove(path)
    with pytest.raises(GanError, match="cannot be read"):
        classifier.shipped("mnist", str(tmp_path / "assets"))


def test_classifier_script_ships_a_trained_classifier(classifier_dir, mnist_dir, tmp_path):
    assets = tmp_path / "assets"
    result = run(os.path.join(REPO, "scripts", "classifier.py"), "--classifier-dir",
                 classifier_dir, "--data-dir", mnist_dir, "--assets-dir", str(assets))
    assert result.returncode == 0, result.stderr
    assert "wrote %s" % (assets / "classifier-mnist.npz") in result.stdout
    shipped = classifier.shipped("mnist", str(assets))  # its SHA-256 is in SHA256SUMS
    assert shipped.info["weights"] == "float16"
    assert shipped.test_accuracy == pytest.approx(
        classifier.accuracy_on_test_set(shipped, mnist_dir), abs=5e-4)
    with open(os.path.join(classifier_dir, classifier.INFO_FILE)) as f:
        float32 = json.load(f)["test_accuracy"]
    assert shipped.info["test_accuracy_float32"] == float32
    assert abs(shipped.test_accuracy - float32) < 0.002  # float16 costs next to nothing


def test_a_classifier_trained_in_a_folder_loads_from_it(classifier_dir, mnist_dir):
    with open(os.path.join(classifier_dir, classifier.INFO_FILE)) as f:
        info = json.load(f)
    assert info["test_accuracy"] >= 0.97  # one epoch
    from gan_mnist.core import data

    test_x, test_y = data.load_split(mnist_dir, "test")
    trained = classifier.load(classifier_dir, mnist_dir)
    assert trained.info == info
    probs, features = trained.predict(test_x[:2000])
    assert features.shape == (2000, classifier.FEATURES) and probs.shape == (2000, 10)
    assert (probs.argmax(1) == test_y[:2000]).mean() >= 0.96


@pytest.fixture(scope="module")
def short_run(tmp_path_factory, mnist_dir):
    """300 real training steps with a quick evaluation every 100 (the shipped classifier)."""
    from gan_mnist.training.config import resolve

    root = tmp_path_factory.mktemp("run")
    config = resolve(dict(steps=300, eval_every=100, log_every=50, sample_every=100,
                          data_dir=mnist_dir,
                          checkpoint_dir=str(root / "checkpoints"), output_dir=str(root / "out")))
    assert trainer.train(config, quick_evaluator) == 0
    return config


def test_training_logs_quick_evaluation_and_keeps_best(short_run):
    with open(os.path.join(short_run.output_dir, "log.csv")) as f:
        rows = [r for r in csv.DictReader(f) if r["fid"]]
    assert [int(r["step"]) for r in rows] == [100, 200, 300]
    fids = [float(r["fid"]) for r in rows]
    assert all(f > 0 for f in fids)
    assert all(1 <= float(r["inception_score"]) <= 10 for r in rows)
    best = json.load(open(os.path.join(short_run.checkpoint_dir, "best.json")))
    assert best["fid"] == pytest.approx(min(fids), rel=1e-4)
    assert best["step"] == [100, 200, 300][int(np.argmin(fids))]
    index = open(os.path.join(short_run.checkpoint_dir, checkpoints.BEST_INDEX)).read()
    assert says(index, "best.ckpt-%d" % best["step"])
    # the newest-checkpoint index still names the newest, not the best
    assert checkpoints.latest(short_run.checkpoint_dir).endswith("model.ckpt-300")


def test_evaluate_script_writes_every_number_and_figure(short_run, mnist_dir, tmp_path, capsys):
    """evaluate.py's main in this process (the script's own process runs in
    test_docs_commands, the README's `evaluate.py`, and in test_conditional)."""
    out = tmp_path / "eval"
    assert exit_code_of(evaluate_command.main, "--checkpoint-dir", short_run.checkpoint_dir,
                        "--n", "1000", "--output-dir", out, "--data-dir", mnist_dir) == 0
    result = capsys.readouterr()
    assert "training the" not in result.err  # the shipped classifier, at once
    assert "FID vs test set" in result.out and says(result.out, "step 300")
    report = json.load(open(out / "evaluation.json"))
    assert report["step"] == 300 and report["n"] == 1000
    assert report["classifier_test_accuracy"] >= 0.99
    for side in ("generated", "real"):
        r = report[side]
        for key in ("inception_score", "inception_score_std", "fid", "precision", "recall",
                    "modes_covered", "tv_from_uniform", "class_share", "nearest_train_l2"):
            assert key in r, (side, key)
        assert 1 <= r["inception_score"] <= 10 and 0 <= r["precision"] <= 1
        assert len(r["class_share"]) == 10 and sum(r["class_share"]) == pytest.approx(1, 1e-3)
    # real digits are the ceiling a 300-step GAN does not reach
    assert report["real"]["fid"] < report["generated"]["fid"]
    assert report["real"]["inception_score"] > 9 > report["generated"]["inception_score"]
    assert report["real"]["nearest_train_l2"]["min"] > 0  # measured against *other* images
    for name in ("nearest_neighbours.png", "closest_pairs.png", "memorisation.png"):
        assert Image.open(out / name).size[0] > 100


def test_evaluate_samples_file(short_run, classifier_dir, mnist_dir, tmp_path):
    from gan_mnist.evaluation import sampling

    digits, _, _ = sampling.generate(short_run.checkpoint_dir, 500)
    path = tmp_path / "digits.npy"
    np.save(path, digits)
    assert exit_code_of(evaluate_command.main, "--samples", path, "--output-dir", tmp_path / "o",
                        "--classifier-dir", classifier_dir, "--data-dir", mnist_dir) == 0
    report = json.load(open(tmp_path / "o" / "evaluation.json"))
    assert report["n"] == 500
    with open(os.path.join(classifier_dir, classifier.INFO_FILE)) as f:
        assert report["classifier_test_accuracy"] == json.load(f)["test_accuracy"]


@pytest.mark.parametrize("array, message", [
    (np.zeros((20, 28, 28), np.float32), "holds float32 values; expected uint8"),
    (np.zeros((20, 32, 32), np.uint8), "has shape (20, 32, 32); expected (N, 28, 28)"),
    (np.zeros((784,), np.uint8), "has shape (784,)"),
])
def test_samples_with_wrong_shape_or_dtype(tmp_path, array, message, capsys):
    """Through evaluate's main in this process (the script's own process is the next test's)."""
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(GanError) as error:
        evaluate.load_samples(str(path))
    assert message in str(error.value)
    code = exit_code_of(evaluate_command.main, "--samples", path, "--output-dir", tmp_path / "o")
    assert code == 1
    assert capsys.readouterr().err.strip().splitlines() == ["error: " + str(error.value)]
    assert not (tmp_path / "o" / evaluate.REPORT_FILE).exists()


def test_a_samples_file_that_is_not_npy_gets_one_clear_line(tmp_path):
    path = tmp_path / "digits.txt"
    np.savetxt(path, np.zeros((20, 784), np.uint8), fmt="%d")
    result = run(EVALUATE, "--samples", str(path), "--output-dir", str(tmp_path / "o"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: %s is not a NumPy .npy file; write the digits with scripts/sample.py --npy, or "
        "np.save(path, uint8 array of shape (N, 28, 28))" % path]
    assert not (tmp_path / "o" / evaluate.REPORT_FILE).exists()
    with pytest.raises(GanError, match="cannot read .*missing.npy"):
        evaluate.load_samples(str(tmp_path / "missing.npy"))


def test_real_digits_score_as_real_digits(mnist_dir):
    """2000 training digits measured as if generated, with the shipped classifier, against the
    test digits: realistic (precision), covering (recall), every class, a small FID, and each
    one a copy of a training digit (distance 0), while the real digits drawn beside them are
    measured against the *other* training digits."""
    evaluator = evaluate.Evaluator(None, mnist_dir)
    index = np.random.RandomState(1).choice(len(evaluator.train_images), 2000, replace=False)
    report, _, _ = evaluator.full(evaluator.train_images[index], seed=1)
    for side in ("generated", "real"):
        scores = report[side]
        assert scores["precision"] >= 0.6 and scores["recall"] >= 0.6, (side, scores)
        assert scores["modes_covered"] == 10, (side, scores)
        assert scores["fid"] < 2, (side, scores)  # 2000 digits: about 1.3
        assert scores["inception_score"] > 9, (side, scores)
    assert report["generated"]["nearest_train_l2"]["mean"] == pytest.approx(0, abs=1e-3)
    assert report["real"]["nearest_train_l2"]["median"] > 2


def test_the_test_digits_predictions_come_from_the_cache_and_equal_a_fresh_prediction(
        mnist_dir, tmp_path, monkeypatch):
    """The reference's probabilities and features are computed once per classifier and digits,
    then read from the cache (a second's work saved at every quick evaluation); a damaged cache
    file is computed again."""
    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path / "cache"))
    first = evaluate.Evaluator(None, mnist_dir)
    probs, features = first.classifier.predict(first.test_images)
    np.testing.assert_array_equal(first.test_probs, probs)
    np.testing.assert_array_equal(first.test_features, features)
    entries = list((tmp_path / "cache" / "test_predictions").glob("*.npy"))
    assert len(entries) == 1 and np.load(entries[0]).shape == (10000, 10 + features.shape[1])
    calls = []
    monkeypatch.setattr(classifier.Classifier, "predict",
                        lambda self, images, batch=1000: calls.append(len(images)))
    second = evaluate.Evaluator(None, mnist_dir)
    assert calls == []  # nothing predicted: read from the cache
    np.testing.assert_array_equal(second.test_features, features)
    entries[0].write_bytes(b"not an array")
    monkeypatch.undo()
    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path / "cache"))
    third = evaluate.Evaluator(None, mnist_dir)
    np.testing.assert_array_equal(third.test_features, features)
    assert np.load(entries[0]).shape == (10000, 10 + features.shape[1])  # written again


def test_plot_script_regenerates_all_figures(short_run, mnist_dir):
    result = run(PLOT, "--output-dir", short_run.output_dir, "--checkpoint-dir",
                 short_run.checkpoint_dir, "--data-dir", mnist_dir)
    assert result.returncode == 0, result.stderr
    for name in ("curves.png", "interpolation.png", "real_vs_fake.png",
                 "nearest_neighbours.png"):
        path = os.path.join(short_run.output_dir, name)
        assert name in result.stdout and Image.open(path).size[0] > 100
    gif = Image.open(os.path.join(short_run.output_dir, "progress.gif"))
    assert gif.n_frames == 4  # steps 0, 100, 200, 300
    rows = np.array(Image.open(os.path.join(short_run.output_dir, "real_vs_fake.png")))
    assert rows.shape == (3 * 30 + 2, 10 * 30 + 2)


def _write_log(folder, rows):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "log.csv"), "w") as f:
        f.write("step,d_loss,g_loss,d_real,d_fake,fid,inception_score,wall_time\n")
        for step, fid, wall in rows:
            f.write("%d,1,1,0.5,0.5,%s,%s,%.3f\n" % (step, fid or "", 5 if fid else "", wall))


def test_training_minutes_leave_out_the_pause_between_stop_and_resume():
    from gan_mnist.evaluation.figures import training_minutes

    # 100 steps every 10 s; stopped after step 300, resumed an hour later.
    rows = [dict(step=s, wall_time=t) for s, t in
            [(100, 1010), (200, 1020), (300, 1030), (400, 4640), (500, 4650)]]
    minutes = training_minutes(rows)
    np.testing.assert_allclose(np.array(minutes) * 60, [10, 20, 30, 40, 50])


def test_plot_compare_draws_quick_fid_against_minutes(tmp_path, capsys):
    """plot.py's main in this process (the script runs as a process in test_docs_commands)."""
    from gan_mnist.commands import plot

    _write_log(tmp_path / "a" / "output", [(100, None, 10), (200, 80.0, 20), (300, 40.0, 30)])
    _write_log(tmp_path / "b", [(100, 90.0, 10), (200, 60.0, 20)])
    out = tmp_path / "cmp.png"
    capsys.readouterr()
    assert exit_code_of(plot.main, "--compare", tmp_path / "a" / "output",
                        "fast=%s" % (tmp_path / "b"), "--out", out) == 0
    assert capsys.readouterr().out.strip() == "wrote %s" % out and out.stat().st_size > 5000
    _write_log(tmp_path / "c", [(100, None, 10)])
    assert exit_code_of(plot.main, "--compare", tmp_path / "c", "--out", tmp_path / "x.png") == 1
    assert not (tmp_path / "x.png").exists()
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: c has no quick FID in %s: train with --eval-every N to log it"
        % (tmp_path / "c" / "log.csv")]
