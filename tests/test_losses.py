import numpy as np
import pytest

from gan_mnist.core import gan
from gan_mnist.tf_compat import tf


def xent(labels, logits):
    """Reference sigmoid cross-entropy: -[y log s(x) + (1 - y) log(1 - s(x))]."""
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    return -(labels * np.log(p) + (1 - labels) * np.log(1 - p))


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_losses_match_numpy(smoothing):
    rng = np.random.RandomState(0)
    real_logits = rng.normal(0, 3, 64).astype(np.float32)
    fake_logits = rng.normal(0, 3, 64).astype(np.float32)
    with tf.Graph().as_default(), tf.Session() as s:
        d, g = s.run([gan.discriminator_loss(real_logits, fake_logits, smoothing),
                      gan.generator_loss(fake_logits)])
    expected_d = xent(1 - smoothing, real_logits).mean() + xent(0.0, fake_logits).mean()
    expected_g = xent(1.0, fake_logits).mean()
    np.testing.assert_allclose(d, expected_d, rtol=1e-5)
    np.testing.assert_allclose(g, expected_g, rtol=1e-5)


def test_losses_are_stable_for_huge_logits():
    with tf.Graph().as_default(), tf.Session() as s:
        d, g = s.run([gan.discriminator_loss([200.0], [-200.0], 0.0),
                      gan.generator_loss([-200.0])])
    assert d == pytest.approx(0.0, abs=1e-6) and g == pytest.approx(200.0)
