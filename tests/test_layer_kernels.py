"""The layers written for speed compute what their plain forms compute: the projection's row
lookup (layers.embedding) is a dense layer on one-hot rows, spectral norm included, and the
fused batch norm normalises, differentiates and averages like tf.nn.moments does."""
import numpy as np
import pytest

from gan_mnist.core import layers
from gan_mnist.tf_compat import tf

ROWS, UNITS, BATCH = 12, 7, 9


def _one_hot_batch():
    index = np.random.RandomState(0).randint(0, ROWS, BATCH)
    index[:3] = 5  # one row picked three times: its gradient is the sum of theirs
    return np.eye(ROWS, dtype=np.float32)[index]


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_embedding_is_a_dense_layer_on_one_hot_rows(spectral_norm):
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        labels = tf.constant(_one_hot_batch())
        upstream = tf.constant(np.random.RandomState(1).randn(BATCH, UNITS).astype(np.float32))
        getter = layers.spectral_norm_getter if spectral_norm else None
        with tf.variable_scope("d", custom_getter=getter):
            picked = layers.embedding(labels, UNITS, "projection")
        with tf.variable_scope("d", custom_getter=getter, reuse=True):
            multiplied = layers.dense(labels, UNITS, "projection", bias=False)
        weights = [v for v in tf.global_variables() if v.op.name == "d/projection/weights"]
        assert len(weights) == 1  # one matrix, read by both
        gradients = [tf.gradients(tf.reduce_sum(out * upstream), weights)[0]
                     for out in (picked, multiplied)]
        assert all(isinstance(g, tf.Tensor) for g in gradients)  # dense: Adam's dense update
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            a, b, grad_a, grad_b = session.run([picked, multiplied] + gradients)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grad_a, grad_b, rtol=1e-5, atol=1e-6)
    unpicked = _one_hot_batch().sum(axis=0) == 0
    assert unpicked.any() and np.abs(grad_a[5]).max() > 0
    if not spectral_norm:  # (sigma's gradient reaches every row of W)
        assert not grad_a[unpicked].any()


@pytest.mark.parametrize("shape", [(16, 5, 5, 3), (16, 6)])
def test_fused_batch_norm_matches_moments(shape):
    rng = np.random.RandomState(2)
    with tf.Graph().as_default():
        x = tf.constant((rng.randn(*shape) * 3 + 1).astype(np.float32))
        upstream = tf.constant(rng.randn(*shape).astype(np.float32))
        with tf.variable_scope("g"):
            y = layers.batch_norm(x, True, "bn")
        gamma, beta, moving_mean, moving_variance = [
            tf.global_variables("g/bn/" + n)[0]
            for n in ("gamma", "beta", "moving_mean", "moving_variance")]
        mean, variance = tf.nn.moments(x, list(range(len(shape) - 1)))
        expected = tf.nn.batch_normalization(x, mean, variance, beta, gamma, layers.BN_EPSILON)
        inputs = [x, gamma, beta]
        gradients = tf.gradients(tf.reduce_sum(y * upstream), inputs)
        expected_gradients = tf.gradients(tf.reduce_sum(expected * upstream), inputs)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            session.run([gamma.assign(rng.rand(shape[-1]) + 0.5), beta.assign(rng.randn(shape[-1]))])
            values = session.run([y, expected, gradients, expected_gradients, mean, variance])
            session.run(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
            averages = session.run([moving_mean, moving_variance])
    got, want, got_grads, want_grads, batch_mean, batch_variance = values
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    for g, w in zip(got_grads, want_grads):
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-3)
    decay = layers.BN_DECAY
    np.testing.assert_allclose(averages[0], (1 - decay) * batch_mean, rtol=1e-5, atol=1e-6)
    # The batch's own (biased) variance, as tf.nn.moments gives it: not the kernel's unbiased one.
    np.testing.assert_allclose(averages[1], decay + (1 - decay) * batch_variance, rtol=1e-6)
