"""Export: a SavedModel (and TFLite file) that a plain TensorFlow program, which has never heard of
gan_mnist, loads and runs, giving sample.py's digits for the same noise."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gan_mnist.training import config as config_lib, trainer
from gan_mnist.evaluation import sampling
from gan_mnist.commands import export as export_command
from tests.conftest import REPO, exit_code_of, says

EXPORT = os.path.join(REPO, "scripts", "export.py")
STEPS = {"fc": 60, "mlp256": 60, "dcgan": 4, "cnn": 4}
WITH_TFLITE = ("fc", "dcgan")  # a dense and a batch-normalised convolutional generator

# Runs in its own process from another folder: TensorFlow alone, gan_mnist not importable.
PLAIN_TF = r"""
import json, sys
import numpy as np
import tensorflow as tf
jobs = json.load(open(sys.argv[1]))
for job in jobs:
    model = tf.saved_model.load(job["model"])
    z = np.load(job["z"])
    digits = model.signatures["generate"](z=tf.constant(z))["digits"].numpy()
    np.save(job["out"], digits)
    a = model.signatures["sample"](seed=tf.constant(7, tf.int64), n=tf.constant(5))
    b = model.signatures["sample"](seed=tf.constant(7, tf.int64), n=tf.constant(5))
    assert a["digits"].shape == (5, 28, 28) and a["digits"].dtype == tf.uint8
    assert np.array_equal(a["digits"].numpy(), b["digits"].numpy())
    if job.get("tflite"):  # through its signature, as docs/usage.md shows
        interpreter = tf.lite.Interpreter(model_path=job["tflite"])
        signatures = interpreter.get_signature_list()
        assert signatures == {"generate": {"inputs": ["z"], "outputs": ["digits"]}}, signatures
        digits = interpreter.get_signature_runner("generate")(z=z)["digits"]
        np.save(job["out"] + ".tflite.npy", digits)
assert not any(name.startswith("gan_mnist") for name in sys.modules)
try:
    import gan_mnist  # noqa: F401
except ImportError:
    print("ok: gan_mnist is not importable here")
"""


def export(*args):
    return subprocess.run([sys.executable, EXPORT] + list(args), capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_dir):
    """A few real steps of every recipe (the weights only need to be trained, not good)."""
    root = tmp_path_factory.mktemp("recipes")
    folders = {}
    for arch, steps in STEPS.items():
        config = config_lib.resolve(dict(arch=arch, steps=steps, eval_every=0, data_dir=mnist_dir,
                                         checkpoint_dir=str(root / arch),
                                         output_dir=str(root / (arch + "_out"))))
        assert trainer.train(config) == 0
        folders[arch] = config.checkpoint_dir
    return folders


def test_every_recipe_exports_and_runs_in_plain_tensorflow(trained, tmp_path, capsys):
    """export.py's main in this process for each recipe (the script's own process exports in
    the tests below and in test_docs_commands); the models run in a process of their own."""
    jobs, expected = [], {}
    for arch, folder in trained.items():
        model = str(tmp_path / ("model_" + arch))
        flags = ["--tflite"] if arch in WITH_TFLITE else []
        assert exit_code_of(export_command.main, "--checkpoint-dir", folder, "--out", model,
                            *flags) == 0
        assert says(capsys.readouterr().out, "exported the generator of step %d" % STEPS[arch])
        generator = sampling.Generator(folder)
        z = generator.noise(16, seed=3)
        np.save(tmp_path / (arch + "_z.npy"), z)
        expected[arch] = generator(z)  # what sample.py writes for this noise
        jobs.append({"model": model, "z": str(tmp_path / (arch + "_z.npy")),
                     "out": str(tmp_path / (arch + "_digits.npy")),
                     "tflite": os.path.join(model, "generator.tflite") if flags else None})
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    (tmp_path / "plain.py").write_text(PLAIN_TF)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, str(tmp_path / "plain.py"),
                             str(tmp_path / "jobs.json")], cwd=elsewhere, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ok: gan_mnist is not importable here" in result.stdout
    for arch in trained:
        digits = np.load(tmp_path / (arch + "_digits.npy"))
        assert digits.dtype == np.uint8 and digits.shape == (16, 28, 28)
        difference = np.abs(digits.astype(int) - expected[arch].astype(int)).max()
        assert difference <= 1, (arch, difference)
        if arch in WITH_TFLITE:
            lite = np.load(tmp_path / (arch + "_digits.npy.tflite.npy"))
            assert lite.dtype == np.uint8 and lite.shape == (16, 28, 28)
            assert np.abs(lite.astype(int) - expected[arch].astype(int)).max() <= 1, arch


def test_bad_export_requests_get_one_line(trained, tmp_path, capsys):
    """The first request in export.py's own process (stderr: that one line, no TensorFlow
    start-up noise), the others through export's main in this process."""
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    for args, message in [
        (["--checkpoint-dir", trained["fc"], "--out", str(taken)],
         "error: %s already exists; choose another --out or remove it first" % taken),
        (["--checkpoint-dir", str(tmp_path / "none"), "--out", str(tmp_path / "m")],
         "error: no trained model in %s" % (tmp_path / "none")),
        (["--checkpoint-dir", trained["fc"], "--out", str(tmp_path / "no" / "m")],
         "error: cannot write %s: the folder %s does not exist" % (tmp_path / "no" / "m",
                                                                  tmp_path / "no")),
    ]:
        if str(taken) in args:
            result = export(*args)
            code, stderr = result.returncode, result.stderr
        else:
            code, stderr = exit_code_of(export_command.main, *args), capsys.readouterr().err
        assert code == 1
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(message), stderr
    assert (taken / "keep.txt").read_text() == "mine"  # nothing overwritten
    result = export("--checkpoint-dir", trained["fc"])
    assert result.returncode == 2 and "give --out DIR (a SavedModel), --web DIR (a web page), " \
        "or both" in result.stderr
