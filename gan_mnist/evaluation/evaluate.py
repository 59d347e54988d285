"""How good are the digits? Classifier scores, FID, mode coverage, precision/recall, memorisation.

Generated digits are compared with the MNIST test set (the reference). Beside them, the same
numbers for real digits not in the reference (a random draw from the training set) give each
metric its ceiling; for memorisation those real digits are measured against the *other*
training images.
"""
import hashlib
import json
import os

import numpy as np

from gan_mnist.cache import cached_array
from gan_mnist.errors import GanError, reason
from gan_mnist.files import atomic_write
from gan_mnist.core import data
from gan_mnist.evaluation import metrics
from gan_mnist.evaluation import classifier as classifier_lib

REPORT_FILE = "evaluation.json"
PR_K = 3  # precision and recall's neighbourhood: the k-th nearest neighbour (the paper's k)


def load_samples(path):
    """Digits saved by ``sample.py --npy``: uint8 (N, 28, 28); (N, 784) is accepted too."""
    try:
        with open(path, "rb") as f:
            is_npy = f.read(len(np.lib.format.MAGIC_PREFIX)) == np.lib.format.MAGIC_PREFIX
    except OSError as e:
        raise GanError("cannot read %s (%s)" % (path, reason(e)))
    if not is_npy:  # np.load would call a text file "pickled data"
        raise GanError("%s is not a NumPy .npy file; write the digits with scripts/sample.py "
                       "--npy, or np.save(path, uint8 array of shape (N, 28, 28))" % path)
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise GanError("cannot read %s as a NumPy .npy file (%s)" % (path, e))
    if array.dtype != np.uint8:
        raise GanError("%s holds %s values; expected uint8 pixels 0..255 as written by "
                       "scripts/sample.py --npy" % (path, array.dtype))
    if array.ndim == 2 and array.shape[1] == 784:
        array = array.reshape(-1, 28, 28)
    if array.ndim != 3 or array.shape[1:] != (28, 28) or not 10 <= len(array) <= 60000:
        raise GanError("%s has shape %s; expected (N, 28, 28) with 10 <= N <= 60000 (as many "
                       "real digits are measured beside them)" % (path, array.shape))
    return array


def load_labels(path, n):
    """The labels beside a samples file (sample.py --npy of a conditional model)."""
    try:
        labels = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise GanError("cannot read %s as a NumPy .npy file (%s)" % (path, e))
    if labels.shape != (n,) or labels.dtype.kind not in "ui" or labels.size and (
            labels.min() < 0 or labels.max() > 9):
        raise GanError("%s holds %s %s; expected %d class labels 0-9 for the digits beside it"
                       % (path, labels.dtype, labels.shape, n))
    return labels.astype(np.int64)


