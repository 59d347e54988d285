"""--latent-code K (InfoGAN): G draws a random code 0..K-1 beside its noise and D learns to read
it back. Codes are drawn statelessly like the noise, the info loss is the cross-entropy of D's
guess, the code changes G's digits, grids have a row per code, and sampling, evaluation and
export draw the codes in turn, as training draws them uniformly."""
import csv
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gan_mnist import GanError, cli, images, losses, models, sampling, trainer
from gan_mnist import config as config_lib
from gan_mnist.pipeline import build_inputs
from gan_mnist.tf_compat import tf


def test_info_loss_on_hand_made_logits():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], np.float32)
    with tf.Graph().as_default(), tf.Session() as s:
        loss = s.run(losses.info_loss(tf.constant(logits), tf.constant([0, 2])))
    sure = -np.log(np.exp(2) / (np.exp(2) + 2))  # code 0 guessed with logit 2
    assert loss == pytest.approx((sure + np.log(3)) / 2, rel=1e-5)


def test_codes_are_uniform_and_a_function_of_seed_and_step():
    with tf.Graph().as_default(), tf.Session() as s:
        step = tf.placeholder(tf.int64, [])
        inputs = build_inputs(10, 2000, 4, seed=3, step=step, codes=5)
        s.run(inputs.images.initializer, {inputs.images_feed: np.zeros((10, 28, 28), np.uint8)})
        first, again, second = (s.run(inputs.codes, {step: k}) for k in (7, 7, 8))
    np.testing.assert_array_equal(first, again)  # a resumed run draws the same codes
    assert (first != second).mean() > 0.5
    assert set(first) == set(range(5)) and np.bincount(first).min() > 300  # ~400 each


def test_the_code_changes_the_digits_and_d_has_a_head_to_read_it():
    config = config_lib.resolve({"arch": "fast", "latent_code": 4, "seed": 1})
    tg = trainer.build_training_graph(config, 50)
    digits = np.random.RandomState(0).randint(0, 256, (50, 28, 28)).astype(np.uint8)
    with tg.graph.as_default():
        head = tf.global_variables("discriminator/code/weights")[0]
        assert head.shape.as_list() == [7 * 7 * 64, 4]
    noise = np.tile(trainer.fixed_noise(config, 1), (4, 1))
    with trainer.start_session(tg, digits) as s:
        for _ in range(3):
            s.run(tg.ops.train_step)
        drawn = s.run(tg.samples, {tg.sample_z: noise, tg.sample_labels: np.eye(4)})
    assert min(np.abs(drawn[i] - drawn[j]).max() for i in range(4) for j in range(i)) > 0.01


def test_latent_code_is_part_of_the_model_and_not_with_conditional():
    saved = config_lib.resolve({"arch": "fast", "latent_code": 10}).__dict__
    assert config_lib.resolve({}, saved).latent_code == 10  # the same command resumes with it
    with pytest.raises(GanError, match="latent_code=10 but you asked for latent_code=5"):
        config_lib.resolve({"latent_code": 5}, saved)
    with pytest.raises(GanError, match="use one of them"):
        config_lib.resolve({"latent_code": 10, "conditional": True})


@pytest.fixture(scope="module")
def code_run(tmp_path_factory, mnist_dir):
    """A short fast --latent-code 3 run with a quick evaluation, from train.py's command line."""
    folder = tmp_path_factory.mktemp("code")
    assert cli.train_main(["--arch", "fast", "--latent-code", "3", "--steps", "40",
                           "--eval-every", "40", "--sample-every", "40", "--data-dir", mnist_dir,
                           "--checkpoint-dir", str(folder / "c"),
                           "--output-dir", str(folder / "o")]) == 0
    return folder


def test_grids_have_a_row_per_code_and_no_label_accuracy(code_run):
    folder = str(code_run / "c")
    config = config_lib.resolve({}, config_lib.load_saved(folder))
    noise, codes, columns = trainer.grid_inputs(config)
    assert codes.shape == (24, 3) and columns == 8
    grid = np.array(Image.open(code_run / "o" / "samples_step_000040.png"))
    np.testing.assert_array_equal(grid, images.grid(sampling.Generator(folder)(noise, codes), 8))
    with open(code_run / "o" / "log.csv") as f:
        evaluated = [row for row in csv.DictReader(f) if row["fid"]]
    assert evaluated and not any(row["label_accuracy"] for row in evaluated)


def test_samples_draw_the_codes_in_turn_and_are_not_labelled(code_run, tmp_path, capsys):
    folder = str(code_run / "c")
    digits, _, labels = sampling.generate(folder, 6, seed=2)
    assert labels is None  # codes are not classes
    generator = sampling.Generator(folder)
    np.testing.assert_array_equal(digits, generator(generator.noise(6, 2), [0, 1, 2, 0, 1, 2]))
    with pytest.raises(GanError, match="unconditional"):
        sampling.generate(folder, 6, classes=[3])
    assert cli.sample_main(["--checkpoint-dir", folder, "--npy", str(tmp_path / "d.npy"),
                            "--n", "20"]) == 0
    assert not (tmp_path / "d.labels.npy").exists()
    with pytest.raises(SystemExit) as stop:
        cli.sample_main(["--checkpoint-dir", folder, "--label", "3"])
    assert stop.value.code == 2 and "conditional" in capsys.readouterr().err


def test_export_takes_a_code(code_run, tmp_path):
    from gan_mnist import export

    folder, model = str(code_run / "c"), str(tmp_path / "model")
    export.export(folder, model)
    generator = sampling.Generator(folder)
    z, codes = generator.noise(6, seed=4), np.array([2, 0, 1, 1, 0, 2], np.int32)
    program = (
        "import sys, numpy as np, tensorflow as tf\n"
        "m = tf.saved_model.load(sys.argv[1])\n"
        "d = m.signatures['generate'](z=tf.constant(np.load(sys.argv[2])),\n"
        "                             code=tf.constant(np.load(sys.argv[3])))['digits']\n"
        "np.save(sys.argv[4], d.numpy())\n"
        "s = m.signatures['sample'](seed=tf.constant(1, tf.int64), n=tf.constant(5))\n"
        "print(s['code'].numpy().tolist())\n")
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "codes.npy", codes)
    out = subprocess.run([sys.executable, "-c", program, model, str(tmp_path / "z.npy"),
                          str(tmp_path / "codes.npy"), str(tmp_path / "out.npy")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0, 1, 2, 0, 1]"
    exported = np.load(tmp_path / "out.npy")
    assert np.abs(exported.astype(int) - generator(z, codes).astype(int)).max() <= 1
