"""Sample-quality metrics as plain NumPy/SciPy functions of classifier outputs and pixels.

Each takes arrays and returns numbers, so each can be checked by hand on small cases.
"""
import warnings

import numpy as np
from scipy import linalg

MODE_SHARE = 0.05  # a digit class "appears" when at least 5% of the samples fall in it
EVAL_N = 10000  # digits a full evaluation (evaluate.py, sweeps) draws
QUICK_N = 2000  # digits the quick evaluation during training draws


def inception_score(probs, splits=10):
    """exp E_x[KL(p(y|x) || p(y))] per split; returns (mean, std) over the splits.

    High when each sample is confidently one class (sharp p(y|x)) and the classes are varied
    (flat p(y)); at most the number of classes.
    """
    probs = np.asarray(probs, np.float64)
    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def gaussian_stats(features):
    """Mean and covariance of a set of feature vectors (rows)."""
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(stats_a, stats_b):
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between two Gaussians (FID)."""
    (mu_a, cov_a), (mu_b, cov_b) = stats_a, stats_b
    # Dead ReLU features make a covariance singular; a tiny ridge keeps the square root stable
    # and moves the distance by far less than its sampling noise.
    ridge = np.eye(len(cov_a)) * 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm((cov_a + ridge).dot(cov_b + ridge))
    root = np.real(root)
    diff = mu_a - mu_b
    return float(max(diff.dot(diff) + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root), 0))


def fid(features_a, features_b):
    return frechet_distance(gaussian_stats(features_a), gaussian_stats(features_b))


def mode_coverage(probs, num_classes=10):
    """Share of samples per predicted class, how many classes reach MODE_SHARE, and the
    total-variation distance of the shares from uniform (0 = perfectly balanced, 0.9 = one class)."""
    predicted = np.argmax(probs, axis=1)
    share = np.bincount(predicted, minlength=num_classes) / float(len(predicted))
    return {"class_share": [round(float(s), 4) for s in share],
            "modes_covered": int(np.sum(share >= MODE_SHARE)),
            "tv_from_uniform": float(0.5 * np.abs(share - 1.0 / num_classes).sum())}


def label_accuracy(probs, labels):
    """The share of digits the classifier reads as the class they were asked to be."""
    return float(np.mean(np.argmax(probs, axis=1) == np.asarray(labels)))


def _squared_distances(a, b):
    """Pairwise squared Euclidean distances (len(a), len(b)) in float64-safe form."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a.dot(b.T)
    return np.maximum(d, 0)


def kth_neighbour_radii(features, k=3):
    """Squared distance of each row to its k-th nearest *other* row."""
    radii = np.empty(len(features))
    chunk = _rows_per_chunk(len(features))
    for i in range(0, len(features), chunk):
        d = _squared_distances(features[i:i + chunk], features)
        radii[i:i + chunk] = np.partition(d, k, axis=1)[:, k]  # index 0 is the row itself
    return radii


def _inside_manifold(points, support, radii):
    """For each point: is it within the k-NN ball of any support point?"""
    inside = np.empty(len(points), bool)
    chunk = _rows_per_chunk(len(support))
    for i in range(0, len(points), chunk):
        d = _squared_distances(points[i:i + chunk], support)
        inside[i:i + chunk] = (d <= radii[None, :]).any(axis=1)
    return inside


def precision_recall(real_features, fake_features, k=3, real_radii=None):
    """Improved precision and recall (Kynkaanniemi et al. 2019).

    Precision: the share of generated samples inside the real manifold (the union of balls
    around each real sample reaching its k-th nearest real neighbour) - are the fakes realistic?
    Recall: the share of real samples inside the generated manifold - is all of the data covered?
    ``real_radii``: kth_neighbour_radii(real_features, k), where the caller keeps them (the real
    side is the same for every evaluation, and its 10,000 x 10,000 distances the costliest part).
    """
    real = np.asarray(real_features, np.float32)
    fake = np.asarray(fake_features, np.float32)
    if real_radii is None:
        real_radii = kth_neighbour_radii(real, k)
    precision = _inside_manifold(fake, real, real_radii).mean()
    recall = _inside_manifold(real, fake, kth_neighbour_radii(fake, k)).mean()
    return float(precision), float(recall)


def nearest_neighbours(samples, references, skip=(), block=4096):
    """For each sample, the L2 distance (pixels in [0, 1]) to its nearest reference row and that
    row's index. Rows are images of uint8 pixels (0-255) or of floats in [0, 1]. ``skip``: the
    indices of references no sample may match (the samples themselves, when they were drawn
    from the references).

    The references are scaled a block of rows at a time, so that 60,000 training digits never
    exist as floats all at once (188 MB); |s - r|^2 = |s|^2 + |r|^2 - 2 s.r, and |s|^2 is the same
    along a row, so the nearest r has the least |r|^2 / 2 - s.r."""
    samples = _unit_rows(samples)
    best = np.full(len(samples), np.inf, np.float32)
    index = np.zeros(len(samples), np.int64)
    skip = np.asarray(skip, np.int64)
    chunk = _rows_per_chunk(block)
    for start in range(0, len(references), block):
        refs = _unit_rows(references[start:start + block])
        half_norms = (refs * refs).sum(1) / 2
        half_norms[skip[(skip >= start) & (skip < start + len(refs))] - start] = np.inf
        for i in range(0, len(samples), chunk):
            part = slice(i, i + chunk)
            d = samples[part].dot(refs.T)
            np.subtract(half_norms, d, out=d)
            nearest = d.argmin(1)
            value = d[np.arange(len(d)), nearest]
            better = value < best[part]  # ties keep the earlier block's, as one argmin would
            best[part][better] = value[better]
            index[part][better] = nearest[better] + start
    # The expansion above loses precision near zero; measure the chosen pairs directly, so an
    # exact copy reads 0.
    distance = np.sqrt(((samples - _unit_rows(references[index])) ** 2).sum(1))
    return distance, index


def _unit_rows(images):
    """Images as float32 rows of pixels in [0, 1] (uint8 ones divided by 255)."""
    images = np.asarray(images)
    rows = images.reshape(len(images), -1)
    if images.dtype == np.uint8:
        return rows / np.float32(255)
    return rows.astype(np.float32, copy=False)


def _rows_per_chunk(columns, elements=1 << 22):
    """Rows of a (rows, columns) distance matrix that keep it near 16 MB of float32: small enough
    for the allocator to reuse the memory from one chunk to the next, where a fresh allocation of
    hundreds of MB costs a page fault for every 4 KB of it."""
    return max(1, elements // max(1, columns))


def distance_summary(distances):
    """The numbers of a nearest-neighbour distance distribution worth printing."""
    q = np.percentile(distances, [1, 5, 50])
    return {"min": float(np.min(distances)), "p01": float(q[0]), "p05": float(q[1]),
            "median": float(q[2]), "mean": float(np.mean(distances))}
