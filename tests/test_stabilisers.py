"""The stabiliser flags: --ema (a moving average of G's weights used for every sample),
--loss hinge, --spectral-norm and --r1. Each does what it says, is saved and resumed bit-identically, and is refused where
it cannot apply."""
import os

import numpy as np
import pytest
from PIL import Image

from gan_mnist.core.architectures import ARCHITECTURES
from gan_mnist.training import graph as training_graph
from gan_mnist.errors import GanError
from gan_mnist.training import checkpoints, images, trainer
from gan_mnist.core import gan, layers
from gan_mnist.evaluation import sampling
from gan_mnist.training import config as config_lib
from gan_mnist.techniques.conditioning import of as conditioning_of
from gan_mnist.tf_compat import tf
from gan_mnist.core.gan import Phase, phase_for_step


def test_hinge_losses_on_hand_made_logits():
    real = np.array([2.0, 0.5, -1.0], np.float32)
    fake = np.array([-2.0, 0.0, 1.0], np.float32)
    with tf.Graph().as_default(), tf.Session() as s:
        d, g = s.run([gan.hinge_discriminator_loss(tf.constant(real), tf.constant(fake)),
                      gan.hinge_generator_loss(tf.constant(fake))])
    # real: relu(1 - [2, .5, -1]) = [0, .5, 2]; fake: relu(1 + [-2, 0, 1]) = [0, 1, 2]
    assert d == pytest.approx((0 + 0.5 + 2) / 3 + (0 + 1 + 2) / 3)
    assert g == pytest.approx(-(-2 + 0 + 1) / 3)


def _cross_entropy(logits, label):
    """Sigmoid cross-entropy of ``logits`` against a constant ``label``, in NumPy."""
    logits = logits.astype(np.float64)
    return np.maximum(logits, 0) - logits * label + np.log1p(np.exp(-np.abs(logits)))


@pytest.mark.parametrize("arch", ["fc", "fast"])
def test_loss_hinge_trains_d_and_g_on_the_hinge_losses(arch):
    """The config's loss reaches the training graph: D's and G's losses are the hinge formulas
    of the logits the graph computes, not the default non-saturating ones."""
    config = config_lib.resolve({"arch": arch, "loss": "hinge", "batch_size": 16, "seed": 1,
                                 "label_smoothing": 0.1})
    digits = np.random.RandomState(0).randint(0, 256, (64, 28, 28)).astype(np.uint8)
    tg = training_graph.build_training_graph(config, len(digits))
    with training_graph.start_session(tg, digits) as s:  # one run: one batch, one noise draw
        d, g, real, fake = s.run([tg.ops.loss.d_loss, tg.ops.loss.g_loss, tg.model.real_logits,
                                  tg.model.fake_logits])
    real, fake = real.astype(np.float64), fake.astype(np.float64)
    hinge_d = np.maximum(0, 1 - real).mean() + np.maximum(0, 1 + fake).mean()
    hinge_g = -fake.mean()
    ns_d = _cross_entropy(real, 0.9).mean() + _cross_entropy(fake, 0.0).mean()
    ns_g = _cross_entropy(fake, 1.0).mean()
    assert d == pytest.approx(hinge_d, rel=1e-5, abs=1e-6)
    assert g == pytest.approx(hinge_g, rel=1e-5, abs=1e-6)
    assert abs(d - ns_d) > 1e-3 and abs(g - ns_g) > 1e-3


