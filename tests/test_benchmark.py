"""The benchmark compares like with like: its Keras rewrite has exactly our networks' weights."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gan_mnist import models, trainer
from gan_mnist.config import resolve
from gan_mnist.tf_compat import tf
from tests.conftest import REPO

# Keras needs TF2 behaviour, which this test process has switched off: count in a subprocess.
KERAS_COUNT = """
import json, sys
from benchmarks.keras_rewrite import networks
from gan_mnist.config import PRESETS, Config
values = dict(vars(Config()), **PRESETS[sys.argv[1]])
print(json.dumps([m.count_params() for m in networks(sys.argv[1], values)]))
"""


def our_parameter_counts(arch):
    """Weights of (generator, discriminator), batch-norm moving averages included (Keras counts
    them among a model's parameters)."""
    tg = trainer.build_training_graph(resolve({"arch": arch}), 10)
    with tg.graph.as_default():
        return [sum(int(np.prod(v.shape)) for v in models.scope_variables(
                    scope, tf.GraphKeys.GLOBAL_VARIABLES)
                    if "Adam" not in v.op.name and not v.op.name.endswith("_power"))
                for scope in (models.GENERATOR_SCOPE, models.DISCRIMINATOR_SCOPE)]


@pytest.mark.parametrize("arch", ["fc", "mlp256", "dcgan", "fast"])
def test_keras_variant_has_our_networks(arch):
    result = subprocess.run([sys.executable, "-c", KERAS_COUNT, arch], capture_output=True,
                            text=True, cwd=REPO, timeout=300,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == our_parameter_counts(arch)


def test_unknown_variant_is_refused():
    result = subprocess.run([sys.executable, "scripts/benchmark.py", "--variants", "fast"],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2 and "unknown variant(s) fast" in result.stderr


def test_keras_variant_is_refused_for_recipes_it_does_not_cover():
    result = subprocess.run([sys.executable, "scripts/benchmark.py", "--arch", "cnn",
                             "--variants", "fused,keras"],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2
    assert "the keras variant is written for fc, mlp256, dcgan, fast, not cnn" in result.stderr