class Evaluator:
    """The classifier plus the reference statistics, computed once and reused."""

    n = metrics.QUICK_N  # digits of a quick evaluation during training

    def __init__(self, classifier_dir=None, data_dir=None, dataset="mnist"):
        """``classifier_dir``: a folder to train or find the classifier in; None for the one
        shipped with the package."""
        self.data_dir, self.dataset = data_dir, dataset
        self.classifier = classifier_lib.load(classifier_dir, data_dir, dataset)
        self.test_images, self.test_labels = data.load_split(data_dir, "test", dataset=dataset)
        self.test_probs, self.test_features = self._test_predictions()
        self.test_stats = metrics.gaussian_stats(self.test_features)
        self._train_images = None
        self._test_radii = None

    def _test_predictions(self):
        """The classifier's (probabilities, features) of the test digits, from the cache after
        the first evaluation on this machine: they depend only on the classifier's weights and the
        digits, and every quick evaluation during training, sweep rung and evaluate.py would
        otherwise spend a second of a CPU on them again."""
        images = np.ascontiguousarray(self.test_images)
        key = hashlib.sha256(b"test predictions shape=%s|" % str(images.shape).encode())
        for name, value in sorted(self.classifier.weights().items()):
            key.update(name.encode() + b"|" + np.ascontiguousarray(value).tobytes())
        key.update(images.tobytes())
        both = cached_array(
            "test_predictions", key,
            lambda: np.concatenate(self.classifier.predict(images), axis=1),
            lambda array: array.ndim == 2 and array.shape[0] == len(images)
            and array.shape[1] > 10)
        return both[:, :10], both[:, 10:]

    @property
    def test_radii(self):
        """The test digits' k-th neighbour radii for precision, from the cache after the first
        evaluation on this machine (they depend only on the classifier's test features)."""
        if self._test_radii is None:
            features = np.ascontiguousarray(self.test_features, np.float32)
            key = hashlib.sha256(b"radii k=%d shape=%s|" % (PR_K, str(features.shape).encode()))
            key.update(features.tobytes())
            self._test_radii = cached_array(
                "radii", key, lambda: metrics.kth_neighbour_radii(features, PR_K),
                lambda radii: radii.shape == (len(features),))
        return self._test_radii

    @property
    def train_images(self):
        if self._train_images is None:
            self._train_images, self._train_labels = data.load_split(
                self.data_dir, "train", dataset=self.dataset)
        return self._train_images

    @property
    def train_labels(self):
        self.train_images  # loaded together
        return self._train_labels

    def quick(self, digits, labels=None):
        """FID and Inception Score (and, given the asked-for labels, label accuracy): cheap
        enough to run during training."""
        probs, features = self.classifier.predict(digits)
        score, _ = metrics.inception_score(probs)
        fid = metrics.frechet_distance(metrics.gaussian_stats(features), self.test_stats)
        scores = {"fid": fid, "inception_score": score}
        if labels is not None:
            scores["label_accuracy"] = metrics.label_accuracy(probs, labels)
        return scores

    def full(self, digits, seed=0, labels=None):
        """Every metric for ``digits`` (uint8) and for as many real held-out digits. With
        ``labels`` (the classes a conditional model was asked for) also the label accuracy and
        the FID within each class (intra-FID), the real digits then drawn with the same classes.

        Returns the report and, for the generated and the real digits, (distance, index) of each
        one's nearest training image.
        """
        rng = np.random.RandomState(seed)
        if labels is None:
            real_index = rng.choice(len(self.train_images), len(digits), replace=False)
        else:
            real_index = self._same_classes(labels, rng)
        report = {"classifier_test_accuracy": self.classifier.test_accuracy,
                  "n": int(len(digits))}
        report["generated"], fake_nn = self._metrics(digits, None, labels)
        report["real"], real_nn = self._metrics(self.train_images[real_index], real_index,
                                                None if labels is None else
                                                self.train_labels[real_index])
        return report, fake_nn, real_nn

    def _same_classes(self, labels, rng):
        """Training digits with exactly the class counts of ``labels``."""
        index = []
        for c in np.unique(labels):
            pool, count = np.flatnonzero(self.train_labels == c), int(np.sum(labels == c))
            index.append(rng.choice(pool, count, replace=count > len(pool)))
        return rng.permutation(np.concatenate(index))  # mixed, as the splits of IS need

    def _class_scores(self, probs, features, labels):
        """Label accuracy and the FID of each class's digits against the test digits of that
        class (intra-FID; a class with fewer than 2 digits has none)."""
        intra = {}
        for c in np.unique(labels):
            mine = features[labels == c]
            if len(mine) > 1:
                intra[str(int(c))] = metrics.fid(mine, self.test_features[self.test_labels == c])
        return {"label_accuracy": metrics.label_accuracy(probs, labels), "intra_fid": intra,
                "mean_intra_fid": float(np.mean(list(intra.values()))) if intra else None}

    def _metrics(self, digits, train_index, labels=None):
        probs, features = self.classifier.predict(digits)
        score, score_std = metrics.inception_score(probs)
        precision, recall = metrics.precision_recall(self.test_features, features, PR_K,
                                                     self.test_radii)
        distance, nearest = self._nearest_training(digits, train_index)
        result = {"inception_score": score, "inception_score_std": score_std,
                  "fid": metrics.fid(features, self.test_features),
                  "precision": precision, "recall": recall,
                  "nearest_train_l2": metrics.distance_summary(distance)}
        result.update(metrics.mode_coverage(probs))
        if labels is not None:
            result.update(self._class_scores(probs, features, labels))
        return result, (distance, nearest)

    def _nearest_training(self, digits, train_index=None):
        """L2 distances (pixels in [0, 1]) to the nearest training image; real digits drawn from
        the training set are compared with the training images not drawn."""
        skip = () if train_index is None else train_index
        return metrics.nearest_neighbours(digits, self.train_images, skip=skip)


def write_report(report, output_dir):
    path = os.path.join(output_dir, REPORT_FILE)
    with atomic_write(path) as f:
        json.dump(report, f, indent=2)
    return path


def format_table(report):
    """A short plain-text table: generated vs real for each headline number."""
    rows = [("Inception Score (10 splits)", "inception_score", "%.2f"),
            ("FID vs test set", "fid", "%.2f"),
            ("digits with >= 5% share", "modes_covered", "%d / 10"),
            ("TV distance from uniform", "tv_from_uniform", "%.3f"),
            ("precision (k=3)", "precision", "%.3f"),
            ("recall (k=3)", "recall", "%.3f")]
    gen, real = report["generated"], report["real"]
    lines = ["%-30s %12s %12s" % ("metric", "generated", "real")]
    for title, key, fmt in rows:
        g, r = fmt % gen[key], fmt % real[key]
        if key == "inception_score":
            g += " ±%.2f" % gen["inception_score_std"]
            r += " ±%.2f" % real["inception_score_std"]
        lines.append("%-30s %12s %12s" % (title, g, r))
    lines.append("%-30s %12.2f %12.2f" % ("nearest training L2 (median)",
                                           gen["nearest_train_l2"]["median"],
                                           real["nearest_train_l2"]["median"]))
    lines.append("%-30s %12.2f %12.2f" % ("nearest training L2 (min)",
                                           gen["nearest_train_l2"]["min"],
                                           real["nearest_train_l2"]["min"]))
    if "label_accuracy" in gen:
        lines.append("%-30s %12.3f %12.3f" % ("label accuracy (asked class)",
                                               gen["label_accuracy"], real["label_accuracy"]))
        lines.append("%-30s %12.2f %12.2f" % ("intra-FID, mean of classes",
                                               gen["mean_intra_fid"], real["mean_intra_fid"]))
        lines.append("intra-FID per class (generated): " + "  ".join(
            "%s: %.1f" % kv for kv in gen["intra_fid"].items()))
    header = "%s, step %s, %d samples; classifier test accuracy %.2f%%" % (
        report.get("dataset", "mnist"), report.get("step", "?"), report["n"],
        100 * report["classifier_test_accuracy"])
    return "\n".join([header] + lines)


def quick_evaluator(config):
    """The Evaluator a training run with --eval-every uses (the trainer asks for it only when the
    run reaches an evaluation step)."""
    return Evaluator(config.classifier_dir, config.data_dir, config.dataset)
