"""--conditional: G and D see the class label, for every recipe. The label changes G's digits,
grids have one row per class, sample.py --label draws only the asked classes, evaluation
measures label accuracy and intra-FID, export takes a label, and a conditional run resumes
bit-identically from the default relative folders."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gan_mnist.core.architectures import ARCHITECTURES
from gan_mnist.techniques import conditioning as conditioning_lib
from gan_mnist.training import graph as training_graph
from gan_mnist.errors import GanError
from gan_mnist.training import checkpoints, trainer
from gan_mnist.evaluation import classifier, sampling
from gan_mnist.core import gan
from gan_mnist.training import config as config_lib
from gan_mnist.techniques.conditioning import of as conditioning_of
from gan_mnist.tf_compat import tf
from tests.conftest import CONDITIONAL_STEPS, REPO, exit_code_of, says

SCRIPTS = os.path.join(REPO, "scripts")


def script(name, *args, cwd=None):
    return subprocess.run([sys.executable, os.path.join(SCRIPTS, name), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_the_label_changes_the_generators_digits(arch):
    config = config_lib.resolve({"arch": arch, "conditional": True, "seed": 3})
    with tf.Graph().as_default(), tf.Session() as s:
        z = tf.constant(np.random.RandomState(0).uniform(-1, 1, (10, config.z_dim)), tf.float32)
        labels = tf.placeholder(tf.float32, [None, conditioning_lib.NUM_CLASSES])
        fake = gan.generator(z, config.model_spec(), conditioning_of(config), training=False,
                             labels=labels)
        s.run(tf.global_variables_initializer())
        as_three = s.run(fake, {labels: conditioning_lib.one_hot([3] * 10)})
        as_seven = s.run(fake, {labels: conditioning_lib.one_hot([7] * 10)})
        again = s.run(fake, {labels: conditioning_lib.one_hot([3] * 10)})
        assert as_three.shape == (10, 784)
        np.testing.assert_array_equal(as_three, again)
        assert np.abs(as_three - as_seven).mean() > 1e-4
        # D has the projection matrix (and no such thing without --conditional).
        gan.discriminator(fake, config.model_spec(), conditioning_of(config), labels=labels)
        names = [v.op.name for v in tf.global_variables()]
        assert "discriminator/projection/weights" in names


def test_unconditional_models_have_no_label_inputs():
    config = config_lib.resolve({"arch": "fc"})
    tg = training_graph.build_training_graph(config, 10)
    assert tg.inputs.labels is None and tg.sample_labels is None and tg.model.labels is None
    with tg.graph.as_default():
        assert not [v for v in tf.global_variables() if "projection" in v.op.name]


def test_grids_have_one_row_per_class_and_the_quick_evaluation_logs_label_accuracy(
        conditional_run):
    grid = np.array(Image.open(conditional_run / "o" /
                               ("samples_step_%06d.png" % CONDITIONAL_STEPS)))
    assert grid.shape == (10 * 30 + 2, 8 * 30 + 2)  # 10 rows (classes) x 8 noise vectors
    # Down a column the noise is the same and the class changes: the rows differ.
    cells = [grid[2 + 30 * r:30 * (r + 1), 2:30] for r in range(10)]
    assert all(not np.array_equal(cells[0], c) for c in cells[1:])
    with open(conditional_run / "o" / "log.csv") as f:
        header, *rows = f.read().splitlines()
    assert "label_accuracy" in header.split(",")
    scored = [r for r in rows if r.split(",")[header.split(",").index("label_accuracy")]]
    assert len(scored) == 1
    accuracy = float(scored[0].split(",")[header.split(",").index("label_accuracy")])
    assert 0.2 <= accuracy <= 1  # after 200 steps already well above chance (0.1)
    saved = json.load(open(conditional_run / "c" / "config.json"))
    assert saved["conditional"] is True


def test_sample_label_writes_only_the_asked_classes(conditional_model, tmp_path, capsys):
    """sample.py's main in this process (the script runs as a process in test_docs_commands,
    conditional.md's `sample.py --label`)."""
    from gan_mnist.commands import sample

    folder = conditional_model
    capsys.readouterr()
    assert exit_code_of(sample.main, "--checkpoint-dir", folder, "--label", "3", "--label",
                        "0,7", "--n", "30", "--npy", tmp_path / "d.npy", "--png",
                        tmp_path / "d.png") == 0
    out = capsys.readouterr().out
    labels = np.load(tmp_path / "d.labels.npy")
    digits = np.load(tmp_path / "d.npy")
    assert digits.shape == (30, 28, 28) and labels.shape == (30,) and labels.dtype == np.uint8
    assert labels.tolist() == [3, 0, 7] * 10
    assert "wrote their labels to %s" % (tmp_path / "d.labels.npy") in out
    # Without --label: the classes in turn, each digit 0-9 equally often.
    assert exit_code_of(sample.main, "--checkpoint-dir", folder, "--n", "20", "--npy",
                        tmp_path / "all.npy") == 0
    assert np.load(tmp_path / "all.labels.npy").tolist() == list(range(10)) * 2
    # The same noise and class give the same digit: the labels file tells the truth.
    generator = sampling.Generator(folder)
    np.testing.assert_array_equal(generator(generator.noise(30), labels.astype(int)), digits)


