"""Our own digit classifier: the 'Inception network' of the MNIST metrics.

A small CNN (conv 3x3 32 -> pool -> conv 3x3 64 -> pool -> dense 128 -> dense 10) in the same TF1
graph style as the GAN. Its class probabilities give the Inception Score and mode coverage; its
128-unit penultimate layer gives the feature space of FID and precision/recall.

One trained classifier per dataset ships with the package (``assets/classifier-DATASET.npz``,
float16 weights, SHA-256 checked on load), so every user's scores are measured by the same network
as the README's and evaluation starts at once. ``scripts/classifier.py`` retrains and rewrites
them; ``--classifier-dir`` trains (about two minutes on 2 CPU cores) or uses one in a folder.
"""
import io
import json
import os
import time

import numpy as np

from gan_mnist.assets import ASSETS_DIR, read_asset, record_asset_checksum
from gan_mnist.errors import GanError, reason, to_stderr
from gan_mnist.files import atomic_write
from gan_mnist.core import data
from gan_mnist.core.layers import conv2d, dense
from gan_mnist.tf_compat import session_config, tf

SCOPE = "classifier"
FEATURES = 128
EPOCHS = 8
BATCH = 128
LEARNING_RATE = 1e-3
LR_DECAY_PER_EPOCH = 0.75  # a decaying rate gets the last few tenths of a percent
MIN_ACCURACY = {"mnist": 0.99, "fashion-mnist": 0.90}  # below this, a warning
INFO_FILE = "classifier.json"
CKPT_PREFIX = "classifier.ckpt"
ASSETS = ASSETS_DIR


def shipped_name(dataset):
    return "classifier-%s.npz" % dataset


def _conv(x, filters, name):
    return tf.nn.max_pool2d(tf.nn.relu(conv2d(x, filters, 3, 1, name)), 2, 2, "VALID")


def build(images, keep_prob=1.0):
    """Logits (batch, 10) and penultimate features (batch, 128) for images (batch, 28, 28) in
    [-1, 1]. ``keep_prob`` < 1 adds dropout before the last layer (training only)."""
    with tf.variable_scope(SCOPE, reuse=tf.AUTO_REUSE):
        x = tf.reshape(images, [-1, 28, 28, 1])
        x = _conv(x, 32, "conv1")
        x = _conv(x, 64, "conv2")
        features = tf.nn.relu(dense(tf.reshape(x, [-1, 7 * 7 * 64]), FEATURES, "features"))
        logits = dense(tf.nn.dropout(features, rate=1.0 - keep_prob), 10, "logits")
    return logits, features


class Classifier:
    """A trained classifier in its own graph and session; call ``predict`` on digits."""

    def __init__(self, folder, info, weights=None):
        """Restored from the checkpoint in ``folder``, or, given ``weights`` (variable name ->
        array), from those."""
        self.folder, self.info = folder, info
        self.test_accuracy = info["test_accuracy"]
        self.graph = tf.Graph()
        with self.graph.as_default():
            self._images = tf.placeholder(tf.float32, [None, 28, 28])
            logits, self._features = build(self._images)
            self._probs = tf.nn.softmax(logits)
            self.variables = tf.global_variables()
            saver = tf.train.Saver(self.variables)
        self.session = tf.Session(graph=self.graph, config=session_config())
        if weights is not None:
            for variable in self.variables:
                variable.load(np.asarray(weights[variable.op.name], np.float32), self.session)
            return
        try:
            saver.restore(self.session, os.path.join(folder, CKPT_PREFIX))
        except (tf.errors.OpError, ValueError) as e:
            raise GanError("the classifier in %s cannot be loaded (%s); delete the folder to "
                           "train it again" % (folder, str(e).strip().splitlines()[0]))

    def weights(self):
        """Variable name -> value: the shipped file's content, and the key of the cached test
        predictions (gan_mnist.evaluation.evaluate)."""
        return dict(zip([v.op.name for v in self.variables], self.session.run(self.variables)))

    def predict(self, images, batch=1000):
        """(class probabilities (N, 10), features (N, 128)) for digits given as uint8 (N, 28, 28)
        or floats in [-1, 1]."""
        images = np.asarray(images)
        if images.dtype == np.uint8:
            images = data.from_uint8(images)
        images = images.reshape(-1, 28, 28)
        probs, feats = [], []
        for i in range(0, len(images), batch):
            p, f = self.session.run([self._probs, self._features],
                                    {self._images: images[i:i + batch]})
            probs.append(p)
            feats.append(f)
        return np.concatenate(probs), np.concatenate(feats)


def load(folder=None, data_dir=None, dataset="mnist", log=None):
    """The classifier an evaluation uses: the one in ``folder`` (trained there first if it is not
    yet), or without a folder the one shipped with the package."""
    return load_or_train(folder, data_dir, dataset, log) if folder else shipped(dataset)


def shipped(dataset="mnist", assets=ASSETS):
    """The classifier shipped for ``dataset``, after checking its file's SHA-256."""
    content = read_asset(shipped_name(dataset), "%s classifier" % dataset,
                         "reinstall gan_mnist, or pass --classifier-dir to train one", assets)
    with np.load(io.BytesIO(content), allow_pickle=False) as stored:
        weights = {k: stored[k] for k in stored.files if k != "info"}
        info = json.loads(str(stored["info"]))
    return Classifier(None, info, weights)


