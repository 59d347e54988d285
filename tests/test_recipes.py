"""Every recipe (--arch): shapes and ranges, scopes, isolated train steps, real short runs,
batch-norm averages across resume, deterministic sampling, D pre-training."""
import os

import numpy as np
import pytest

from gan_mnist.techniques import conditioning as conditioning_lib
from gan_mnist.training import graph as training_graph
from gan_mnist.errors import GanError
from gan_mnist.training import checkpoints, trainer
from gan_mnist.core import gan
from gan_mnist.evaluation import sampling
from gan_mnist.core.architectures import ARCHITECTURES
from gan_mnist.training.config import resolve
from gan_mnist.tf_compat import tf
from gan_mnist.core.gan import Phase
from tests.conftest import says

RECIPES = ["fc", "mlp256", "dcgan", "cnn", "fast"]
# Every recipe, plus the stabilisers on top of one: their graphs must keep the same guarantees.
VARIANTS = dict({arch: {"arch": arch} for arch in RECIPES},
                **{"fast+ema+hinge": {"arch": "fast", "ema": 0.9, "loss": "hinge"},
                   "fc+ema": {"arch": "fc", "ema": 0.99},
                   "dcgan+sn": {"arch": "dcgan", "spectral_norm": True},
                   "fc+conditional": {"arch": "fc", "conditional": True},
                   "dcgan+conditional+sn": {"arch": "dcgan", "conditional": True,
                                            "spectral_norm": True}})


def values(graph, session, scope=""):
    with graph.as_default():
        variables = [v for v in tf.global_variables() if v.op.name.startswith(scope)]
    return dict(zip([v.op.name for v in variables], session.run(variables)))


@pytest.fixture(params=sorted(VARIANTS))
def recipe(request):
    """A training graph of the recipe over 300 random 'digits', and its session."""
    config = resolve(dict(VARIANTS[request.param], batch_size=16, seed=2))
    images = np.random.RandomState(0).randint(0, 256, (300, 28, 28)).astype(np.uint8)
    labels = np.random.RandomState(1).randint(0, 10, 300).astype(np.uint8)
    tg = training_graph.build_training_graph(config, len(images), extra_phases=(Phase.G,))
    with training_graph.start_session(tg, images, train_labels=labels) as s:
        yield config, tg, s


def test_shapes_ranges_and_scopes(recipe):
    config, tg, s = recipe
    feed = {tg.sample_z: np.random.RandomState(0).uniform(-1, 1, (5, config.z_dim))}
    if config.conditional:
        feed[tg.sample_labels] = conditioning_lib.one_hot([0, 1, 2, 3, 4])
    fake, real, real_logits, fake_prob, samples = s.run(
        [tg.model.fake, tg.model.real, tg.model.real_logits, tg.model.fake_prob, tg.samples],
        feed)
    low, high = gan.pixel_range(config.arch)
    assert fake.shape == (16, 784) and real.shape == (16, 784)
    assert low <= fake.min() and fake.max() <= high and low <= real.min() and real.max() <= high
    assert real.min() == low and real.max() == high  # the training images span the range
    assert samples.shape == (5, 784) and -1 <= samples.min() and samples.max() <= 1
    assert real_logits.shape == (16,) and ((fake_prob > 0) & (fake_prob < 1)).all()
    with tg.graph.as_default():
        for v in tf.global_variables():
            assert v.op.name == "global_step" or v.op.name.split("/")[0] in (
                "generator", "discriminator"), v.op.name


def test_each_step_moves_only_its_own_network(recipe):
    config, tg, s = recipe
    before = values(tg.graph, s)
    s.run(tg.ops.steps[Phase.D])
    after_d = values(tg.graph, s)
    moved = {n for n in before if not np.array_equal(before[n], after_d[n])}
    assert moved and all(n.startswith("discriminator/") for n in moved), moved
    s.run(tg.ops.steps[Phase.G])
    after_g = values(tg.graph, s)
    moved = {n for n in before if not np.array_equal(after_d[n], after_g[n])}
    assert all(n.startswith("generator/") or n == "global_step" for n in moved), moved
    if config.arch in ("dcgan", "cnn", "fast"):  # G's batch-norm averages move with G's update
        assert any(n.endswith("moving_mean") for n in moved)
    if config.ema:  # and the weights' moving averages
        assert any(n.startswith("generator/ema/") for n in moved)


def test_fused_step_equals_two_calls_for_every_recipe(recipe):
    config, tg, s = recipe
    start = values(tg.graph, s)
    s.run(tg.ops.steps[Phase.D])
    s.run(tg.ops.steps[Phase.G])
    two_calls = values(tg.graph, s)
    with tg.graph.as_default():
        for v in tf.global_variables():
            v.load(start[v.op.name], s)
    s.run(tg.ops.steps[Phase.TRAIN])
    fused = values(tg.graph, s)
    for name in start:
        np.testing.assert_allclose(fused[name], two_calls[name], rtol=2e-5, atol=2e-6,
                                   err_msg=name)


