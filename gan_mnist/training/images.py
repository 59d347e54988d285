"""Digit grids and PNG writing (Pillow; no TensorFlow)."""
import io
import math

import numpy as np
from PIL import Image

from gan_mnist.files import atomic_write
from gan_mnist.core.data import to_uint8


def grid(images, columns=None, padding=2):
    """Tile digits into one grey image: uint8 (rows*(28+pad)+pad, cols*(28+pad)+pad).

    ``images`` is (N, 28, 28) or (N, 784), either uint8 or floats in [-1, 1]. The gaps are black,
    like the digits' background; ``columns`` defaults to a square-ish layout.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = to_uint8(images)
    images = images.reshape(len(images), 28, 28)
    n = len(images)
    columns = columns or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / columns))
    cell = 28 + padding
    out = np.zeros((rows * cell + padding, columns * cell + padding), np.uint8)
    for i, digit in enumerate(images):
        top, left = padding + (i // columns) * cell, padding + (i % columns) * cell
        out[top:top + 28, left:left + 28] = digit
    return out


def png_bytes(array):
    """A 2-D uint8 array encoded as a greyscale PNG."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(path, array):
    """Write a 2-D uint8 array as a PNG via a temporary file, so a reader never sees half a file."""
    with atomic_write(path, "wb") as f:
        f.write(png_bytes(array))


def save_gif(path, frames, frame_ms=120, last_frame_ms=1500):
    """An animation of 2-D uint8 frames that loops, lingering on the last one."""
    pictures = [Image.fromarray(f) for f in frames]
    durations = [frame_ms] * (len(pictures) - 1) + [last_frame_ms]
    with atomic_write(path, "wb") as f:
        pictures[0].save(f, format="GIF", save_all=True, append_images=pictures[1:],
                         duration=durations, loop=0)


def rows_grid(rows, padding=2):
    """Stack equally long rows of digits into one grid, row by row."""
    columns = len(rows[0])
    return grid(np.concatenate([np.asarray(r).reshape(-1, 28, 28) for r in rows]), columns,
                padding)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no screen needed
    import matplotlib.pyplot as plt

    return plt


def plot_curves(rows, path):
    """Losses, D's mean outputs and (when logged) FID and IS against steps, from log.csv rows."""
    plt = pyplot()

    def series(key):
        points = [(int(r["step"]), float(r[key])) for r in rows if r.get(key) not in (None, "")]
        return zip(*points) if points else ((), ())

    panels = [("losses", [("d_loss", "D loss"), ("g_loss", "G loss")]),
              ("discriminator outputs", [("d_real", "mean D(x)"), ("d_fake", "mean D(G(z))")])]
    if any(r.get("fid") for r in rows):
        panels += [("quick FID (2,000 samples; lower is better)", [("fid", "FID")]),
                   ("quick Inception Score (2,000 samples; at most 10)",
                    [("inception_score", "Inception Score")])]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.6 * len(panels)), sharex=True)
    for ax, (title, keys) in zip(axes, panels):
        for key, label in keys:
            steps, values = series(key)
            quick = key in ("fid", "inception_score")
            ax.plot(steps, values, label=label, marker="o" if quick else None, markersize=3)
        ax.set_title(title)
        ax.legend()
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_fid_against_minutes(curves, path):
    """Quick FID (log scale) against minutes of training, one line per (label, points) curve."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, points in curves:
        minutes, fids = zip(*points)
        ax.plot(minutes, fids, marker="o", markersize=3, label=label)
    ax.set_yscale("log")
    from matplotlib.ticker import ScalarFormatter

    for axis in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
        axis(ScalarFormatter())
    ax.set_xlabel("minutes of training")
    ax.set_ylabel("quick FID (2,000 samples; lower is better)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_distance_histogram(generated, real, path):
    """Distances to the nearest training image: generated digits vs real held-out digits."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    bins = np.linspace(0, max(np.max(generated), np.max(real)), 60)
    ax.hist(real, bins, alpha=0.6, label="real digits (vs the other training images)")
    ax.hist(generated, bins, alpha=0.6, label="generated digits")
    ax.set_xlabel("L2 distance to the nearest training image (pixels in [0, 1])")
    ax.set_ylabel("digits")
    ax.set_title("memorisation check: a copied digit would sit near 0")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
