"""Generating digits from a trained checkpoint (scripts/sample.py, evaluation and figures)."""
import collections

import numpy as np

from gan_mnist.errors import GanError
from gan_mnist.training import checkpoints, config as config_lib
from gan_mnist.core import data, gan
from gan_mnist.techniques import conditioning as conditioning_lib
from gan_mnist.core import pipeline
from gan_mnist.techniques.conditioning import labels_in_turn, one_hot
from gan_mnist.tf_compat import session_config, tf

BATCH = 1000  # generate in chunks so a large --n does not build one huge batch


TrainedModel = collections.namedtuple("TrainedModel", "config path step conditioning")


def newest_model(checkpoint_dir):
    """The trained model in ``checkpoint_dir``: its Config, the newest checkpoint's path and
    step, and its conditioning (gan_mnist.techniques.conditioning), made once here and handed
    to every graph built from it; a --clusters model's group shares come with the weights."""
    saved = config_lib.load_saved(checkpoint_dir)
    path = checkpoints.latest(checkpoint_dir)
    if saved is None or path is None:
        raise GanError("no trained model in %s (it needs a checkpoint and config.json); "
                       "train one with scripts/train.py --checkpoint-dir %s"
                       % (checkpoint_dir, checkpoint_dir))
    config = config_lib.resolve({}, saved)
    return TrainedModel(config, path, checkpoints.step_in_path(path), conditioning_lib.of(config))


def generator_variables(config):
    """For a Saver of a generator built in this graph: checkpoint name -> variable (its weights'
    moving averages when the run kept them)."""
    return gan.sampling_variables(config.ema, gan.scope_variables(
        gan.GENERATOR_SCOPE, tf.GraphKeys.GLOBAL_VARIABLES))


class Generator:
    """The generator of a checkpoint folder in its own graph: call it on noise to get digits.

    Only the generator's variables are restored (the newest checkpoint), so the discriminator
    need not match; ``trained=False`` gives the same network freshly initialised instead.
    """

    def __init__(self, checkpoint_dir, trained=True):
        model = newest_model(checkpoint_dir)
        self.config, self.conditioning = model.config, model.conditioning
        self.step = model.step if trained else 0
        graph = tf.Graph()
        with graph.as_default():
            tf.set_random_seed(self.config.seed)
            self._z = tf.placeholder(tf.float32, [None, self.config.z_dim], name="z")
            classes = self.conditioning.classes
            self._labels = (tf.placeholder(tf.float32, [None, classes], name="labels")
                            if classes else None)
            self._fake = gan.to_tanh_range(
                gan.generator(self._z, self.config.model_spec(), self.conditioning,
                              training=False, labels=self._labels),
                self.config.arch)
            variables = generator_variables(self.config)  # incl. batch-norm statistics
            saver = tf.train.Saver(variables)
            init = tf.global_variables_initializer()
        self.session = tf.Session(graph=graph, config=session_config())
        if trained:
            checkpoints.restore_from(self.session, saver, model.path, variables)
        else:
            self.session.run(init)

    def noise(self, n, seed=0):
        return pipeline.noise(n, self.config.z_dim, seed)

    def __call__(self, noise, labels=None):
        """uint8 digits (N, 28, 28) for noise (N, z_dim). A conditional model also takes the
        classes: int labels (N,), or one-hot / soft rows (N, 10); by default classes in turn."""
        rows = None
        if self.conditioning.classes:
            labels = (self.conditioning.user_labels(len(noise)) if labels is None
                      else np.asarray(labels))
            rows = one_hot(labels) if labels.ndim == 1 else labels.astype(np.float32)
        elif labels is not None:
            raise GanError("this model is unconditional: it cannot be asked for a class "
                           "(train one with --conditional)")
        out = []
        for i in range(0, len(noise), BATCH):
            feed = {self._z: noise[i:i + BATCH]}
            if rows is not None:
                feed[self._labels] = rows[i:i + BATCH]
            out.append(self.session.run(self._fake, feed))
        return data.to_uint8(np.concatenate(out).reshape(len(noise), 28, 28))


def generate(checkpoint_dir, n, seed=0, classes=None):
    """``n`` digits as uint8 (n, 28, 28) from the newest checkpoint, that checkpoint's step, and
    the label of each digit (None for an unconditional model). A conditional model draws
    ``classes`` in turn (default all ten). The same seed always gives the same digits."""
    generator = Generator(checkpoint_dir)
    labels = None  # asking an unconditional model for classes is refused by the generator
    if generator.conditioning.classes or classes is not None:
        labels = labels_in_turn(n, classes)
    return generator(generator.noise(n, seed), labels), generator.step, labels


def interpolation_noise(z_dim, rows=8, columns=10, seed=0):
    """Noise for ``rows`` straight lines of ``columns`` points between random latent pairs."""
    rng = np.random.RandomState(seed)
    start, end = rng.uniform(-1, 1, (2, rows, 1, z_dim))
    t = np.linspace(0, 1, columns)[None, :, None]
    return (start + t * (end - start)).reshape(rows * columns, z_dim).astype(np.float32)


def labels_path(npy_path):
    """Where the labels of ``digits.npy`` go: ``digits.labels.npy`` beside it."""
    stem = npy_path[:-len(".npy")] if npy_path.endswith(".npy") else npy_path
    return stem + ".labels.npy"