@pytest.mark.parametrize("arch", ["mlp256", "dcgan", "cnn", "fast"])
def test_short_real_run_writes_grid_and_checkpoint(run_config, arch):
    config = run_config(arch=arch, steps=20, sample_every=20, log_every=10,
                        d_pretrain_steps=10 if arch == "cnn" else 0)
    assert trainer.train(config) == 0
    assert os.path.exists(os.path.join(config.output_dir, "samples_step_000020.png"))
    assert checkpoints.step_in_path(checkpoints.latest(config.checkpoint_dir)) == 20
    digits, step, labels = sampling.generate(config.checkpoint_dir, 8)
    assert step == 20 and digits.shape == (8, 28, 28) and digits.dtype == np.uint8
    assert labels is None


def test_dcgan_resume_restores_batch_norm_and_equals_a_straight_run(run_config, tmp_path):
    straight = run_config(arch="dcgan", steps=6, checkpoint_dir=str(tmp_path / "a"),
                          output_dir=str(tmp_path / "ao"))
    assert trainer.train(straight) == 0
    halves = run_config(arch="dcgan", steps=3, checkpoint_dir=str(tmp_path / "b"),
                        output_dir=str(tmp_path / "bo"))
    assert trainer.train(halves) == 0
    saved = tf.train.load_checkpoint(checkpoints.latest(halves.checkpoint_dir))
    tg = training_graph.build_training_graph(halves, 10)
    with training_graph.start_session(tg, np.zeros((10, 28, 28), np.uint8)) as s:
        assert checkpoints.restore(s, tg.saver, halves.checkpoint_dir) == 3
        restored = values(tg.graph, s, "generator/bn")
    assert any(n.endswith("moving_variance") for n in restored)
    for name, value in restored.items():
        np.testing.assert_array_equal(value, saved.get_tensor(name), err_msg=name)
        if name.endswith("moving_mean"):
            assert np.abs(value).max() > 0  # the averages did move in 3 steps
    assert trainer.train(resolve(dict(vars(halves), steps=6))) == 0
    a = tf.train.load_checkpoint(checkpoints.latest(straight.checkpoint_dir))
    b = tf.train.load_checkpoint(checkpoints.latest(halves.checkpoint_dir))
    for name, _ in tf.train.list_variables(checkpoints.latest(straight.checkpoint_dir)):
        np.testing.assert_array_equal(a.get_tensor(name), b.get_tensor(name), err_msg=name)


@pytest.mark.parametrize("arch", ["dcgan", "cnn", "fast"])
def test_sampling_is_deterministic_and_batch_independent(run_config, arch):
    config = run_config(arch=arch, steps=5, d_pretrain_steps=0)
    assert trainer.train(config) == 0
    generator = sampling.Generator(config.checkpoint_dir)
    noise = generator.noise(6, seed=4)
    batch = generator(noise)
    np.testing.assert_array_equal(batch, generator(noise))  # no dropout, no batch statistics
    np.testing.assert_array_equal(batch[2:3], generator(noise[2:3]))
    np.testing.assert_array_equal(sampling.Generator(config.checkpoint_dir)(noise), batch)


def test_d_pretraining_is_counted_checkpointed_and_leaves_g_alone(run_config, capsys):
    config = run_config(arch="cnn", steps=10, d_pretrain_steps=15, log_every=5)
    assert trainer.train(config) == 0
    at_10 = tf.train.load_checkpoint(checkpoints.latest(config.checkpoint_dir))
    tg = training_graph.build_training_graph(config, 10)
    with training_graph.start_session(tg, np.zeros((10, 28, 28), np.uint8)) as s:
        initial = values(tg.graph, s, "generator/")
    for name, value in initial.items():
        if "Adam" not in name and "power" not in name:
            np.testing.assert_array_equal(at_10.get_tensor(name), value, err_msg=name)
    assert at_10.get_tensor("global_step") == 10
    capsys.readouterr()
    assert trainer.train(resolve(dict(vars(config), steps=20))) == 0
    assert says(capsys.readouterr().out, "resumed from step 10")
    at_20 = tf.train.load_checkpoint(checkpoints.latest(config.checkpoint_dir))
    moved = [n for n in initial if "Adam" not in n and "power" not in n
             and not np.array_equal(at_20.get_tensor(n), initial[n])]
    assert moved  # steps 16..20 were adversarial: G learned


def test_recipe_presets_and_overrides():
    dcgan = resolve({"arch": "dcgan"})
    assert (dcgan.batch_size, dcgan.lr_d, dcgan.lr_g) == (64, 1e-4, 1e-4)
    cnn = resolve({"arch": "cnn", "lr_g": 5e-5})
    assert (cnn.batch_size, cnn.lr_d, cnn.lr_g, cnn.d_pretrain_steps) == (50, 3e-4, 5e-5, 300)
    mlp = resolve({"arch": "mlp256"})
    assert (mlp.z_dim, mlp.hidden, mlp.batch_size) == (64, 256, 32)
    fast = resolve({"arch": "fast", "hidden": 32})
    assert (fast.hidden, fast.z_dim, fast.batch_size, fast.ema, fast.loss) == (32, 64, 64, 0, "ns")
    assert set(ARCHITECTURES) == set(RECIPES)
    with pytest.raises(GanError, match="--hidden sizes the fully connected recipes"):
        resolve({"arch": "dcgan", "hidden": 64})