def test_ema_weights_equal_the_hand_computed_average():
    config = config_lib.resolve({"arch": "fast", "batch_size": 8, "ema": 0.9, "seed": 1})
    digits = np.random.RandomState(0).randint(0, 256, (64, 28, 28)).astype(np.uint8)
    tg = training_graph.build_training_graph(config, len(digits))
    with tg.graph.as_default():
        raw = gan.averaged_variables()
        shadows = [tf.global_variables(gan.ema_name(v.op.name))[0] for v in raw]
    assert len(raw) == len(shadows) > 0 and all(
        s.op.name.startswith("generator/ema/") and s not in tf.trainable_variables()
        for s in shadows)
    with training_graph.start_session(tg, digits) as s:
        expected = s.run(raw)  # the averages start at the initial weights
        for average, value in zip(s.run(shadows), expected):
            np.testing.assert_array_equal(average, value)
        s.run(tg.ops.steps[Phase.D])  # a D step leaves G and its averages alone
        for average, value in zip(s.run(shadows), expected):
            np.testing.assert_array_equal(average, value)
        for step in range(1, 6):
            s.run(tg.ops.steps[Phase.TRAIN])
            d = min(0.9, (1.0 + step) / (10.0 + step))
            expected = [d * e + (1 - d) * w for e, w in zip(expected, s.run(raw))]
            for variable, average, value in zip(raw, s.run(shadows), expected):
                np.testing.assert_allclose(average, value, rtol=1e-5, atol=1e-6,
                                           err_msg=variable.op.name)
        assert not np.allclose(s.run(shadows[0]), s.run(raw[0]))  # an average, not a copy


@pytest.fixture
def ema_run(run_config):
    """A short run with every stabiliser flag on (R1 on steps 0, 4, 8, ...)."""
    config = run_config(arch="fast", steps=30, ema=0.95, loss="hinge", spectral_norm=True,
                        r1=1.0, r1_every=4, sample_every=30, checkpoint_every=30, eval_every=0)
    assert trainer.train(config) == 0
    return config


def test_grids_and_samples_come_from_the_averages(ema_run):
    noise = training_graph.fixed_noise(ema_run)
    averaged = sampling.Generator(ema_run.checkpoint_dir)(noise)
    grid = np.array(Image.open(os.path.join(ema_run.output_dir, "samples_step_000030.png")))
    np.testing.assert_array_equal(grid, images.grid(averaged))
    # The raw weights draw other digits: sampling really read generator/ema/.
    graph = tf.Graph()
    with graph.as_default():
        fake = gan.generator(tf.constant(noise), ema_run.model_spec(), conditioning_of(ema_run),
                                training=False)
        variables = gan.scope_variables(gan.GENERATOR_SCOPE, tf.GraphKeys.GLOBAL_VARIABLES)
        saver = tf.train.Saver(variables)
    with tf.Session(graph=graph) as s:
        saver.restore(s, checkpoints.latest(ema_run.checkpoint_dir))
        raw = np.clip(np.rint((s.run(fake) + 1) * 127.5), 0, 255).reshape(-1, 28, 28)
    assert (raw != averaged).mean() > 0.1


def test_flags_are_saved_carried_and_resumed_bit_identically(ema_run, run_config, tmp_path):
    saved = config_lib.load_saved(ema_run.checkpoint_dir)
    assert (saved["ema"], saved["loss"], saved["spectral_norm"], saved["r1"],
            saved["r1_every"]) == (0.95, "hinge", True, 1.0, 4)
    resumed = config_lib.resolve({"steps": 60, "checkpoint_dir": ema_run.checkpoint_dir,
                                  "output_dir": ema_run.output_dir,
                                  "data_dir": ema_run.data_dir}, saved)
    assert resumed.ema == 0.95 and resumed.loss == "hinge" and resumed.spectral_norm
    assert trainer.train(resumed) == 0
    straight = run_config(arch="fast", steps=60, ema=0.95, loss="hinge", spectral_norm=True,
                          r1=1.0, r1_every=4, eval_every=0,
                          checkpoint_dir=str(tmp_path / "straight"),
                          output_dir=str(tmp_path / "straight_out"))
    assert trainer.train(straight) == 0
    a = tf.train.load_checkpoint(checkpoints.latest(ema_run.checkpoint_dir))
    b = tf.train.load_checkpoint(checkpoints.latest(straight.checkpoint_dir))
    names = [n for n, _ in tf.train.list_variables(checkpoints.latest(straight.checkpoint_dir))]
    assert any(n.startswith("generator/ema/") for n in names)
    assert any(n.endswith("/sn_u") for n in names)
    for name in names:
        np.testing.assert_array_equal(a.get_tensor(name), b.get_tensor(name), err_msg=name)