def ship(folder, data_dir=None, dataset="mnist", assets=ASSETS, log=print):
    """Make the shipped classifier of ``dataset`` from the one trained in ``folder``: float16
    weights, the test accuracy measured *with those weights*, and the file's SHA-256 in
    SHA256SUMS. Returns (path, info)."""
    with open(os.path.join(folder, INFO_FILE)) as f:
        info = json.load(f)
    trained = Classifier(folder, info)
    weights = {k: v.astype(np.float16) for k, v in trained.weights().items()}
    half = Classifier(None, info, weights)
    info = dict(info, weights="float16",
                test_accuracy=accuracy_on_test_set(half, data_dir, dataset),
                test_accuracy_float32=info["test_accuracy"])
    os.makedirs(assets, exist_ok=True)
    path = os.path.join(assets, shipped_name(dataset))
    with atomic_write(path, "wb") as f:
        np.savez_compressed(f, info=np.array(json.dumps(info, sort_keys=True)), **weights)
    digest = record_asset_checksum(path)
    log("wrote %s (%d KB, SHA-256 %s): test accuracy %.2f%% with float16 weights (%.2f%% "
        "float32)" % (path, os.path.getsize(path) // 1024, digest, 100 * info["test_accuracy"],
                      100 * info["test_accuracy_float32"]))
    return path, info


def accuracy_on_test_set(classifier, data_dir=None, dataset="mnist"):
    """The share of the test set ``classifier`` labels correctly."""
    test_x, test_y = data.load_split(data_dir, "test", dataset=dataset)
    probs, _ = classifier.predict(test_x)
    return float(np.mean(probs.argmax(1) == test_y))


def load_or_train(folder, data_dir=None, dataset="mnist", log=None):
    """The classifier cached in ``folder``, trained there first if it is not yet."""
    log = log or to_stderr
    info_path = os.path.join(folder, INFO_FILE)
    if os.path.exists(info_path):
        with open(info_path) as f:
            info = json.load(f)
        if info.get("dataset") != dataset:
            raise GanError("the classifier in %s was trained on %s, not %s; choose another "
                           "--classifier-dir" % (folder, info.get("dataset"), dataset))
        return Classifier(folder, info)
    log("training the %s classifier once (about two minutes); it is cached in %s"
        % (dataset, folder))
    info = train(folder, data_dir, dataset, log)
    return Classifier(folder, info)


def train(folder, data_dir=None, dataset="mnist", log=print, epochs=EPOCHS, seed=0):
    """Train on the training set, measure test accuracy, save to ``folder``; return the info."""
    from tqdm import tqdm

    train_x, train_y = data.load_split(data_dir, "train", dataset=dataset)
    test_x, test_y = data.load_split(data_dir, "test", dataset=dataset)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise GanError("cannot create the classifier folder %s: %s" % (folder, reason(e)))
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        images = tf.placeholder(tf.float32, [None, 28, 28])
        labels = tf.placeholder(tf.int64, [None])
        keep_prob = tf.placeholder_with_default(1.0, [])
        logits, _ = build(images, keep_prob)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                            logits=logits))
        learning_rate = tf.placeholder(tf.float32, [])
        step = tf.train.AdamOptimizer(learning_rate).minimize(loss)
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.int32))
        saver = tf.train.Saver(tf.global_variables(SCOPE))
        init = tf.global_variables_initializer()
    rng = np.random.RandomState(seed)
    x_train = data.from_uint8(train_x)
    started = time.time()
    with tf.Session(graph=graph, config=session_config()) as session:
        session.run(init)
        batches = len(x_train) // BATCH
        with tqdm(total=epochs * batches, desc="classifier", unit="batch", disable=None) as bar:
            for epoch in range(epochs):
                rate = LEARNING_RATE * LR_DECAY_PER_EPOCH ** epoch
                order = rng.permutation(len(x_train))
                for i in range(batches):
                    idx = order[i * BATCH:(i + 1) * BATCH]
                    session.run(step, {images: x_train[idx], labels: train_y[idx],
                                       keep_prob: 0.5, learning_rate: rate})
                    bar.update(1)
        x_test = data.from_uint8(test_x)
        hits = sum(session.run(correct, {images: x_test[i:i + 1000], labels: test_y[i:i + 1000]})
                   for i in range(0, len(x_test), 1000))
        saver.save(session, os.path.join(folder, CKPT_PREFIX), write_meta_graph=False)
    info = {"dataset": dataset, "test_accuracy": float(hits) / len(test_x), "epochs": epochs,
            "train_seconds": round(time.time() - started, 1)}
    with atomic_write(os.path.join(folder, INFO_FILE)) as f:
        json.dump(info, f, indent=2)
    log("classifier test accuracy %.2f%% (%d epochs, %.0f s)"
        % (100 * info["test_accuracy"], epochs, info["train_seconds"]))
    if info["test_accuracy"] < MIN_ACCURACY[dataset]:
        log("warning: the classifier is below %.0f%% test accuracy; its scores are less reliable"
            % (100 * MIN_ACCURACY[dataset]))
    return info
