"""--clusters K: pseudo-classes for an unconditional model, found without labels.

k-means on the training digits' pixels splits them into K groups, and G and D are conditioned on
the group the way a --conditional model is on the class (Liu et al. 2020, "Diverse image
generation via self-conditioned GANs", cluster D's features during training; we cluster pixels
once, before training, which is cheap on a CPU). Each cluster is a smaller, simpler target than
"any digit", so G is less tempted to blend digits into shapes between them.

At sampling time nothing outside the generator changes: the first noise coordinate picks the
cluster with the clusters' frequencies (``conditioning.cluster_of_noise``), so sample.py, evaluate.py
and an exported model still map noise to digits.

With --conditional, k-means runs within each class (``kmeans_within_classes``): class c's digits
form groups c*m .. c*m+m-1 (m = K/10), so the groups refine the labels instead of replacing them.

The assignment is written to the checkpoint folder on the first start and read back on every
resume, so a resumed run trains on exactly the same clusters. k-means takes 7-8 seconds for the
160 groups of `best`, so its answer is also kept in the user's cache, under a digest of the
digits, labels and settings it depends on: the next fresh run on the same digits starts at once.
"""
import hashlib
import os

import numpy as np
from scipy.cluster import vq

from gan_mnist.cache import cached_array
from gan_mnist.errors import GanError
from gan_mnist.files import atomic_write

CLUSTERS_FILE = "clusters.npy"
KMEANS_ITERATIONS = 20
CACHE_VERSION = 1  # raise it when kmeans() would give another answer for the same inputs


def kmeans(images, k, seed):
    """Cluster of each image (N,) uint8, by k-means (k-means++ start) on pixels in [0, 1]."""
    pixels = images.reshape(len(images), -1).astype(np.float32) / 255.0
    _, assignment = vq.kmeans2(pixels, kmeans_plus_plus(pixels, k, seed),
                               iter=KMEANS_ITERATIONS, minit="matrix")
    return assignment.astype(np.uint8)


def kmeans_within_classes(images, labels, k, seed, classes=10):
    """Group of each image (N,) uint8: k // classes k-means groups within each class, numbered
    class by class (class c holds groups c*m .. c*m+m-1, m = k // classes)."""
    per_class = k // classes
    assignment = np.empty(len(images), np.uint8)
    for c in range(classes):
        members = np.flatnonzero(labels == c)
        assignment[members] = c * per_class + kmeans(images[members], per_class, seed + c)
    return assignment


def kmeans_plus_plus(pixels, k, seed):
    """The k starting centres SciPy's ``kmeans2(minit="++", seed=seed)`` picks, from the same
    random numbers, in a few seconds instead of half a minute: SciPy measures every digit's
    distance to all centres so far for each new centre (60,000 digits x 40 centres); here each
    digit keeps its distance to the nearest one, updated by the newest centre alone."""
    rng = np.random.RandomState(seed)
    x = pixels.astype(np.float64)
    norms = np.einsum("ij,ij->i", x, x)
    centres = np.empty((k, x.shape[1]))
    nearest = None
    for i in range(k):
        if i == 0:
            index = rng.randint(len(x))
        else:
            index = int(np.searchsorted((nearest / nearest.sum()).cumsum(), rng.uniform()))
        centres[i] = x[index]
        distance = np.maximum(norms - 2.0 * x.dot(centres[i]) + norms[index], 0.0)
        nearest = distance if nearest is None else np.minimum(nearest, distance)
    return centres


def edges(assignment, k):
    """The clusters' cumulative shares of the digits, without the final 1: the edges that cut
    [0, 1) into one piece per cluster, each as long as its cluster's share."""
    counts = np.bincount(assignment, minlength=k)
    return (np.cumsum(counts)[:-1] / float(len(assignment))).astype(np.float32)


def edges_within_classes(assignment, k, classes=10):
    """(classes, k // classes - 1): each class's edges over its own groups (``edges``), so the
    first noise coordinate picks a group of the class asked for as often as it holds the
    class's digits."""
    per_class = k // classes
    counts = np.bincount(assignment, minlength=k).reshape(classes, per_class)
    shares = np.cumsum(counts, axis=1)[:, :-1] / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    return shares.astype(np.float32)


def load_or_make(checkpoint_dir, images, k, seed, labels=None, classes=10):
    """The run's cluster of each training digit: read from the checkpoint folder, or computed
    by k-means (a few seconds) and saved there (atomically) on the first start. Given the
    digits' ``labels`` (--conditional), the groups are made within each class."""
    path = os.path.join(checkpoint_dir, CLUSTERS_FILE)
    if os.path.exists(path):
        try:
            assignment = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise GanError("cannot read %s (%s); remove it to cluster the digits again, or use "
                           "--fresh" % (path, e))
        if not _valid(assignment, images, k):
            raise GanError("%s holds %s %s, not the %d-cluster assignment of %d training digits; "
                           "remove it to cluster again, or use --fresh"
                           % (path, assignment.dtype, assignment.shape, k, len(images)))
        if labels is not None and np.any(assignment // (k // classes) != labels):
            raise GanError("%s holds groups that do not follow the digits' classes (it was made "
                           "without --conditional); remove it to cluster again, or use --fresh"
                           % path)
        return assignment
    assignment = cached_kmeans(images, k, seed, labels, classes)
    with atomic_write(path, "wb") as f:
        np.save(f, assignment)
    return assignment


def _valid(assignment, images, k):
    return (isinstance(assignment, np.ndarray) and assignment.shape == (len(images),)
            and assignment.dtype == np.uint8 and (not assignment.size or assignment.max() < k))


def cached_kmeans(images, k, seed, labels=None, classes=10):
    """k-means (within classes given ``labels``), or the same answer from the cache
    (``cached_array``: a file named by a SHA-256 of everything the answer depends on)."""
    key = hashlib.sha256(b"kmeans v%d k=%d seed=%d iterations=%d classes=%d shape=%s|" % (
        CACHE_VERSION, k, seed, KMEANS_ITERATIONS, classes if labels is not None else 0,
        str(images.shape).encode()))
    key.update(np.ascontiguousarray(images).tobytes())
    if labels is not None:
        key.update(np.ascontiguousarray(labels, np.int64).tobytes())
    within = "" if labels is None else ", %d per class" % (k // classes)

    def compute():
        print("clustering the %d training digits into %d groups (k-means on pixels%s)"
              % (len(images), k, within), flush=True)
        return (kmeans(images, k, seed) if labels is None
                else kmeans_within_classes(images, labels, k, seed, classes))
    return cached_array("clusters", key, compute, lambda a: _valid(a, images, k))