def test_ema_cannot_be_switched_on_or_off_on_a_resume(ema_run, run_config):
    saved = config_lib.load_saved(ema_run.checkpoint_dir)
    with pytest.raises(GanError, match="trained with --ema, so its weights' moving average "
                                       "cannot be turned off; use --fresh"):
        config_lib.resolve({"ema": 0.0}, saved)
    assert config_lib.resolve({"ema": 0.99}, saved).ema == 0.99  # another decay is fine
    plain = dict(saved, ema=0.0)
    with pytest.raises(GanError, match="trained without --ema"):
        config_lib.resolve({"ema": 0.999}, plain)


def test_seed_recipes_do_not_move_without_the_flags():
    """fc's defaults stay the seeds' recipe: no averages, the non-saturating loss."""
    config = config_lib.resolve({})
    assert config.ema == 0 and config.loss == "ns"
    tg = training_graph.build_training_graph(config, 10)
    with tg.graph.as_default():
        assert not [v for v in tf.global_variables() if "/ema/" in v.op.name]


# ---------------------------------------------------------------- --spectral-norm

def _spectral_norm_graph(**overrides):
    config = config_lib.resolve(dict({"arch": "fast", "batch_size": 16, "spectral_norm": True,
                                      "seed": 1}, **overrides))
    digits = np.random.RandomState(0).randint(0, 256, (64, 28, 28)).astype(np.uint8)
    tg = training_graph.build_training_graph(config, len(digits))
    with tg.graph.as_default():
        us = [u for u, _ in tf.get_collection(layers.SPECTRAL_NORM_UPDATES)]
        weights = [tf.global_variables(u.op.name[:-len("/sn_u")])[0] for u in us]
    return config, tg, digits, us, weights


def _top_singular_value_after_normalising(weight, u):
    """sigma_max(W / sigma_estimate), sigma_estimate from the stored u exactly as the layer
    computes it."""
    matrix = weight.reshape(-1, weight.shape[-1])
    v = matrix @ u
    v /= np.linalg.norm(v)
    new_u = matrix.T @ v
    new_u /= np.linalg.norm(new_u)
    return np.linalg.svd(matrix, compute_uv=False)[0] / (v @ matrix @ new_u)


def test_spectral_norm_keeps_the_top_singular_value_near_one():
    config, tg, digits, us, weights = _spectral_norm_graph()
    assert [u.op.name for u in us] == ["discriminator/conv1/kernel/sn_u",
                                       "discriminator/conv2/kernel/sn_u",
                                       "discriminator/logit/weights/sn_u"]
    with tg.graph.as_default():
        assert not set(us) & set(tf.trainable_variables())
        assert set(us) <= set(tf.global_variables())  # so checkpoints keep them
    with training_graph.start_session(tg, digits) as s:
        initial_u = s.run(us)
        s.run(tg.model.real_logits)  # reading D does not move u
        for before, after in zip(initial_u, s.run(us)):
            np.testing.assert_array_equal(before, after)
        for _ in range(100):
            s.run(tg.ops.steps[Phase.TRAIN])
        for weight, u in zip(s.run(weights), s.run(us)):
            assert _top_singular_value_after_normalising(weight, u) == pytest.approx(1, abs=0.05)
        assert not np.allclose(initial_u[1], s.run(us[1]))


def test_spectral_norm_makes_d_blind_to_the_scale_of_its_weights():
    """D reads W / sigma(W): multiplying every weight by 10 leaves its logits as they were
    (without the flag they would grow about 1000-fold through three layers)."""
    config, tg, digits, us, weights = _spectral_norm_graph()
    with training_graph.start_session(tg, digits) as s:
        s.run(tg.ops.steps[Phase.TRAIN])
        real, logits = s.run([tg.model.real, tg.model.real_logits])
        for w in weights:
            w.load(s.run(w) * 10, s)
        np.testing.assert_allclose(s.run(tg.model.real_logits, {tg.model.real: real}), logits,
                                   rtol=1e-4, atol=1e-4)


