"""The quiet start: gan_mnist.tf_compat drops TensorFlow's known start-up lines from file
descriptor 2 and passes everything else on; GAN_MNIST_VERBOSE=1 and the scripts' --verbose show
everything. TensorFlow prints these lines on some machines only, so the tests write known
lines themselves, through the filter and through the very import that runs under it."""
import os
import subprocess
import sys

import pytest

from gan_mnist import tf_compat
from tests.conftest import REPO

# Start-up lines as TensorFlow 2.21 prints them on these machines (without a GPU).
STARTUP_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795947400.948779    5506 port.cc:153] oneDNN custom operations are on. You may "
    "see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.",
    "I0000 00:00:1795947400.949089    5506 cudart_stub.cc:31] Could not find cuda drivers on your "
    "machine, GPU will not be used.",
    "E0000 00:00:1795947407.384661    5506 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "I0000 00:00:1795947401.003499    5506 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.",
]
NOISE = "I0000 00:00:1.0  1 port.cc:153] oneDNN custom operations are on. MARK-NOISE"
ERROR = "E0000 00:00:1.0  1 kernel.cc:7] a real failure: out of memory MARK-ERROR"


def test_the_filter_drops_start_up_lines_and_keeps_the_rest(capfd, monkeypatch):
    monkeypatch.setattr(tf_compat, "VERBOSE", False)
    assert all(tf_compat.STARTUP_NOISE.search(line) for line in STARTUP_LINES + [NOISE])
    assert not tf_compat.STARTUP_NOISE.search(ERROR)
    with tf_compat.without_native_noise():
        for line in STARTUP_LINES[:2] + [ERROR] + STARTUP_LINES[2:] + [NOISE]:
            os.write(2, (line + "\n").encode())
    assert capfd.readouterr().err.splitlines() == [ERROR]


# Run in a fresh process: TensorFlow is imported first (its own start-up lines, if any, are not
# filtered then), its device look-up is made to write NOISE and ERROR to fd 2, and then
# gan_mnist.tf_compat is imported (or a script run) - which looks for devices under the filter.
PROGRAM = r"""
import os, sys
import tensorflow.compat.v1 as tf
look_up = tf.config.list_physical_devices
def noisy_look_up(*args, **kwargs):
    os.write(2, (%r + "\n" + %r + "\n").encode())
    return look_up(*args, **kwargs)
tf.config.list_physical_devices = noisy_look_up
sys.path.insert(0, %r)
if len(sys.argv) > 1:
    import runpy
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
else:
    import gan_mnist.tf_compat
""" % (NOISE, ERROR, REPO)


def run(*args, **env):
    environment = {k: v for k, v in os.environ.items() if k != "GAN_MNIST_VERBOSE"}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", PROGRAM, *args], capture_output=True, text=True,
                          env=environment, cwd=REPO, timeout=300)


def test_importing_tensorflow_drops_start_up_lines_and_keeps_errors():
    result = run()
    assert result.returncode == 0, result.stderr
    assert "MARK-ERROR" in result.stderr and "MARK-NOISE" not in result.stderr


def test_gan_mnist_verbose_shows_everything():
    result = run(GAN_MNIST_VERBOSE="1")
    assert result.returncode == 0, result.stderr
    assert "MARK-ERROR" in result.stderr and "MARK-NOISE" in result.stderr


@pytest.mark.parametrize("verbose", [False, True])
def test_a_scripts_verbose_flag_shows_everything(tmp_path, verbose):
    """sample.py on an empty folder: TensorFlow starts, then one error line."""
    args = [os.path.join(REPO, "scripts", "sample.py"), "--checkpoint-dir", str(tmp_path),
            "--npy", str(tmp_path / "digits.npy")] + (["--verbose"] if verbose else [])
    result = run(*args)
    assert result.returncode == 1
    assert "MARK-ERROR" in result.stderr
    assert ("MARK-NOISE" in result.stderr) == verbose
    assert "error: no trained model in %s" % tmp_path in result.stderr


def test_a_convolutional_run_prints_no_tensorflow_error_lines(tmp_path, mnist_dir):
    """train.py on `fast` (as every best run): grappler's note that it skipped its remapper on
    the fused step ("E0000 ... remapper failed: INVALID_ARGUMENT ...") reads like a failure and
    is dropped; --verbose shows it, so the filter is what hides it."""
    said = {}
    for verbose in (False, True):
        folder = tmp_path / ("verbose" if verbose else "quiet")
        result = subprocess.run(
            [sys.executable, os.path.join(REPO, "scripts", "train.py"), "--arch", "fast",
             "--steps", "3", "--data-dir", mnist_dir, "--checkpoint-dir", str(folder / "c"),
             "--output-dir", str(folder / "o")] + (["--verbose"] if verbose else []),
            capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        said[verbose] = result.stderr.replace("\r", "\n").splitlines()
    assert not [line for line in said[False] if "0000 00:00:" in line or "remapper" in line]
    assert any(tf_compat.GRAPPLER_NOISE.search(line) for line in said[True]), said[True]
