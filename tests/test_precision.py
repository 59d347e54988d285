"""--precision: bfloat16 convolutions while training, where the CPU has bfloat16 instructions.

What is checked: the CPU is read from /proc/cpuinfo's flags; the training graph's convolutions
(forward and both gradients) compute in bfloat16 while every variable, loss and the sampling
generator stay float32; a bfloat16 step computes nearly what a float32 step does; a bfloat16 run
resumes bit-identically; `--recipe best` asks for auto, and a folder trained before it did keeps
float32 when resumed.
"""
import json

import numpy as np
import pytest

from gan_mnist.training import graph as training_graph
from gan_mnist.core import precision
from gan_mnist.training import checkpoints, config as config_lib, trainer
from gan_mnist.tf_compat import tf

CONVOLUTIONS = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter")
SMALL = {"arch": "fast", "hidden": 8, "z_dim": 8, "batch_size": 16, "seed": 3}


def _cpuinfo(tmp_path, flags):
    path = tmp_path / ("cpuinfo_" + flags.replace(" ", "_"))
    path.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 %s\n\nprocessor\t: 1\n"
                    "flags\t\t: fpu sse2 avx2 %s\n" % (flags, flags))
    return str(path)


def test_auto_reads_the_cpu_flags(tmp_path, monkeypatch):
    with_bf16 = _cpuinfo(tmp_path, "avx512f avx512_bf16 amx_bf16 amx_tile")
    assert precision.cpu_bf16_flags(with_bf16) == ["amx_bf16", "avx512_bf16"]
    assert precision.cpu_bf16_flags(_cpuinfo(tmp_path, "avx512f avx512_vnni")) == []
    assert precision.cpu_bf16_flags(str(tmp_path / "missing")) == []  # macOS, Windows
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    gpu = bool(tf.config.list_physical_devices("GPU"))
    assert precision.convolution_dtype("auto", with_bf16) == (tf.float32 if gpu else tf.bfloat16)
    assert precision.convolution_dtype("auto", _cpuinfo(tmp_path, "avx2")) == tf.float32
    assert precision.convolution_dtype("float32", with_bf16) == tf.float32
    assert precision.convolution_dtype("bfloat16", str(tmp_path / "missing")) == tf.bfloat16
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")  # without oneDNN bfloat16 is slower
    assert precision.convolution_dtype("auto", with_bf16) == tf.float32


def _graph(**values):
    config = config_lib.resolve(dict(SMALL, **values))
    digits = np.random.RandomState(0).randint(0, 256, (64, 28, 28)).astype(np.uint8)
    return config, digits, training_graph.build_training_graph(config, len(digits))


def _convolution_types(ops):
    return {(op.type, op.get_attr("T")) for op in ops if op.type in CONVOLUTIONS}


def test_training_convolutions_compute_in_bfloat16_and_nothing_else_does():
    _, _, tg = _graph(precision="bfloat16")
    ops = tg.graph.get_operations()
    training = [op for op in ops if not op.name.startswith("generator_1/")]  # not sampling's
    assert _convolution_types(training) == {(kind, tf.bfloat16) for kind in CONVOLUTIONS}
    sampling = [op for op in ops if op.name.startswith("generator_1/")]
    assert _convolution_types(sampling) == {("Conv2DBackpropInput", tf.float32)}
    with tg.graph.as_default():
        assert {v.dtype.base_dtype for v in tf.global_variables()} <= {tf.float32, tf.int64}
    for tensor in (tg.ops.loss.d_loss, tg.ops.loss.g_loss, tg.model.fake, tg.samples):
        assert tensor.dtype == tf.float32
    _, _, plain = _graph(precision="float32")
    assert _convolution_types(plain.graph.get_operations()) == {
        (kind, tf.float32) for kind in CONVOLUTIONS}


def test_a_bfloat16_step_computes_nearly_what_a_float32_step_does():
    """Same seed, same batch: the losses agree to bfloat16's rounding (8 bits of mantissa), and so
    does the gradient of each weight, D's and G's: measured 0.2% to 8% of its size (the most for
    D's conv2 bias, a sum whose terms mostly cancel), where a gradient that stopped at a cast or
    a changed graph would be 100% off."""
    results = {}
    for kind in ("float32", "bfloat16"):
        _, digits, tg = _graph(precision=kind)
        loss = tg.ops.loss
        with tg.graph.as_default():
            d_vars, g_vars = (tf.trainable_variables(scope) for scope in ("discriminator/",
                                                                          "generator/"))
            gradients = tf.gradients(loss.d_loss, d_vars) + tf.gradients(loss.g_loss, g_vars)
            names = [v.op.name for v in d_vars + g_vars]
        with training_graph.start_session(tg, digits) as s:  # one run: one batch, one noise draw
            values = s.run([loss.d_loss, loss.g_loss] + gradients)
        results[kind] = values[:2], dict(zip(names, values[2:]))
    (loss32, grad32), (loss16, grad16) = results["float32"], results["bfloat16"]
    assert loss16 == pytest.approx(loss32, rel=0.02)
    assert loss16 != loss32  # it really computed in another type
    assert sorted(grad16) == sorted(grad32) and len(grad32) >= 8
    for name in grad32:
        error = np.linalg.norm(grad16[name] - grad32[name])
        assert error <= 0.15 * np.linalg.norm(grad32[name]), name