def test_spectral_norm_is_carried_and_cannot_be_switched_on_a_resume():
    saved = config_lib.resolve({"arch": "fast", "spectral_norm": True}).__dict__
    assert config_lib.resolve({}, saved).spectral_norm
    with pytest.raises(GanError, match="trained without --spectral-norm"):
        config_lib.resolve({"spectral_norm": True}, dict(saved, spectral_norm=False))
    assert not config_lib.resolve({"arch": "fast"}).spectral_norm


# ---------------------------------------------------------------- --r1

def test_r1_penalty_on_a_hand_made_linear_discriminator():
    """For D(x) = x . w the gradient is w for every image: the penalty is |w|^2 / 2."""
    w = np.array([1.0, -2.0, 0.5], np.float32)
    with tf.Graph().as_default(), tf.Session() as s:
        real = tf.constant(np.random.RandomState(0).randn(4, 3).astype(np.float32))
        logits = tf.linalg.matvec(real, tf.constant(w))
        assert s.run(gan.r1_penalty(logits, real)) == pytest.approx(0.5 * (w @ w))


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_r1_steps_change_only_d_and_only_every_k_steps(arch):
    config = config_lib.resolve({"arch": arch, "batch_size": 8, "r1": 10.0, "r1_every": 4,
                                 "d_pretrain_steps": 0, "seed": 1})
    digits = np.random.RandomState(0).randint(0, 256, (64, 28, 28)).astype(np.uint8)
    tg = training_graph.build_training_graph(config, len(digits))
    ops = tg.ops
    assert [ops.steps[phase_for_step(config.train_spec(), s)] for s in (0, 1, 3, 4, 8)] == [
        ops.steps[Phase.TRAIN_REG], ops.steps[Phase.TRAIN], ops.steps[Phase.TRAIN], ops.steps[Phase.TRAIN_REG], ops.steps[Phase.TRAIN_REG]]
    with tg.graph.as_default():
        penalty = tg.graph.get_tensor_by_name("r1_penalty:0")
        g_vars = gan.scope_variables(gan.GENERATOR_SCOPE)
        d_vars = gan.scope_variables(gan.DISCRIMINATOR_SCOPE)
        # The penalty reads only real digits and D: no path to G's weights.
        assert tf.gradients(penalty, g_vars) == [None] * len(g_vars)
    with training_graph.start_session(tg, digits) as s:
        start = s.run(d_vars)
        assert np.isfinite(s.run(penalty)) and s.run(penalty) > 0
        s.run(ops.steps[Phase.TRAIN_REG])
        with_r1 = s.run(d_vars)
        for v, value in zip(d_vars, start):
            v.load(value, s)
        s.run(tg.ops.global_step.initializer)
        s.run(ops.steps[Phase.TRAIN])
        without = s.run(d_vars)
    assert any(not np.allclose(a, b) for a, b in zip(with_r1, without))


@pytest.mark.parametrize("r1, r1_every", [(10.0, 4), (0.5, 16)])
def test_r1_steps_add_gamma_times_r1_every_times_the_penalty(r1, r1_every):
    """Lazy R1: the penalty counts r1_every times on the steps that carry it, so on average it
    weighs gamma per step."""
    config = config_lib.resolve({"arch": "fast", "batch_size": 8, "r1": r1, "r1_every": r1_every,
                                 "seed": 1})
    digits = np.random.RandomState(0).randint(0, 256, (64, 28, 28)).astype(np.uint8)
    tg = training_graph.build_training_graph(config, len(digits))
    penalty = tg.graph.get_tensor_by_name("r1_penalty:0")
    with_r1 = tg.ops.d_reg_loss  # what the regularised phases minimise
    with training_graph.start_session(tg, digits) as s:
        plain, total, value = s.run([tg.ops.loss.d_loss, with_r1, penalty])
        with tg.graph.as_default():  # the same penalty, computed afresh from the same tensors
            again = s.run(gan.r1_penalty(tg.model.real_logits, tg.model.real))
    assert value > 0 and again == pytest.approx(value, rel=1e-5)
    assert total == pytest.approx(plain + r1 * r1_every * value, rel=1e-5, abs=1e-6)
