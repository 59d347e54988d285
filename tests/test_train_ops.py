import numpy as np
import pytest

from gan_mnist.training import graph as training_graph
from gan_mnist.training.config import resolve
from gan_mnist.tf_compat import tf
from gan_mnist.core.gan import Phase


@pytest.fixture
def session():
    """A training graph over 500 random 'digits' and its initialised session."""
    config = resolve({"batch_size": 32, "seed": 1})
    images = np.random.RandomState(0).randint(0, 256, (500, 28, 28)).astype(np.uint8)
    tg = training_graph.build_training_graph(config, len(images), extra_phases=(Phase.G,))
    with training_graph.start_session(tg, images) as s:
        yield tg, s


def values(tg, s, scope=""):
    with tg.graph.as_default():
        variables = [v for v in tf.global_variables() if v.op.name.startswith(scope)]
    return dict(zip([v.op.name for v in variables], s.run(variables)))


def changed(before, after):
    return {name for name in before if not np.array_equal(before[name], after[name])}


def test_discriminator_step_moves_only_discriminator(session):
    tg, s = session
    before = values(tg, s)
    s.run(tg.ops.steps[Phase.D])
    moved = changed(before, values(tg, s))
    weights = {n for n in before if n.startswith("discriminator/") and "Adam" not in n
               and "power" not in n}
    assert weights <= moved
    assert all(name.startswith("discriminator/") for name in moved)
    assert s.run(tg.ops.global_step) == 0


def test_generator_step_moves_only_generator_and_counts_the_step(session):
    tg, s = session
    before = values(tg, s)
    s.run(tg.ops.steps[Phase.G])
    moved = changed(before, values(tg, s))
    weights = {n for n in before if n.startswith("generator/") and "Adam" not in n
               and "power" not in n}
    assert weights <= moved
    assert all(name.startswith("generator/") or name == "global_step" for name in moved)
    assert s.run(tg.ops.global_step) == 1


def test_fused_step_equals_d_step_then_g_step(session):
    """One session.run of the fused step computes what the seeds' two calls compute."""
    tg, s = session
    initial = values(tg, s)
    for _ in range(3):
        s.run(tg.ops.steps[Phase.D])
        s.run(tg.ops.steps[Phase.G])
    two_calls = values(tg, s)
    with tg.graph.as_default():
        for v in tf.global_variables():
            v.load(initial[v.op.name], s)
    for _ in range(3):
        s.run(tg.ops.steps[Phase.TRAIN])
    fused = values(tg, s)
    assert fused["global_step"] == two_calls["global_step"] == 3
    for name in initial:
        np.testing.assert_allclose(fused[name], two_calls[name], rtol=1e-5, atol=1e-7,
                                   err_msg=name)
    assert changed(initial, fused) == set(initial)  # everything trained, incl. Adam's state


def test_graph_holds_only_model_optimizer_and_step_variables(session):
    tg, _ = session
    with tg.graph.as_default():
        names = [v.op.name for v in tf.global_variables()]
    assert "global_step" in names
    for name in names:
        assert name == "global_step" or name.split("/")[0] in ("generator", "discriminator"), name


def test_fused_step_equals_the_seeds_feed_dict_step(session):
    """Same initial weights, same batch, same noise: the seeds' two feed_dict calls (NumPy data
    path) and our fused in-graph step end with the same weights."""
    from gan_mnist.benchmarks.workers import build_feed_dict_graph

    tg, s = session
    initial = values(tg, s)
    real, z = s.run([tg.inputs.real, tg.inputs.z])  # what the pipeline draws for step 0
    s.run(tg.ops.steps[Phase.TRAIN])
    fused = values(tg, s)

    config = resolve({"batch_size": 32, "seed": 1})
    fd = build_feed_dict_graph(config)
    with tf.Session(graph=fd.graph) as plain:
        plain.run(fd.init)
        with fd.graph.as_default():
            weights = [v for v in tf.trainable_variables()]
            for v in weights:
                v.load(initial[v.op.name], plain)
        plain.run(fd.d_step, {fd.real: real, fd.z: z})
        plain.run(fd.g_step, {fd.z: z})
        after = dict(zip([v.op.name for v in weights], plain.run(weights)))
    assert len(after) == 8
    for name, value in after.items():
        assert not np.array_equal(value, initial[name]), name
        np.testing.assert_allclose(fused[name], value, rtol=1e-5, atol=1e-7, err_msg=name)


def test_pipeline_batches_are_training_images_scaled_to_unit_range(session):
    tg, s = session
    real, z = s.run([tg.inputs.real, tg.inputs.z])
    assert real.shape == (32, 784) and z.shape == (32, 100)
    assert real.min() >= -1 and real.max() <= 1 and np.abs(z).max() <= 1
    pixels = np.rint((real + 1) * 127.5).astype(np.uint8).reshape(32, 28, 28)
    images = np.random.RandomState(0).randint(0, 256, (500, 28, 28)).astype(np.uint8)
    for digit in pixels:  # every batch row is one of the training images
        assert (images == digit).all(axis=(1, 2)).any()


