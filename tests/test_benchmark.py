"""The benchmark compares like with like: its Keras rewrite has exactly our networks' weights."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gan_mnist.training import graph as training_graph
from gan_mnist.core import gan
from gan_mnist.training.config import resolve
from gan_mnist.tf_compat import tf
from tests.conftest import REPO

KERAS_COUNT = """
import json, sys
from gan_mnist.benchmarks.keras_rewrite import networks
from gan_mnist.training.config import Config
from gan_mnist.training.recipes import recipe_values
for name in sys.argv[1:]:
    values = dict(vars(Config()), **recipe_values(name))
    print(json.dumps([m.count_params() for m in networks(values["arch"], values)]))
"""
KERAS_RECIPES = ["fc", "mlp256", "dcgan", "fast", "best", "best-conditional"]


def our_parameter_counts(recipe):
    """Weights of (generator, discriminator), batch-norm moving averages and spectral norm's
    vectors included (Keras counts them among a model's parameters); not --ema's averages (Keras
    keeps those in the optimizer) nor the clusters' sampling edges (a constant of sampling)."""
    tg = training_graph.build_training_graph(resolve({"recipe": recipe}), 10)
    with tg.graph.as_default():
        return [sum(int(np.prod(v.shape)) for v in gan.scope_variables(
                    scope, tf.GraphKeys.GLOBAL_VARIABLES)
                    if "Adam" not in v.op.name and not v.op.name.endswith("_power")
                    and "/ema/" not in v.op.name and "cluster_edges" not in v.op.name)
                for scope in (gan.GENERATOR_SCOPE, gan.DISCRIMINATOR_SCOPE)]


def test_keras_variant_has_our_networks():
    """Every recipe the keras variant covers, the best ones with their clusters or labels,
    spectral norm and EMA: layer for layer the same number of weights (one process for all:
    Keras needs TF2 behaviour, which this test process has switched off)."""
    result = subprocess.run([sys.executable, "-c", KERAS_COUNT, *KERAS_RECIPES],
                            capture_output=True, text=True, cwd=REPO, timeout=300,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr[-2000:]
    counts = [json.loads(line) for line in result.stdout.strip().splitlines()[-6:]]
    for recipe, theirs in zip(KERAS_RECIPES, counts):
        assert theirs == our_parameter_counts(recipe), recipe


def test_unknown_variant_is_refused():
    result = subprocess.run([sys.executable, "scripts/benchmark.py", "--variants", "fast"],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2 and "unknown variant(s) fast" in result.stderr


def test_a_variant_that_fails_says_why_in_one_line(tmp_path):
    """A worker's own problem (here --data-dir names a file) comes back as its one line, exit 1,
    not as the orchestrator's traceback."""
    bogus = tmp_path / "file"
    bogus.write_text("not a folder")
    result = subprocess.run([sys.executable, "scripts/benchmark.py", "--variants", "fused",
                             "--rounds", "1", "--steps", "1", "--data-dir", str(bogus)],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: variant fused failed: the data folder %s is a file, not a folder; point "
        "--data-dir or MNIST_DATA_DIR at the folder that holds the MNIST files" % bogus]


@pytest.mark.parametrize("variant, arch, covered", [
    ("keras", "cnn", "fc, mlp256, dcgan, fast"), ("torch", "dcgan", "fc, mlp256, fast")])
def test_a_rewrite_is_refused_for_recipes_it_does_not_cover(variant, arch, covered):
    result = subprocess.run([sys.executable, "scripts/benchmark.py", "--arch", arch,
                             "--variants", "fused," + variant],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2
    assert "the %s variant is written for %s, not %s" % (variant, covered, arch) in result.stderr


def torch_or_skip():
    try:
        import torch  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must install requirements-benchmark.txt (PyTorch)")
        pytest.skip("PyTorch is not installed: pip install -r requirements-benchmark.txt")


@pytest.mark.parametrize("recipe", ["fc", "mlp256", "fast", "best", "best-conditional"])
def test_torch_variant_has_our_networks(recipe):
    """The PyTorch rewrite has exactly our trainable weights, layer widths, clusters' or
    labels' rows, projection and spectral norm's weights included (PyTorch keeps the power
    iteration's vectors as buffers, we as variables that are not trained: neither counted)."""
    torch_or_skip()
    from gan_mnist.benchmarks import keras_rewrite, torch_rewrite

    tg = training_graph.build_training_graph(resolve({"recipe": recipe}), 10)
    with tg.graph.as_default():
        ours = [sum(int(np.prod(v.shape)) for v in gan.scope_variables(
                    scope, tf.GraphKeys.TRAINABLE_VARIABLES))
                for scope in (gan.GENERATOR_SCOPE, gan.DISCRIMINATOR_SCOPE)]
    values = keras_rewrite.config(type("Args", (), {"recipe": recipe, "arch": None,
                                                    "hidden": None}))
    assert torch_rewrite.weight_counts(values) == ours


def test_torch_variant_times_the_best_recipe_and_the_json_says_where(mnist_dir):
    """One thread (GAN_MNIST_THREADS=1, which the variant obeys as sweeps' trials do): PyTorch's
    pool of two, spinning beside the suite's other process on 2 cores, ran its 105 steps at 2
    steps/s (37 s) instead of 14."""
    torch_or_skip()
    result = subprocess.run([sys.executable, "scripts/benchmark.py", "--recipe", "best",
                             "--variants", "torch", "--rounds", "1", "--steps", "5", "--json",
                             "--data-dir", mnist_dir],
                            capture_output=True, text=True, cwd=REPO, timeout=300,
                            env=dict(os.environ, GAN_MNIST_THREADS="1"))
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(result.stdout)
    assert record["variants"]["torch"]["steps_per_s"] > 0 and record["recipe"] == "best"
    assert record["command"].startswith("python scripts/benchmark.py --recipe best")
    assert record["date"] and record["lscpu_model_name"] and record["batch_size"] == 64
    assert record["precision"] == "auto"  # best's, and what it means on this machine:
    assert record["convolutions"] in ("float32", "bfloat16")


def test_profile_prints_the_steps_time_by_kind_of_op(mnist_dir):
    """results.md's `benchmark.py --recipe best --profile` (its rounds and steps shortened, as
    test_docs_commands shortens them; that test leaves this command to this one) traces fused
    steps of `best`: its convolutions, their gradients and Adam's updates are there, with their
    share of the step. In float32 (on a CPU with bfloat16 instructions `best` casts around its
    convolutions, and grappler does not fuse them with their bias adds)."""
    result = subprocess.run([sys.executable, "scripts/benchmark.py", "--recipe", "best",
                             "--profile", "--rounds", "1", "--steps", "20", "--precision",
                             "float32", "--data-dir", mnist_dir],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    for line in ("kind of op", "convolutions", "optimiser updates", "all ops",
                 "Conv2DBackpropFilter", "ResourceApplyAdam"):
        assert line in result.stdout, result.stdout
    assert "100.0%" in result.stdout
    # oneDNN's convolutions fused with their bias add count as convolutions, not as AddV2.
    assert "FusedConv2D" in result.stdout and "AddV2" not in result.stdout, result.stdout