def test_api_sample_takes_ints_of_any_kind_strings_and_lists(conditional_model):
    """api.sample takes what sample.py --label takes, and NumPy integers; a bad class raises
    ValueError with the sentence the command prints."""
    from gan_mnist import api

    folder = conditional_model
    sevens = api.sample(folder, n=4, label=7)
    for same in (np.int64(7), "7", [7], np.array([7])):
        np.testing.assert_array_equal(api.sample(folder, n=4, label=same), sevens)
    drawn = api.generate(folder, n=6, label="3,0")
    assert drawn.labels.tolist() == [3, 0] * 3 and drawn.digits.shape == (6, 28, 28)
    with pytest.raises(ValueError, match="label 12: the model knows the classes 0-9"):
        api.sample(folder, n=4, label=12)


def test_sample_label_3_draws_mostly_threes(conditional_model, tmp_path):
    """Read by the shipped classifier, not by the generator that drew them: a class mapping
    off by one anywhere (training labels, one-hot rows, --label) shows here. sample.py's main
    in this process."""
    from gan_mnist.commands import sample

    assert exit_code_of(sample.main, "--checkpoint-dir", conditional_model, "--label", "3",
                        "--n", "200", "--npy", tmp_path / "threes.npy") == 0
    assert np.load(tmp_path / "threes.labels.npy").tolist() == [3] * 200
    probs, _ = classifier.shipped().predict(np.load(tmp_path / "threes.npy"))
    read = np.bincount(probs.argmax(axis=1), minlength=10)
    assert read[3] >= 180, "the classifier reads these as 0-9: %s" % read.tolist()


def test_bad_labels_and_labels_for_unconditional_models_get_one_line(conditional_run,
                                                                     run_config):
    folder = str(conditional_run / "c")
    for args, message in [(["--label", "12"], "--label 12: the model knows the classes 0-9"),
                          (["--label", "sneaker"], "--label sneaker: the model knows the classes")]:
        result = script("sample.py", "--checkpoint-dir", folder, *args)
        assert result.returncode == 2 and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    plain = run_config(steps=5, eval_every=0)
    assert trainer.train(plain) == 0
    result = script("sample.py", "--checkpoint-dir", plain.checkpoint_dir, "--label", "3")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "--label needs a conditional model" in result.stderr
    # --conditional on an unconditional folder, or missing on a conditional one: refused/kept.
    saved = config_lib.load_saved(plain.checkpoint_dir)
    with pytest.raises(GanError, match="holds a model with conditional=False but you asked "
                                       "for conditional=True; use --fresh"):
        config_lib.resolve({"conditional": True}, saved)
    old = {k: v for k, v in saved.items() if k != "conditional"}  # a config.json from before
    with pytest.raises(GanError, match="conditional=False"):
        config_lib.resolve({"conditional": True}, old)
    assert config_lib.resolve({}, config_lib.load_saved(folder)).conditional


def test_evaluation_reports_label_accuracy_and_intra_fid(conditional_model, tmp_path,
                                                        mnist_dir):
    """evaluate.py as a process; the samples file's round trip through sample.py --npy and
    evaluate.py --samples in this process (their commands' main, as the scripts call it)."""
    from gan_mnist.commands import evaluate, sample

    folder = conditional_model
    result = script("evaluate.py", "--checkpoint-dir", folder, "--n", "500", "--output-dir",
                    str(tmp_path / "e"), "--data-dir", mnist_dir)
    assert result.returncode == 0, result.stderr
    report = json.load(open(tmp_path / "e" / "evaluation.json"))
    generated, real = report["generated"], report["real"]
    assert generated["label_accuracy"] > 0.95 and real["label_accuracy"] > 0.95
    assert sorted(generated["intra_fid"], key=int) == [str(c) for c in range(10)]
    assert generated["mean_intra_fid"] == pytest.approx(np.mean(list(
        generated["intra_fid"].values())))
    assert real["mean_intra_fid"] < generated["mean_intra_fid"]
    assert real["inception_score"] > 8  # the real digits are class-balanced and mixed
    assert "label accuracy (asked class)" in result.stdout
    # Samples written by sample.py --npy carry their labels into evaluate.py --samples.
    assert exit_code_of(sample.main, "--checkpoint-dir", folder, "--label", "1", "--n", "100",
                        "--npy", tmp_path / "ones.npy") == 0
    assert exit_code_of(evaluate.main, "--samples", tmp_path / "ones.npy", "--output-dir",
                        tmp_path / "e1", "--data-dir", mnist_dir) == 0
    ones = json.load(open(tmp_path / "e1" / "evaluation.json"))["generated"]
    assert list(ones["intra_fid"]) == ["1"]


