"""The figures of a run, each written to the output folder as a file a person can open.

curves.png, progress.gif, interpolation.png, real_vs_fake.png, nearest_neighbours.png (all made
by ``make_all``, i.e. scripts/plot.py) and, from a full evaluation, closest_pairs.png and
memorisation.png.
"""
import csv
import glob
import os

import numpy as np
from PIL import Image

from gan_mnist.errors import GanError, reason
from gan_mnist.core import data
from gan_mnist.training import images
from gan_mnist.evaluation import metrics
from gan_mnist.training.logs import CSV_NAME

PAIRS_PER_ROW = 8


def curves(output_dir):
    path = os.path.join(output_dir, CSV_NAME)
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    out = os.path.join(output_dir, "curves.png")
    images.plot_curves(rows, out)
    return out


def training_minutes(rows):
    """Minutes of training behind each log.csv row, from its wall time. The pause between a stop
    and a resume (a gap far longer than the usual gap between two rows) is not counted, and the
    time before the first row is estimated from the usual time per step."""
    times = [float(r["wall_time"]) for r in rows]
    steps = [int(r["step"]) for r in rows]
    gaps = [b - a for a, b in zip(times, times[1:])]
    usual = float(np.median([g for g in gaps if g > 0])) if any(g > 0 for g in gaps) else 0.0
    per_step = usual / max(float(np.median(np.diff(steps))) if len(steps) > 1 else 1.0, 1.0)
    minutes, total = [], steps[0] * per_step if steps else 0.0
    for i, row_time in enumerate(times):
        if i:
            gap = row_time - times[i - 1]
            total += gap if gap <= max(20 * usual, 60.0) else (steps[i] - steps[i - 1]) * per_step
        minutes.append(total / 60.0)
    return minutes


def fid_against_minutes(runs, path):
    """One line per run: its quick FID (the --eval-every scores in log.csv) against minutes of
    training, the curve that says which recipe to pick for a given time. ``runs``: (label,
    output folder) pairs. Returns the path, or raises GanError when a run has no quick FID."""
    curves = []
    for label, folder in runs:
        rows = _log_rows(folder)
        rows = [r for r in rows if r.get("wall_time")]
        minutes = training_minutes(rows)
        points = [(m, float(r["fid"])) for m, r in zip(minutes, rows) if r.get("fid")]
        if not points:
            raise GanError("%s has no quick FID in %s: train with --eval-every N to log it"
                           % (label, os.path.join(folder, CSV_NAME)))
        curves.append((label, points))
    images.plot_fid_against_minutes(curves, path)
    return path


def _log_rows(folder):
    path = os.path.join(folder, CSV_NAME)
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except OSError as e:
        raise GanError("cannot read %s: %s" % (path, reason(e)))


def progress_gif(output_dir, max_frames=50):
    """The fixed-noise grids of the run, in step order, as one animation of at most
    ``max_frames`` evenly spaced grids (always the first and the last)."""
    frames = sorted(glob.glob(os.path.join(output_dir, "samples_step_*.png")))
    if not frames:
        return None
    if len(frames) > max_frames:
        keep = np.unique(np.linspace(0, len(frames) - 1, max_frames).round().astype(int))
        frames = [frames[i] for i in keep]
    out = os.path.join(output_dir, "progress.gif")
    images.save_gif(out, [np.array(Image.open(f)) for f in frames])
    return out


def interpolation(output_dir, generator, rows=8, columns=10, seed=0):
    """Each row walks a straight line between two random noise vectors; for a conditional model
    row r keeps the class r fixed (rows 0-9)."""
    from gan_mnist.evaluation.sampling import interpolation_noise

    labels = None
    if generator.conditioning.classes:
        rows = generator.conditioning.classes
        labels = np.repeat(np.arange(rows), columns)
    digits = generator(interpolation_noise(generator.config.z_dim, rows, columns, seed), labels)
    out = os.path.join(output_dir, "interpolation.png")
    images.save_png(out, images.grid(digits, columns))
    return out


