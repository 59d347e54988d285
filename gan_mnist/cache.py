"""The user's cache: what the package makes once and reuses (the shipped generators' checkpoint
folders, k-means groups, the test digits' neighbour radii and predictions)."""
import os
import tempfile

import numpy as np


def cache_root():
    """The user's cache folder for what the package makes once and reuses (the shipped
    generators' checkpoint folders, k-means groups, the test digits' neighbour radii):
    GAN_MNIST_CACHE, else
    $XDG_CACHE_HOME/gan_mnist, else ~/.cache/gan_mnist."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get("GAN_MNIST_CACHE") or os.path.join(base, "gan_mnist")


def fallback_cache_root():
    """Where cached folders go when the cache cannot be written: this user's own temporary
    one."""
    return os.path.join(tempfile.gettempdir(), "gan_mnist-cache-%d" % os.getuid())


def cached_array(kind, key, compute, valid=None):
    """``compute()``'s NumPy array, or the same answer from the cache: a file in ``kind/`` under
    cache_root(), named by ``key`` (a hashlib object fed with everything the answer depends on).
    The cache is a convenience: a file that cannot be read, or that ``valid`` refuses, is
    computed again; one that cannot be written is skipped, silently."""
    folder = os.path.join(cache_root(), kind)
    path = os.path.join(folder, key.hexdigest()[:40] + ".npy")
    try:
        array = np.load(path, allow_pickle=False)
        if valid is None or valid(array):
            return array
    except (OSError, ValueError):
        pass
    array = compute()
    scratch = None
    try:  # a file of its own, then a rename: processes side by side may write the same entry
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as f:
            scratch = f.name
            np.save(f, array)
        os.replace(scratch, path)
    except OSError:
        if scratch and os.path.exists(scratch):
            os.remove(scratch)
    return array
