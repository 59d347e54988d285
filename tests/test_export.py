"""Export: a SavedModel (and TFLite file) that a plain TensorFlow program, which has never heard of
gan_mnist, loads and runs, giving sample.py's digits for the same noise."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from gan_mnist.training import checkpoints, config as config_lib, trainer
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
        try:  # LiteRT's interpreter, as docs/usage.md uses it; TensorFlow 2.12's where it is not
            from ai_edge_litert.interpreter import Interpreter  # installed (the oldest versions)
        except ImportError:
            Interpreter = tf.lite.Interpreter
        interpreter = Interpreter(model_path=job["tflite"])
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
    """export.py's main in this process for each recipe, and for the shipped `best` generator,
    whose trained weights would show a converter that quantises them (the script's own process
    exports in the tests below and in test_docs_commands); the models run in a process of their
    own, the .tflite files in LiteRT's interpreter, within one grey level of sample.py."""
    from gan_mnist.evaluation import pretrained

    jobs, expected = [], {}
    models = dict(trained, best=pretrained.checkpoint_dir("best"))
    for arch, folder in models.items():
        model = str(tmp_path / ("model_" + arch))
        flags = ["--tflite"] if arch in WITH_TFLITE + ("best",) else []
        assert exit_code_of(export_command.main, "--checkpoint-dir", folder, "--out", model,
                            *flags) == 0
        step = STEPS.get(arch) or checkpoints.step_in_path(checkpoints.latest(folder))
        assert says(capsys.readouterr().out, "exported the generator of step %d" % step)
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
    for arch in models:
        digits = np.load(tmp_path / (arch + "_digits.npy"))
        assert digits.dtype == np.uint8 and digits.shape == (16, 28, 28)
        difference = np.abs(digits.astype(int) - expected[arch].astype(int)).max()
        assert difference <= 1, (arch, difference)
        if arch in WITH_TFLITE + ("best",):
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
        (["--checkpoint-dir", trained["fc"], "--out", str(taken / "keep.txt" / "m")],
         "error: cannot write %s: %s is a file, not a folder" % (taken / "keep.txt" / "m",
                                                                taken / "keep.txt")),
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
    # Missing parents are made; a failed export removes the ones it made (a damaged checkpoint).
    code = exit_code_of(export_command.main, "--checkpoint-dir", trained["fc"], "--out",
                        str(tmp_path / "a" / "b" / "m"))
    assert code == 0 and says(capsys.readouterr().out, "exported the generator of step 60")
    assert os.listdir(tmp_path / "a" / "b") == ["m"]
    assert os.path.exists(tmp_path / "a" / "b" / "m" / "saved_model.pb")
    damaged = tmp_path / "damaged"
    shutil.copytree(trained["fc"], damaged)
    for name in os.listdir(damaged):
        if ".data-" in name:
            (damaged / name).write_bytes(b"")
    code = exit_code_of(export_command.main, "--checkpoint-dir", str(damaged), "--out",
                        str(tmp_path / "new" / "deeper" / "m"))
    assert code == 1 and len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "new").exists()
    result = export("--checkpoint-dir", trained["fc"])
    assert result.returncode == 2 and "give --out DIR (a SavedModel), --web DIR (a web page), " \
        "or both" in result.stderr


def test_the_tflite_converter_runs_from_any_folder_and_says_its_own_last_line(tmp_path,
                                                                              monkeypatch):
    """The converter's child Python finds the package from any working folder (gan_mnist is
    not installed: the repository is run from its checkout), and a failure ends in one line
    that names the converter's own last line, not the top of its traceback."""
    from gan_mnist.errors import GanError
    from gan_mnist.export import tflite

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    missing = tmp_path / "no_saved_model"
    with pytest.raises(GanError) as raised:
        tflite.convert(str(missing), str(tmp_path / "g.tflite"))
    message = str(raised.value)
    assert message.startswith("the TFLite converter failed: ")
    assert str(missing) in message, message
    assert "Traceback" not in message and "\n" not in message
    assert not (tmp_path / "g.tflite").exists()
