"""The stabiliser flags: --ema (a moving average of G's weights used for every sample) and
--loss hinge. Each does what it says, is saved and resumed bit-identically, and is refused where
it cannot apply."""
import os

import numpy as np
import pytest
from PIL import Image

from gan_mnist import GanError, checkpoints, images, losses, models, sampling, trainer
from gan_mnist import config as config_lib
from gan_mnist.tf_compat import tf


def test_hinge_losses_on_hand_made_logits():
    real = np.array([2.0, 0.5, -1.0], np.float32)
    fake = np.array([-2.0, 0.0, 1.0], np.float32)
    with tf.Graph().as_default(), tf.Session() as s:
        d, g = s.run([losses.hinge_discriminator_loss(tf.constant(real), tf.constant(fake)),
                      losses.hinge_generator_loss(tf.constant(fake))])
    # real: relu(1 - [2, .5, -1]) = [0, .5, 2]; fake: relu(1 + [-2, 0, 1]) = [0, 1, 2]
    assert d == pytest.approx((0 + 0.5 + 2) / 3 + (0 + 1 + 2) / 3)
    assert g == pytest.approx(-(-2 + 0 + 1) / 3)


def test_ema_weights_equal_the_hand_computed_average():
    config = config_lib.resolve({"arch": "fast", "batch_size": 8, "ema": 0.9, "seed": 1})
    digits = np.random.RandomState(0).randint(0, 256, (64, 28, 28)).astype(np.uint8)
    tg = trainer.build_training_graph(config, len(digits))
    with tg.graph.as_default():
        raw = models.averaged_variables()
        shadows = [tf.global_variables(models.ema_name(v.op.name))[0] for v in raw]
    assert len(raw) == len(shadows) > 0 and all(
        s.op.name.startswith("generator/ema/") and s not in tf.trainable_variables()
        for s in shadows)
    with trainer.start_session(tg, digits) as s:
        expected = s.run(raw)  # the averages start at the initial weights
        for average, value in zip(s.run(shadows), expected):
            np.testing.assert_array_equal(average, value)
        s.run(tg.ops.d_step)  # a D step leaves G and its averages alone
        for average, value in zip(s.run(shadows), expected):
            np.testing.assert_array_equal(average, value)
        for step in range(1, 6):
            s.run(tg.ops.train_step)
            d = min(0.9, (1.0 + step) / (10.0 + step))
            expected = [d * e + (1 - d) * w for e, w in zip(expected, s.run(raw))]
            for variable, average, value in zip(raw, s.run(shadows), expected):
                np.testing.assert_allclose(average, value, rtol=1e-5, atol=1e-6,
                                           err_msg=variable.op.name)
        assert not np.allclose(s.run(shadows[0]), s.run(raw[0]))  # an average, not a copy


@pytest.fixture
def ema_run(run_config):
    config = run_config(arch="fast", steps=30, ema=0.95, loss="hinge", sample_every=30,
                        checkpoint_every=30, eval_every=0)
    assert trainer.train(config) == 0
    return config


def test_grids_and_samples_come_from_the_averages(ema_run):
    noise = trainer.fixed_noise(ema_run)
    averaged = sampling.Generator(ema_run.checkpoint_dir)(noise)
    grid = np.array(Image.open(os.path.join(ema_run.output_dir, "samples_step_000030.png")))
    np.testing.assert_array_equal(grid, images.grid(averaged))
    # The raw weights draw other digits: sampling really read generator/ema/.
    graph = tf.Graph()
    with graph.as_default():
        fake = models.generator(tf.constant(noise), ema_run, training=False)
        variables = models.scope_variables(models.GENERATOR_SCOPE, tf.GraphKeys.GLOBAL_VARIABLES)
        saver = tf.train.Saver(variables)
    with tf.Session(graph=graph) as s:
        saver.restore(s, checkpoints.latest(ema_run.checkpoint_dir))
        raw = np.clip(np.rint((s.run(fake) + 1) * 127.5), 0, 255).reshape(-1, 28, 28)
    assert (raw != averaged).mean() > 0.1


def test_flags_are_saved_carried_and_resumed_bit_identically(ema_run, run_config, tmp_path):
    saved = config_lib.load_saved(ema_run.checkpoint_dir)
    assert saved["ema"] == 0.95 and saved["loss"] == "hinge"
    resumed = config_lib.resolve({"steps": 60, "checkpoint_dir": ema_run.checkpoint_dir,
                                  "output_dir": ema_run.output_dir,
                                  "data_dir": ema_run.data_dir}, saved)
    assert resumed.ema == 0.95 and resumed.loss == "hinge"
    assert trainer.train(resumed) == 0
    straight = run_config(arch="fast", steps=60, ema=0.95, loss="hinge", eval_every=0,
                          checkpoint_dir=str(tmp_path / "straight"),
                          output_dir=str(tmp_path / "straight_out"))
    assert trainer.train(straight) == 0
    a = tf.train.load_checkpoint(checkpoints.latest(ema_run.checkpoint_dir))
    b = tf.train.load_checkpoint(checkpoints.latest(straight.checkpoint_dir))
    names = [n for n, _ in tf.train.list_variables(checkpoints.latest(straight.checkpoint_dir))]
    assert any(n.startswith("generator/ema/") for n in names)
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
    tg = trainer.build_training_graph(config, 10)
    with tg.graph.as_default():
        assert not [v for v in tf.global_variables() if "/ema/" in v.op.name]
