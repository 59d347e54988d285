"""What G and D are conditioned on: nothing, the class label (--conditional), a k-means group
of the training digits (--clusters K), or a k-means group within the class (both flags). One
object, made from the Config, answers every question the stages would otherwise ask of
``config.conditional`` and ``config.clusters``: how wide the one-hot rows are, what the
pipeline draws beside each digit, what G reads besides its noise, and which classes a user may
ask for.
"""
import numpy as np

from gan_mnist.techniques import clusters
from gan_mnist.tf_compat import tf

NUM_CLASSES = 10


def labels_in_turn(n, classes=None):
    """``n`` labels cycling through ``classes`` (default 0..9): 0, 1, ..., 9, 0, 1, ..."""
    classes = np.arange(NUM_CLASSES) if classes is None else np.asarray(classes)
    return classes[np.arange(n) % len(classes)].astype(np.int64)


def one_hot(labels, width=NUM_CLASSES):
    """int labels (N,) -> float32 one-hot rows (N, width), the form G and D read."""
    return np.eye(width, dtype=np.float32)[np.asarray(labels)]


class Unconditional:
    """A plain GAN: noise in, digit out."""
    width = 0  # the one-hot width G and D read beside noise and pixels
    classes = 0  # how many classes a user can ask for (sample.py --label)

    def prepare(self, checkpoint_dir, train_images, train_labels, seed):
        """The label the pipeline draws with each training digit (None: none)."""
        return None

    def generator_input(self, z, labels):
        """Inside G's scope: (noise, one-hot rows or None) for the network."""
        if labels is not None:
            raise ValueError("labels given to an unconditional model")
        return z, None

    def user_labels(self, n, classes=None):
        """The labels to ask for when drawing ``n`` digits (None: the model takes none)."""
        return None


class ClassLabels(Unconditional):
    """--conditional: G and D see the class (Mirza & Osindero 2014), so a user can ask for one."""
    width = classes = NUM_CLASSES

    def prepare(self, checkpoint_dir, train_images, train_labels, seed):
        return train_labels

    def generator_input(self, z, labels):
        if labels is None:
            raise ValueError("a conditional model needs labels")
        return z, labels

    def user_labels(self, n, classes=None):
        return labels_in_turn(n, classes)


class Clusters(Unconditional):
    """--clusters K: G and D see a k-means group of the digits (Liu et al. 2020); G picks the
    group from its first noise coordinate, as often as the group holds training digits, so the
    model stays noise -> digit for sampling and export."""

    def __init__(self, k):
        self.width = k
        self.edges = None  # the groups' cumulative shares, once prepared (else restored)

    def prepare(self, checkpoint_dir, train_images, train_labels, seed):
        """k-means of the training digits (a few seconds; kept in the checkpoint folder)."""
        assignment = clusters.load_or_make(checkpoint_dir, train_images, self.width, seed)
        self.edges = clusters.edges(assignment, self.width)
        return assignment

    def edges_variable(self, shape):
        """Inside G's scope: the groups' edges as a variable of G, so a checkpoint carries them
        to sampling and export (zeros until restored when nothing was prepared)."""
        initial = np.zeros(shape, np.float32) if self.edges is None else self.edges
        return tf.get_variable("cluster_edges", trainable=False,
                               initializer=tf.constant(initial, tf.float32))

    def generator_input(self, z, labels):
        edges = self.edges_variable([self.width - 1])
        if labels is None:
            labels = tf.one_hot(cluster_of_noise(z, edges), self.width, dtype=tf.float32)
        return z[:, 1:], labels  # the first coordinate chose the group; the rest shape the digit


class ClassClusters(Clusters):
    """--conditional --clusters K: each class split into K/10 k-means groups. G and D train on
    the groups, finer targets than the classes (as --clusters is for an unconditional model);
    a user still asks for a class, and G picks one of its groups from the first noise
    coordinate, as often as the group holds the class's digits."""
    classes = NUM_CLASSES

    def prepare(self, checkpoint_dir, train_images, train_labels, seed):
        """k-means within each class (a few seconds; kept in the checkpoint folder)."""
        assignment = clusters.load_or_make(checkpoint_dir, train_images, self.width, seed,
                                           labels=train_labels, classes=NUM_CLASSES)
        self.edges = clusters.edges_within_classes(assignment, self.width, NUM_CLASSES)
        return assignment

    def generator_input(self, z, labels):
        if labels is None:
            raise ValueError("a conditional model needs labels")
        edges = self.edges_variable([NUM_CLASSES, self.width // NUM_CLASSES - 1])
        if labels.shape[-1] == NUM_CLASSES:  # classes asked for: a group of each from the noise
            labels = groups_of_classes(z, labels, edges, self.width)
        return z[:, 1:], labels

    user_labels = ClassLabels.user_labels  # a user asks for classes, as of a --conditional model


def cluster_of_noise(z, edges):
    """The group whose share of [0, 1) holds (z[:, 0] + 1) / 2, so noise drawn uniformly from
    [-1, 1) picks each group as often as it holds training digits."""
    return tf.reduce_sum(tf.cast(_position(z)[:, None] >= edges[None, :], tf.int32), axis=1)


def groups_of_classes(z, class_rows, edges, width):
    """One-hot group rows (N, width) for class rows (N, 10): for each class, the group of it
    that z[:, 0] picks (``cluster_of_noise`` over the class's ``edges``), weighted by the row,
    so a soft row blends the classes' groups the way it blends classes."""
    within = tf.reduce_sum(tf.cast(_position(z)[:, None, None] >= edges[None], tf.int32), axis=2)
    groups = within + tf.range(NUM_CLASSES)[None, :] * (width // NUM_CLASSES)  # (N, 10)
    return tf.reduce_sum(class_rows[:, :, None] * tf.one_hot(groups, width), axis=1)


def _position(z):
    """Where the first noise coordinate, drawn from [-1, 1), falls in [0, 1)."""
    return (z[:, 0] + 1.0) / 2.0


def of(config):
    """The conditioning of a Config."""
    if config.clusters:
        return (ClassClusters if config.conditional else Clusters)(config.clusters)
    return ClassLabels() if config.conditional else Unconditional()
