"""Digit grids and PNG writing (Pillow; no TensorFlow)."""
import io
import math
import os

import numpy as np
from PIL import Image

from gan_mnist.data import to_uint8


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
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(png_bytes(array))
    os.replace(tmp, path)
