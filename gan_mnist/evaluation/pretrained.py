"""Generators that ship with the package, so digits come seconds after install: no MNIST files,
no training. ``sample.py --pretrained best`` (or ``best-conditional``); export.py and
evaluate.py take the flag too.

Each is the averaged (EMA) generator of a 15-minute run of its recipe (seed 0), stored as
gan_mnist/assets/generator-NAME.npz, float16 like the shipped classifier, with its SHA-256 in
assets/SHA256SUMS; docs/results/pretrained_NAME.json records how it was trained and how it
scores. Using one writes, once, a real checkpoint folder of the generator alone (config.json and
a TensorFlow checkpoint) in the user's cache folder, so every command that reads a checkpoint
folder reads it unchanged.
"""
import io
import json
import os
import shutil
import sys
import tempfile
import zipfile

import numpy as np

from gan_mnist.assets import ASSETS_DIR, asset_checksums, read_asset, record_asset_checksum
from gan_mnist.cache import cache_root, fallback_cache_root as fallback_root
from gan_mnist.errors import GanError, reason
from gan_mnist.files import atomic_write, check_writable
from gan_mnist.core import gan
from gan_mnist.evaluation import sampling
from gan_mnist.techniques import conditioning as conditioning_lib
from gan_mnist.training import checkpoints, config as config_lib
from gan_mnist.tf_compat import tf

NAMES = ("best", "best-conditional")  # the recipes shipped, each under its recipe's name
HALF_FROM = 256  # arrays this large are stored as float16; smaller ones (biases, the clusters'
# shares) keep float32, a few KB that keep the groups' boundaries exact


def asset_name(name):
    return "generator-%s.npz" % name


def check_not_shipped(folder):
    """Refuse to train into a shipped generator's folder: it holds the generator alone, and
    every later --pretrained would read what the training left there."""
    real = os.path.realpath(folder)
    for root in (cache_root(), fallback_root()):
        if os.path.dirname(real) == os.path.realpath(root) and \
                os.path.basename(real).startswith("pretrained-"):
            raise GanError("%s is the folder of a shipped generator; train in a folder of your "
                           "own (--checkpoint-dir)" % folder)


def checkpoint_dir(name, assets=ASSETS_DIR):
    """The checkpoint folder of shipped generator ``name``, made in the cache on first use (in
    the temporary folder when the cache cannot be written)."""
    if name not in NAMES:
        raise GanError("no shipped generator %r; choose one of: %s" % (name, ", ".join(NAMES)))
    content = read_asset(asset_name(name), "generator", "reinstall gan_mnist", assets)
    digest = asset_checksums(assets)[asset_name(name)]
    root = cache_root()
    try:
        check_writable(root, "cache")
    except GanError:
        root = fallback_root()
        check_writable(root, "cache")
    folder = os.path.join(root, "pretrained-%s-%s" % (name, digest[:12]))
    if checkpoints.latest(folder) and config_lib.load_saved(folder):
        return folder
    scratch = tempfile.mkdtemp(prefix=".pretrained-", dir=root)
    try:
        _write_folder(content, scratch, name)
        try:
            os.rename(scratch, folder)  # whole or not at all; another process may have won
        except OSError:
            if not checkpoints.latest(folder):
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


def _write_folder(content, folder, name):
    """config.json and a checkpoint of the generator's variables, from the shipped file."""
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as stored:
            arrays = {k: stored[k] for k in stored.files}
        saved, step = json.loads(str(arrays.pop("config"))), int(arrays.pop("step"))
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as e:
        why = "it has no %s entry" % e if isinstance(e, KeyError) else reason(e)
        raise GanError("the shipped generator %s cannot be read (%s); reinstall gan_mnist"
                       % (asset_name(name), why))
    config = config_lib.resolve({"checkpoint_dir": folder}, saved)
    graph = tf.Graph()
    with graph.as_default():
        conditioning = conditioning_lib.of(config)
        z = tf.placeholder(tf.float32, [None, config.z_dim])
        labels = (tf.placeholder(tf.float32, [None, conditioning.classes])
                  if conditioning.classes else None)
        gan.generator(z, config.model_spec(), conditioning, training=False, labels=labels)
        variables = sampling.generator_variables(config)
        if set(variables) != set(arrays):
            raise GanError("the shipped generator %s does not fit its recipe; reinstall "
                           "gan_mnist" % asset_name(name))
        assigns = [v.assign(arrays[k].astype(np.float32)) for k, v in variables.items()]
        saver = tf.train.Saver(variables)
    with tf.Session(graph=graph) as session:
        session.run(assigns)
        checkpoints.save(session, saver, folder, step, keep=1)
    config_lib.save(config, folder)


def ship(trained_dir, name, assets=ASSETS_DIR):
    """Make shipped generator ``name`` from the newest checkpoint in ``trained_dir`` (a run of
    recipe ``name``): its sampling weights, float16 where large, and their SHA-256. Returns
    (path, step)."""
    generator = sampling.Generator(trained_dir)
    if generator.config.recipe != name:
        raise GanError("%s holds a run of recipe %s, not %s" % (trained_dir,
                                                              generator.config.recipe, name))
    with generator.session.graph.as_default():
        values = generator.session.run(sampling.generator_variables(generator.config))
    arrays = {k: v.astype(np.float16) if v.size >= HALF_FROM else v for k, v in values.items()}
    saved = {k: v for k, v in json.loads(generator.config.to_json()).items()
             if k in config_lib.CARRIED_FIELDS}
    path = os.path.join(assets, asset_name(name))
    with atomic_write(path, "wb") as f:
        np.savez_compressed(f, config=np.array(json.dumps(saved, sort_keys=True)),
                            step=np.array(generator.step), **arrays)
    digest = record_asset_checksum(path)
    print("wrote %s (%d KB, step %d, SHA-256 %s)" % (path, os.path.getsize(path) // 1024,
                                                     generator.step, digest))
    return path, generator.step


def main(argv):
    """``python -m gan_mnist.evaluation.pretrained CHECKPOINT_DIR NAME``: ship that run."""
    if len(argv) != 2 or argv[1] not in NAMES:
        sys.exit("usage: python -m gan_mnist.evaluation.pretrained CHECKPOINT_DIR {%s}"
                 % ",".join(NAMES))
    try:
        ship(*argv)
    except GanError as e:
        sys.exit("error: %s" % e)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