def label_interpolation(output_dir, generator, columns=10, seed=0):
    """Conditional models: each row keeps one noise vector and blends the class asked for from
    r to r + 1 (a soft label between the two one-hot rows): how G moves between digits."""
    from gan_mnist.techniques.conditioning import one_hot

    rows = generator.conditioning.classes
    noise = np.repeat(generator.noise(rows, seed), columns, axis=0)
    t = np.tile(np.linspace(0, 1, columns), rows)[:, None]
    start = one_hot(np.repeat(np.arange(rows), columns))
    end = one_hot(np.repeat((np.arange(rows) + 1) % rows, columns))
    digits = generator(noise, (1 - t) * start + t * end)
    out = os.path.join(output_dir, "label_interpolation.png")
    images.save_png(out, images.grid(digits, columns))
    return out


def real_vs_fake(output_dir, generator, untrained, real_digits, n=10, seed=0,
                 real_labels=None):
    """Row 1: real digits; row 2: the untrained generator; row 3: the trained one (same noise).
    For a conditional model the columns are the classes 0-9, real digits of those classes too."""
    noise = generator.noise(n, seed)
    labels = None
    if generator.conditioning.classes and real_labels is not None:
        labels = np.arange(n) % generator.conditioning.classes
        real_digits = real_digits[[np.flatnonzero(real_labels == c)[0] for c in labels]]
    rows = [real_digits[:n], untrained(noise, labels), generator(noise, labels)]
    out = os.path.join(output_dir, "real_vs_fake.png")
    images.save_png(out, images.rows_grid(rows))
    return out


def _pairs(digits, neighbours):
    """Alternate rows: PAIRS_PER_ROW digits, then the training image nearest to each."""
    rows = []
    for i in range(0, len(digits), PAIRS_PER_ROW):
        rows += [digits[i:i + PAIRS_PER_ROW], neighbours[i:i + PAIRS_PER_ROW]]
    return images.rows_grid(rows)


def nearest_neighbours(output_dir, digits, train_images, n=16, nearest=None):
    """Generated digits (odd rows) above their nearest training images (even rows)."""
    digits = digits[:n]
    if nearest is None:
        _, nearest = metrics.nearest_neighbours(digits, train_images)
    out = os.path.join(output_dir, "nearest_neighbours.png")
    images.save_png(out, _pairs(digits, train_images[nearest[:n]]))
    return out


def closest_pairs(output_dir, digits, train_images, distance, nearest, n=16):
    """The generated digits closest to any training image, above those images: copies show."""
    order = np.argsort(distance)[:n]
    out = os.path.join(output_dir, "closest_pairs.png")
    images.save_png(out, _pairs(digits[order], train_images[nearest[order]]))
    return out


def memorisation(output_dir, generated_distance, real_distance):
    out = os.path.join(output_dir, "memorisation.png")
    images.plot_distance_histogram(generated_distance, real_distance, out)
    return out


def make_all(output_dir, checkpoint_dir, data_dir=None):
    """Every figure that the logs and the newest checkpoint allow; returns the paths written."""
    from gan_mnist.evaluation.sampling import Generator

    written = [curves(output_dir), progress_gif(output_dir)]
    generator = Generator(checkpoint_dir)
    dataset = generator.config.dataset
    train_images, _ = data.load_split(data_dir, "train", dataset=dataset)
    test_images, test_labels = data.load_split(data_dir, "test", dataset=dataset)
    written.append(interpolation(output_dir, generator))
    if generator.conditioning.classes:
        written.append(label_interpolation(output_dir, generator))
    written.append(real_vs_fake(output_dir, generator, Generator(checkpoint_dir, trained=False),
                                test_images, real_labels=test_labels))
    written.append(nearest_neighbours(output_dir, generator(generator.noise(16)), train_images))
    return [w for w in written if w]