def run_exported(model, z, labels, tmp_path):
    """The exported model's digits for noise ``z`` and int ``labels``, from a plain TensorFlow
    process, and the labels its ``sample`` signature draws for 12 digits."""
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "labels.npy", labels)
    program = (
        "import sys, numpy as np, tensorflow as tf\n"
        "m = tf.saved_model.load(sys.argv[1])\n"
        "z, y = np.load(sys.argv[2]), np.load(sys.argv[3])\n"
        "d = m.signatures['generate'](z=tf.constant(z), label=tf.constant(y))['digits']\n"
        "np.save(sys.argv[4], d.numpy())\n"
        "s = m.signatures['sample'](seed=tf.constant(1, tf.int64), n=tf.constant(12))\n"
        "again = m.signatures['generate'](z=s['z'], label=s['label'])['digits']\n"
        "np.save(sys.argv[4] + '.sampled.npy', s['digits'].numpy())\n"
        "np.save(sys.argv[4] + '.again.npy', again.numpy())\n"
        "print(s['label'].numpy().tolist())\n")
    out = subprocess.run([sys.executable, "-c", program, model, str(tmp_path / "z.npy"),
                          str(tmp_path / "labels.npy"), str(tmp_path / "out.npy")],
                         capture_output=True, text=True, cwd=str(tmp_path), timeout=300)
    assert out.returncode == 0, out.stderr
    # The sample signature's digits are generate's for the noise and labels it reports.
    sampled, again = (np.load(str(tmp_path / "out.npy") + ext) for ext in (".sampled.npy",
                                                                          ".again.npy"))
    assert sampled.shape == (12, 28, 28) and np.array_equal(sampled, again)
    return np.load(tmp_path / "out.npy"), out.stdout.strip()


def test_export_takes_a_label(conditional_model, tmp_path):
    """export.py's main in this process (the script runs as a process in test_export and
    test_docs_commands); the exported model in a plain TensorFlow process."""
    from gan_mnist.commands import export

    folder = conditional_model
    model = str(tmp_path / "model")
    assert exit_code_of(export.main, "--checkpoint-dir", folder, "--out", model) == 0
    generator = sampling.Generator(folder)
    z, labels = generator.noise(12, seed=5), np.array([7, 1] * 6, np.int32)
    exported, sampled_labels = run_exported(model, z, labels, tmp_path)
    assert sampled_labels == str(list(range(10)) + [0, 1])
    assert np.abs(exported.astype(int) - generator(z, labels).astype(int)).max() <= 1


def test_plot_draws_both_interpolations(conditional_run, mnist_dir):
    """plot.py's main in this process (the script runs as a process in test_docs_commands)."""
    from gan_mnist.commands import plot

    assert exit_code_of(plot.main, "--output-dir", conditional_run / "o", "--checkpoint-dir",
                        conditional_run / "c", "--data-dir", mnist_dir) == 0
    for name, rows in (("interpolation.png", 10), ("label_interpolation.png", 10)):
        picture = np.array(Image.open(conditional_run / "o" / name))
        assert picture.shape == (rows * 30 + 2, 10 * 30 + 2), name


def test_a_conditional_run_resumes_bit_identically_from_default_folders(tmp_path, mnist_dir):
    """In a fresh folder, as a user types it: the flag once, then the same command without it."""
    env = dict(os.environ, MNIST_DATA_DIR=mnist_dir)

    def train(cwd, *args):
        os.makedirs(cwd, exist_ok=True)
        result = subprocess.run([sys.executable, os.path.join(SCRIPTS, "train.py"), *args,
                                 "--eval-every", "0"], cwd=cwd, env=env, capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        return result.stdout

    train(tmp_path / "a", "--arch", "fc", "--conditional", "--steps", "60")
    assert says(train(tmp_path / "a", "--steps", "120"), "resumed from step 60")
    train(tmp_path / "b", "--arch", "fc", "--conditional", "--steps", "120")
    a = checkpoints.latest(str(tmp_path / "a" / "checkpoints"))
    b = checkpoints.latest(str(tmp_path / "b" / "checkpoints"))
    assert checkpoints.step_in_path(a) == checkpoints.step_in_path(b) == 120
    names = [n for n, _ in tf.train.list_variables(b)]
    assert "discriminator/projection/weights" in names
    ra, rb = tf.train.load_checkpoint(a), tf.train.load_checkpoint(b)
    for name in names:
        np.testing.assert_array_equal(ra.get_tensor(name), rb.get_tensor(name), err_msg=name)
