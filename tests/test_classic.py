"""gan_mnist/classic.py, the seeds' GAN in one file: it is the package's `fc` step written the
tutorials' way (the same weights after hundreds of steps from the same start), and it trains,
resumes and writes grids as its docstring says."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gan_mnist.training import graph as training_graph
from gan_mnist import classic
from gan_mnist.core.gan import Phase
from gan_mnist.tf_compat import tf
from gan_mnist.training.config import resolve
from tests.conftest import says

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 200


def trainable(graph, session):
    with graph.as_default():
        variables = tf.trainable_variables()
    return dict(zip([v.op.name for v in variables], session.run(variables)))


@pytest.mark.quick
def test_fc_fused_step_and_classic_end_with_the_same_weights():
    """The same initial weights, batches and noise: STEPS fused `fc` steps of the package and
    STEPS of classic.py's two feed_dict calls leave every weight the same."""
    images = np.random.RandomState(0).randint(0, 256, (500, 28, 28)).astype(np.uint8)
    config = resolve({"batch_size": 32, "seed": 1})  # fc, classic.py's settings
    assert (config.arch, config.z_dim, config.hidden, config.lr_d, config.lr_g, config.beta1,
            config.label_smoothing) == ("fc", classic.Z_DIM, classic.HIDDEN,
                                        classic.LEARNING_RATE, classic.LEARNING_RATE,
                                        classic.BETA1, classic.SMOOTHING)
    tg = training_graph.build_training_graph(config, len(images))
    batches = []
    with training_graph.start_session(tg, images) as s:
        initial = trainable(tg.graph, s)
        for _ in range(STEPS):
            batches.append(s.run([tg.inputs.real, tg.inputs.z]))  # what this step will draw
            s.run(tg.ops.steps[Phase.TRAIN])
        fused = trainable(tg.graph, s)

    graph = tf.Graph()
    with graph.as_default():
        gan = classic.build()
        init = tf.global_variables_initializer()
        weights = tf.trainable_variables()
    with tf.Session(graph=graph) as s:
        s.run(init)
        assert sorted(v.op.name for v in weights) == sorted(initial)
        for v in weights:
            v.load(initial[v.op.name], s)
        for real, z in batches:
            classic.train_step(s, gan, real, z)
        assert s.run(gan["step"]) == STEPS
        after = trainable(graph, s)
    for name, value in after.items():
        assert np.abs(value - initial[name]).max() > 1e-3, name  # it did train
        np.testing.assert_allclose(fused[name], value, rtol=1e-4, atol=1e-5, err_msg=name)


def run_classic(cwd, *flags, env=None):
    return subprocess.run([sys.executable, "-m", "gan_mnist.classic", *flags], cwd=cwd,
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=ROOT, **(env or {})))


def test_classic_trains_writes_grids_and_resumes(tmp_path, mnist_dir):
    """The first run in this process, into the folders the script's defaults name (the README's
    command runs it as a process in test_docs_commands); the resume as a process of its own."""
    with tf.Graph().as_default():
        assert classic.main(["--steps", "500", "--checkpoint-dir",
                             str(tmp_path / "checkpoints-classic"),
                             "--output-dir", str(tmp_path / "output-classic")]) == 0
    grid = tmp_path / "output-classic" / "samples_step_000500.png"
    with Image.open(grid) as image:
        assert image.size == (224, 224) and image.mode == "L"
        pixels = np.asarray(image)
    assert pixels.std() > 10  # digits-to-be, not a blank page
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints-classic")).endswith("-500")

    again = run_classic(tmp_path, "--steps", "600")
    assert again.returncode == 0, again.stderr
    assert says(again.stdout, "resumed from step 500"), again.stdout
    assert says(again.stdout, "step 600")
    assert re.search(r"step 600  D loss [\d.]+  G loss [\d.]+  D\(x\) 0\.\d\d  D\(G\(z\)\) "
                     r"0\.\d\d", again.stdout), again.stdout
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints-classic")).endswith("-600")


@pytest.mark.quick
def test_classic_without_mnist_files_says_so_in_one_line(tmp_path):
    (tmp_path / "data").mkdir()
    result = run_classic(tmp_path, "--steps", "10", "--data-dir", str(tmp_path / "data"),
                         env={"MNIST_MIRRORS": "file://%s/nowhere/" % tmp_path})
    assert result.returncode == 1
    last = result.stderr.splitlines()[-1]  # after the download attempt's progress line
    assert last.startswith("error: could not download train-images"), result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "checkpoints-classic").exists()


def test_classic_starts_from_xavier_weights_and_real_digits_in_tanhs_range(tmp_path, mnist_dir):
    """What classic.main itself does, read back from its own first checkpoint and its own data
    path: every weight matrix starts with Xavier's uniform spread (limit sqrt(6 / (in + out)),
    std limit / sqrt(3)), biases at zero, and the real digits it trains on lie in [-1, 1], black
    at -1 and white at 1, as G's tanh draws."""
    with tf.Graph().as_default():
        assert classic.main(["--steps", "1", "--checkpoint-dir", str(tmp_path / "c"),
                             "--output-dir", str(tmp_path / "o"), "--data-dir", mnist_dir]) == 0
    path = tf.train.latest_checkpoint(str(tmp_path / "c"))
    assert path.endswith("-1")
    reader = tf.train.load_checkpoint(path)
    for name in ("generator/hidden/weights", "generator/output/weights",
                 "discriminator/hidden/weights", "discriminator/logit/weights"):
        w = reader.get_tensor(name)
        limit = np.sqrt(6.0 / sum(w.shape))
        # one Adam step moves a weight by at most about its learning rate
        assert np.abs(w).max() <= limit + 2 * classic.LEARNING_RATE, name
        if w.size > 1000:
            assert abs(w.std() / (limit / np.sqrt(3)) - 1) < 0.05, (name, w.std())
    for name in ("generator/hidden/biases", "discriminator/hidden/biases"):
        assert np.abs(reader.get_tensor(name)).max() <= 2 * classic.LEARNING_RATE, name
    digits = classic.real_digits(mnist_dir)
    assert digits.shape == (60000, 784) and digits.dtype == np.float32
    assert digits.min() == -1.0 and digits.max() == 1.0
    assert np.median(digits) == -1.0  # most of a digit is black page