def test_a_bfloat16_run_resumes_bit_identically(run_config, tmp_path):
    straight = run_config(steps=8, precision="bfloat16", checkpoint_dir=str(tmp_path / "a"),
                          output_dir=str(tmp_path / "ao"), **SMALL)
    assert trainer.train(straight) == 0
    first = run_config(steps=4, precision="bfloat16", checkpoint_dir=str(tmp_path / "b"),
                       output_dir=str(tmp_path / "bo"), **SMALL)
    assert trainer.train(first) == 0
    saved = config_lib.load_saved(first.checkpoint_dir)
    assert saved["precision"] == "bfloat16"
    resumed = config_lib.resolve({"steps": 8, "checkpoint_dir": first.checkpoint_dir,
                                  "output_dir": first.output_dir,
                                  "data_dir": first.data_dir}, saved)
    assert resumed.precision == "bfloat16"
    assert trainer.train(resumed) == 0
    a = tf.train.load_checkpoint(checkpoints.latest(straight.checkpoint_dir))
    b = tf.train.load_checkpoint(checkpoints.latest(first.checkpoint_dir))
    names = a.get_variable_to_shape_map()
    assert names == b.get_variable_to_shape_map()
    for name in names:
        assert np.array_equal(a.get_tensor(name), b.get_tensor(name)), name


def test_best_asks_for_auto_and_an_older_best_folder_keeps_float32(tmp_path):
    assert config_lib.resolve({"recipe": "best"}).precision == "auto"
    assert config_lib.resolve({}).precision == "float32"
    assert config_lib.resolve({"recipe": "best", "precision": "float32"}).precision == "float32"
    # A best folder's config.json from before --precision: resumed in float32, as trained.
    older = json.loads(config_lib.resolve({"recipe": "best"}).to_json())
    del older["precision"]
    assert config_lib.resolve({}, older).precision == "float32"
    assert config_lib.resolve({"recipe": "best"}, older).precision == "float32"
    assert config_lib.resolve({"precision": "auto"}, older).precision == "auto"  # asked for


@pytest.mark.parametrize("value, on", [(None, True), ("1", True), ("true", True), ("True", True),
                                       ("0", False), ("false", False), ("False", False),
                                       ("FALSE", False)])
def test_auto_reads_tf_enable_onednn_opts_as_tensorflow_spells_it(tmp_path, monkeypatch, value,
                                                                   on):
    # TensorFlow reads the variable as a bool: "0" or "false" in any case turns oneDNN off.
    if value is None:
        monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    else:
        monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", value)
    assert precision.onednn_on() is on
    gpu = bool(tf.config.list_physical_devices("GPU"))
    expected = tf.bfloat16 if on and not gpu else tf.float32
    with_bf16 = _cpuinfo(tmp_path, "avx512f avx512_bf16")
    assert precision.convolution_dtype("auto", with_bf16) == expected


def test_auto_on_an_amx_only_cpu_and_on_a_cpuinfo_that_cannot_be_read(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    gpu = bool(tf.config.list_physical_devices("GPU"))
    amx_only = _cpuinfo(tmp_path, "avx512f amx_tile amx_bf16 amx_int8")
    assert precision.cpu_bf16_flags(amx_only) == ["amx_bf16"]
    assert precision.convolution_dtype("auto", amx_only) == (tf.float32 if gpu else tf.bfloat16)
    unreadable = tmp_path / "a_folder"  # reading a folder raises IsADirectoryError
    unreadable.mkdir()
    assert precision.cpu_bf16_flags(str(unreadable)) == []
    assert precision.convolution_dtype("auto", str(unreadable)) == tf.float32


def test_an_older_best_folder_on_disk_resumes_with_float32_convolutions(tmp_path):
    """A config.json written before --precision existed, read from its folder as a resume
    reads it: the convolutions stay float32 on any CPU, and the run's start says nothing."""
    folder = tmp_path / "c"
    folder.mkdir()
    config_lib.save(config_lib.resolve({"recipe": "best", "checkpoint_dir": str(folder)}),
                    str(folder))
    saved = json.loads((folder / "config.json").read_text())
    del saved["precision"]
    (folder / "config.json").write_text(json.dumps(saved))
    resumed = config_lib.resolve({"checkpoint_dir": str(folder)},
                                 config_lib.load_saved(str(folder)))
    assert resumed.recipe == "best" and resumed.precision == "float32"
    assert precision.convolution_dtype(resumed.precision) == tf.float32
    assert precision.describe(resumed.precision) is None


def test_the_start_of_a_run_says_when_convolutions_compute_in_bfloat16(monkeypatch):
    assert precision.describe("float32") is None
    assert precision.describe("bfloat16") == (
        "convolutions compute in bfloat16 (--precision bfloat16)")
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")  # auto: float32 without oneDNN, on any CPU
    assert precision.describe("auto") is None
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
    flags = precision.cpu_bf16_flags()  # this machine's
    if flags and not tf.config.list_physical_devices("GPU"):
        assert precision.describe("auto") == (
            "convolutions compute in bfloat16 (--precision auto: this CPU has %s; --precision "
            "float32 turns it off)" % ", ".join(flags))
    else:
        assert precision.describe("auto") is None
