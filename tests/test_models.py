import numpy as np
import pytest

from gan_mnist.core import gan
from gan_mnist.training.config import resolve
from gan_mnist.techniques.conditioning import of as conditioning_of
from gan_mnist.tf_compat import tf


@pytest.fixture
def graph():
    g = tf.Graph()
    with g.as_default():
        yield g


def test_shapes_ranges_and_scopes(graph):
    config = resolve({})
    real = tf.placeholder(tf.float32, [None, 784])
    z = tf.placeholder(tf.float32, [None, config.z_dim])
    model = gan.build_gan(real, z, config.model_spec(), conditioning_of(config))
    names = sorted(v.op.name for v in tf.global_variables())
    assert names == [
        "discriminator/hidden/biases", "discriminator/hidden/weights",
        "discriminator/logit/biases", "discriminator/logit/weights",
        "generator/hidden/biases", "generator/hidden/weights",
        "generator/output/biases", "generator/output/weights",
    ]
    shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
    assert shapes["generator/hidden/weights"] == [100, 128]
    assert shapes["generator/output/weights"] == [128, 784]
    assert shapes["discriminator/hidden/weights"] == [784, 128]
    assert shapes["discriminator/logit/weights"] == [128, 1]
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        rng = np.random.RandomState(0)
        feed = {z: rng.uniform(-1, 1, (16, 100)), real: rng.uniform(-1, 1, (16, 784))}
        fake, real_logits, real_prob, fake_prob = s.run(
            [model.fake, model.real_logits, model.real_prob, model.fake_prob], feed)
    assert fake.shape == (16, 784) and np.all(np.abs(fake) <= 1.0)
    assert real_logits.shape == (16,) and real_prob.shape == (16,)
    assert np.all((real_prob > 0) & (real_prob < 1)) and np.all((fake_prob > 0) & (fake_prob < 1))
    np.testing.assert_allclose(real_prob, 1 / (1 + np.exp(-real_logits)), rtol=1e-5)


def test_second_discriminator_call_reuses_weights_and_generator_does_not_reuse_silently(graph):
    config = resolve({})
    x = tf.placeholder(tf.float32, [None, 784])
    gan.discriminator(x, config.model_spec(), conditioning_of(config))
    count = len(tf.global_variables())
    gan.discriminator(x, config.model_spec(), conditioning_of(config), reuse=True)
    assert len(tf.global_variables()) == count
    with pytest.raises(ValueError, match="already exists"):
        # A forgotten reuse is an error, not a second model.
        gan.discriminator(x, config.model_spec(), conditioning_of(config))


def test_xavier_weights_and_zero_biases(graph):
    config = resolve({"hidden": 512, "seed": 3})
    tf.set_random_seed(3)
    gan.generator(tf.placeholder(tf.float32, [None, config.z_dim]), config.model_spec(),
                     conditioning_of(config))
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        values = {v.op.name: s.run(v) for v in tf.global_variables()}
    w = values["generator/output/weights"]  # 512 x 784
    limit = np.sqrt(6.0 / (512 + 784))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
    assert abs(w.std() - limit / np.sqrt(3)) < 0.01 * limit
    assert not values["generator/output/biases"].any()
    assert not values["generator/hidden/biases"].any()


@pytest.mark.parametrize("arch", ["fc", "mlp256", "dcgan", "cnn", "fast"])
def test_every_generator_draws_across_its_architectures_pixel_range(graph, arch):
    """G's last layer fits the range the architecture declares for the real digits: a tanh,
    [-1, 1], for all but cnn (the tutorial's sigmoid, [0, 1]). Even untrained, it draws on both
    sides of the range's middle: a sigmoid where a tanh belongs gives (0, 1), a grey page."""
    config = resolve({"arch": arch})
    low, high = gan.pixel_range(config.arch)
    assert (low, high) == ((0.0, 1.0) if arch == "cnn" else (-1.0, 1.0))
    z = tf.placeholder(tf.float32, [None, config.z_dim])
    fake = gan.generator(z, config.model_spec(), conditioning_of(config))
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        drawn = s.run(fake, {z: np.random.RandomState(0).uniform(-1, 1, (16, config.z_dim))})
    middle, margin = (low + high) / 2, (high - low) / 40
    assert drawn.min() >= low and drawn.max() <= high
    assert drawn.min() < middle - margin and drawn.max() > middle + margin, (
        drawn.min(), drawn.max())
