"""The training graph and its session: inputs, G and D, the train ops, the sampling generator
(reading G's moving averages with --ema), the savers; and the digits loaded into the session."""
import collections

import numpy as np

from gan_mnist.core import gan, pipeline
from gan_mnist.core.pipeline import build_inputs
from gan_mnist.techniques import conditioning as conditioning_lib
from gan_mnist.tf_compat import tf
from gan_mnist.training import checkpoints

SAMPLE_GRID_SIZE = 64  # an 8x8 grid of the same noise vectors all run long

TrainingGraph = collections.namedtuple(
    "TrainingGraph",
    "graph inputs model ops sample_z sample_labels samples logged all_finite saver best_saver "
    "init conditioning train_spec")
GRID_COLUMNS_CONDITIONAL = 8  # a conditional grid: one row per class, 8 noise vectors across


def fixed_noise(config, n=SAMPLE_GRID_SIZE):
    """The noise batch behind every sample grid: the same for a given seed, across resumes."""
    return pipeline.noise(n, config.z_dim, config.seed)


def grid_inputs(config, conditioning):
    """(noise, one-hot labels or None, columns) of the sample grids. Unconditional: 64 noise
    vectors, 8x8. Conditional: row r asks for class r, the same 8 noise vectors in every row,
    so each column shows one 'handwriting' writing every digit."""
    classes = conditioning.classes
    if not classes:
        return fixed_noise(config), None, None
    columns = GRID_COLUMNS_CONDITIONAL
    noise = np.tile(fixed_noise(config, columns), (classes, 1))
    labels = np.repeat(np.arange(classes), columns)
    return noise, conditioning_lib.one_hot(labels), columns


def build_training_graph(config, num_images, conditioning=None, extra_phases=()):
    """Everything a training session needs, in a new graph: the one place the Config is unpacked
    for the GAN (into gan.ModelSpec and gan.TrainSpec). ``conditioning``: the config's
    (gan_mnist.techniques.conditioning), prepared by the trainer on the training digits; by
    default an unprepared one, for graphs that are timed or inspected rather than trained.
    ``extra_phases``: phases beyond the loop's own (gan.Phase), e.g. a G step alone for the
    tutorials' two session.run calls."""
    conditioning = conditioning or conditioning_lib.of(config)
    model_spec, train_spec = config.model_spec(), config.train_spec()
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config.seed)  # fixes the initial weights
        global_step = tf.train.get_or_create_global_step()
        width = conditioning.width
        inputs = build_inputs(num_images, config.batch_size, config.z_dim, config.seed,
                              global_step, gan.pixel_range(config.arch), with_labels=bool(width))
        labels = tf.one_hot(inputs.labels, width, dtype=tf.float32) if width else None
        model = gan.build_gan(inputs.real, inputs.z, model_spec, conditioning, inputs.real_seed,
                              inputs.fake_seed, labels)
        ops = gan.build_train_ops(model, model_spec, train_spec, global_step, extra_phases)
        sample_z = tf.placeholder(tf.float32, [None, config.z_dim], name="sample_z")
        sample_labels = (tf.placeholder(tf.float32, [None, conditioning.classes],
                                        name="sample_labels") if conditioning.classes else None)
        samples = gan.to_tanh_range(  # the weights' moving averages with --ema
            gan.generator(sample_z, model_spec, conditioning, reuse=True, training=False,
                          custom_getter=gan.read_averages if config.ema else None,
                          labels=sample_labels), config.arch)
        d_real, d_fake = tf.reduce_mean(model.real_prob), tf.reduce_mean(model.fake_prob)
        # Per phase: G's loss as that phase computes it, so fetching it runs nothing else.
        logged = {phase: {"d_loss": ops.loss.d_loss, "g_loss": ops.g_losses[phase],
                          "d_real": d_real, "d_fake": d_fake} for phase in ops.steps}
        all_finite = tf.reduce_all([tf.reduce_all(tf.is_finite(v)) for v in tf.global_variables()
                                    if v.dtype.base_dtype == tf.float32])
        saver = checkpoints.make_saver()
        best_saver = checkpoints.make_saver()
        init = tf.global_variables_initializer()
    return TrainingGraph(graph, inputs, model, ops, sample_z, sample_labels, samples, logged,
                         all_finite, saver, best_saver, init, conditioning, train_spec)


def start_session(tg, train_images, session_conf=None, train_labels=None):
    """A session with the training digits (and, for a conditional model, their labels) loaded
    and all variables initialised."""
    session = tf.Session(graph=tg.graph, config=session_conf)
    session.run(tg.inputs.images.initializer, {tg.inputs.images_feed: train_images})
    if tg.inputs.all_labels is not None:
        if train_labels is None:
            raise ValueError("a conditional model trains on labelled digits")
        session.run(tg.inputs.all_labels.initializer, {tg.inputs.labels_feed: train_labels})
    session.run(tg.init)
    return session
