import gzip
import hashlib
import os
import struct

import numpy as np
import pytest

from gan_mnist import GanError
from gan_mnist.core import data


def idx_bytes(array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">%dI" % array.ndim,
                                                                    *array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_parse_idx_round_trips_images_and_labels():
    images = np.random.RandomState(0).randint(0, 256, (5, 28, 28)).astype(np.uint8)
    labels = np.arange(5, dtype=np.uint8)
    np.testing.assert_array_equal(data.parse_idx(idx_bytes(images)), images)
    np.testing.assert_array_equal(data.parse_idx(idx_bytes(labels)), labels)


@pytest.mark.parametrize("mangle, message", [
    (lambda raw: raw[:-10], "truncated"),
    (lambda raw: raw[:10], "truncated inside its header"),
    (lambda raw: raw + b"\x00\x00", "2 bytes more"),
    (lambda raw: b"\x01\x02" + raw[2:], "bad magic number"),
    (lambda raw: raw[:2] + b"\x0d" + raw[3:], "only unsigned bytes"),
    (lambda raw: raw[:3], "too short"),
])
def test_parse_idx_rejects_damaged_files(mangle, message):
    raw = idx_bytes(np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(GanError, match=message):
        data.parse_idx(mangle(raw), "x.idx")


def write_fake_mnist(folder, n=4, gz=True, corrupt=None):
    """Synthetic MNIST-shaped files and a checksum table that matches them."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.RandomState(1)
    contents = {
        "train-images-idx3-ubyte": idx_bytes(rng.randint(0, 256, (n, 28, 28))),
        "train-labels-idx1-ubyte": idx_bytes(rng.randint(0, 10, (n,))),
    }
    sums = {stem: hashlib.sha256(raw).hexdigest() for stem, raw in contents.items()}
    for stem, raw in contents.items():
        if corrupt == stem:
            raw = raw[:-1] + bytes([raw[-1] ^ 0xFF])
        if gz:
            with gzip.open(os.path.join(folder, stem + ".gz"), "wb") as f:
                f.write(raw)
        else:
            with open(os.path.join(folder, stem), "wb") as f:
                f.write(raw)
    return sums


@pytest.mark.parametrize("gz", [True, False])
def test_load_file_reads_gz_and_raw(tmp_path, gz):
    sums = write_fake_mnist(str(tmp_path), gz=gz)
    images = data.load_file(str(tmp_path), "train-images-idx3-ubyte", checksums=sums)
    assert images.shape == (4, 28, 28) and images.dtype == np.uint8


def real_file(mnist_dir, stem):
    """The decompressed bytes of a real MNIST file."""
    with gzip.open(os.path.join(mnist_dir, stem + ".gz"), "rb") as f:
        return f.read()


@pytest.mark.parametrize("stem", ["t10k-labels-idx1-ubyte", "t10k-images-idx3-ubyte"])
@pytest.mark.parametrize("gz", [True, False])
def test_a_real_file_with_one_byte_flipped_fails_the_sha256_table(tmp_path, mnist_dir, stem, gz):
    """The real file passes data.MNIST_FILES; the same file with one bit of one pixel (or label)
    changed - still a valid IDX file - is refused, gzipped or not."""
    raw = real_file(mnist_dir, stem)
    assert hashlib.sha256(raw).hexdigest() == data.MNIST_FILES[stem]
    middle = len(raw) // 2  # past the header: the file still parses
    flipped = raw[:middle] + bytes([raw[middle] ^ 0x01]) + raw[middle + 1:]
    assert data.parse_idx(flipped).shape == data.parse_idx(raw).shape

    def write(content):
        path = tmp_path / (stem + (".gz" if gz else ""))
        if gz:
            with gzip.open(path, "wb", compresslevel=1) as f:
                f.write(content)
        else:
            path.write_bytes(content)
        return path

    write(raw)
    np.testing.assert_array_equal(data.load_file(str(tmp_path), stem, download_missing=False),
                                  data.parse_idx(raw))
    path = write(flipped)
    with pytest.raises(GanError, match="wrong content \\(SHA-256 mismatch\\)") as error:
        data.load_file(str(tmp_path), stem, download_missing=False)
    assert str(path) in str(error.value)


def test_truncated_gzip_is_a_clear_error(tmp_path):
    sums = write_fake_mnist(str(tmp_path))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(GanError, match="cannot read"):
        data.load_file(str(tmp_path), "train-images-idx3-ubyte", checksums=sums)


def test_missing_file_without_download_says_where(tmp_path):
    with pytest.raises(GanError, match="missing from"):
        data.load_file(str(tmp_path), "train-images-idx3-ubyte", download_missing=False)


def test_data_dir_that_is_a_file(tmp_path):
    path = tmp_path / "not_a_folder"
    path.write_text("x")
    with pytest.raises(GanError, match="is a file, not a folder"):
        data.load_split(str(path))


def test_default_data_dir_follows_environment(monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", "/some/where")
    assert data.default_data_dir() == "/some/where"
    monkeypatch.delenv("MNIST_DATA_DIR")
    assert data.default_data_dir() == "MNIST_data"


def test_mirrors_from_environment(monkeypatch):
    monkeypatch.setenv("MNIST_MIRRORS", "file:///a/ http://127.0.0.1:1/b/")
    assert data.mirrors_from_env() == ("file:///a/", "http://127.0.0.1:1/b/")
    monkeypatch.delenv("MNIST_MIRRORS")
    assert data.mirrors_from_env() == data.DEFAULT_MIRRORS


def test_real_mnist_shapes_and_ranges(mnist_dir):
    train_x, train_y = data.load_split(mnist_dir, "train")
    test_x, test_y = data.load_split(mnist_dir, "test")
    assert train_x.shape == (60000, 28, 28) and train_y.shape == (60000,)
    assert test_x.shape == (10000, 28, 28) and test_y.shape == (10000,)
    assert train_x.dtype == np.uint8 and train_x.max() == 255 and train_x.min() == 0
    assert set(np.unique(train_y)) == set(range(10))
    scaled = data.to_unit_range(train_x[:100])
    assert scaled.dtype == np.float32 and scaled.min() == -1.0 and scaled.max() == 1.0
    np.testing.assert_array_equal(data.to_uint8(scaled), train_x[:100])