def cross_entropy(logits, targets):
    """NumPy's sigmoid cross-entropy, mean over the batch: the formula, not TensorFlow's op."""
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    return float(np.mean(-(targets * np.log(p) + (1 - targets) * np.log(1 - p))))


@pytest.mark.quick
@pytest.mark.parametrize("smoothing", [0.1, 0.0])
def test_the_configs_label_smoothing_reaches_ds_loss(smoothing):
    """D's loss in the train ops is the cross-entropy with real targets 1 - label_smoothing
    (0.9 for the seeds' 0.1, 1.0 without), generated targets 0."""
    config = resolve({"batch_size": 32, "seed": 1, "label_smoothing": smoothing})
    images = np.random.RandomState(0).randint(0, 256, (100, 28, 28)).astype(np.uint8)
    tg = training_graph.build_training_graph(config, len(images))
    with training_graph.start_session(tg, images) as s:
        real, fake, d_loss = s.run([tg.model.real_logits, tg.model.fake_logits,
                                    tg.ops.loss.d_loss])
    expected = cross_entropy(real, 1.0 - smoothing) + cross_entropy(fake, 0.0)
    assert d_loss == pytest.approx(expected, rel=1e-5)


@pytest.mark.quick
def test_d_and_g_each_take_a_first_adam_step_of_their_own_learning_rate():
    """Adam's first step moves a weight by lr * g / (|g| + eps), so by lr wherever the gradient
    is not tiny: D's weights by lr_d, G's by lr_g."""
    config = resolve({"batch_size": 32, "seed": 1, "lr_d": 1e-3, "lr_g": 3e-4})
    images = np.random.RandomState(0).randint(0, 256, (100, 28, 28)).astype(np.uint8)
    tg = training_graph.build_training_graph(config, len(images), extra_phases=(Phase.G,))
    with training_graph.start_session(tg, images) as s:
        for phase, scope, lr in ((Phase.D, "discriminator/", 1e-3), (Phase.G, "generator/", 3e-4)):
            before = values(tg, s, scope)
            s.run(tg.ops.steps[phase])
            after = values(tg, s, scope)
            for name in before:
                if "Adam" in name or "power" in name:
                    continue
                largest = np.abs(after[name] - before[name]).max()
                assert largest == pytest.approx(lr, rel=1e-3), (name, largest)


@pytest.mark.parametrize("phase", [Phase.TRAIN, Phase.TRAIN_REG])
def test_the_logged_values_of_a_step_run_nothing_else(phase):
    """The trainer fetches the logged losses with every step: fetching them beside a phase's
    op must not run another phase's updates (a regularised step's G loss read after the plain
    D update would run that update too, and update D twice)."""
    config = resolve({"arch": "fast", "hidden": 8, "batch_size": 16, "seed": 1, "r1": 1.0,
                      "r1_every": 2, "spectral_norm": True, "ema": 0.9})
    images = np.random.RandomState(0).randint(0, 256, (200, 28, 28)).astype(np.uint8)
    tg = training_graph.build_training_graph(config, len(images))
    logged = list(tg.logged[phase].values())  # what the trainer fetches with the step
    after = []
    for fetches in ([tg.ops.steps[phase]], [tg.ops.steps[phase]] + logged):
        with training_graph.start_session(tg, images) as s:
            s.run(fetches)
            after.append(values(tg, s))
    assert not changed(*after)


def test_the_phases_table_gives_each_step_its_phase_and_builds_only_those_used():
    """gan.PHASES as the loop reads it: with 3 steps of D pre-training and R1 every 4th step,
    steps 0-9 run PRETRAIN_REG, PRETRAIN, PRETRAIN, TRAIN, TRAIN_REG, TRAIN x 3, TRAIN_REG,
    TRAIN (worked out by hand: R1 on multiples of 4, pre-training below 3); without R1 or
    pre-training the loop only ever runs TRAIN, and only the phases a spec can reach are used."""
    from gan_mnist.core import gan

    both = resolve({"arch": "fc", "d_pretrain_steps": 3, "r1": 1.0, "r1_every": 4}).train_spec()
    P = gan.Phase
    assert [gan.phase_for_step(both, s) for s in range(10)] == [
        P.PRETRAIN_REG, P.PRETRAIN, P.PRETRAIN, P.TRAIN, P.TRAIN_REG, P.TRAIN, P.TRAIN, P.TRAIN,
        P.TRAIN_REG, P.TRAIN]
    assert gan.phases_used(both) == {P.PRETRAIN_REG, P.PRETRAIN, P.TRAIN_REG, P.TRAIN}
    plain = resolve({"arch": "fc"}).train_spec()
    assert {gan.phase_for_step(plain, s) for s in range(10)} == gan.phases_used(plain) == {P.TRAIN}
    assert [gan.pretrains(p) for p in (P.PRETRAIN, P.PRETRAIN_REG, P.TRAIN, P.TRAIN_REG)] == [
        True, True, False, False]
