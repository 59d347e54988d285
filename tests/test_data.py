import gzip
import hashlib
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gan_mnist.errors import GanError
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


LABELS = "t10k-labels-idx1-ubyte"  # the smallest real file: 4,542 bytes gzipped, 10,008 raw


def damaged(raw, gz, damage):
    """The real labels file (``raw`` decompressed, ``gz`` as published) damaged as named: the
    file name to write and its bytes."""
    flip = lambda b: bytes(x ^ 0xFF for x in b)  # noqa: E731
    return {
        "gz cut short": (LABELS + ".gz", gz[:len(gz) // 2]),
        "gz cut inside its header": (LABELS + ".gz", gz[:6]),
        "gz bytes flipped": (LABELS + ".gz", gz[:20] + flip(gz[20:60]) + gz[60:]),
        "gz checksum flipped": (LABELS + ".gz", gz[:-8] + flip(gz[-8:-4]) + gz[-4:]),
        "not gzip at all": (LABELS + ".gz", b"<html>404 Not Found</html>\n"),
        "gz of a text": (LABELS + ".gz", gzip.compress(b"404 Not Found\n")),
        "gz of another IDX file": (LABELS + ".gz", gzip.compress(raw[:8] + raw[8:][::-1])),
        "raw cut short": (LABELS, raw[:-100]),
        "raw cut inside its header": (LABELS, raw[:6]),
        "raw empty": (LABELS, b""),
    }[damage]


@pytest.mark.parametrize("damage, problem", [
    ("gz cut short", "is truncated (its compressed data ends early)"),
    ("gz cut inside its header", "is truncated (its compressed data ends early)"),
    ("gz bytes flipped", "is damaged (Error -3 while decompressing data"),
    ("gz checksum flipped", "is damaged (CRC check failed"),
    ("not gzip at all", "is damaged (Not a gzipped file (b'<h'))"),
    ("gz of a text", "is not an IDX file (bad magic number 0x34303420)"),
    ("gz of another IDX file", "has the wrong content (SHA-256 mismatch)"),
    ("raw cut short", "is truncated (its header promises 10000 values of shape (10000,), it "
                      "holds 9900)"),
    ("raw cut inside its header", "is truncated inside its header"),
    ("raw empty", "is too short to be an IDX file (0 bytes)"),
])
def test_a_damaged_file_is_one_line_naming_it_and_the_fix(tmp_path, mnist_dir, damage, problem):
    """A real file damaged on disk, compressed or not: one sentence that names the file, what is
    wrong and what to do; the file stays as it was and nothing is added beside it."""
    raw = real_file(mnist_dir, LABELS)
    name, content = damaged(raw, (Path(mnist_dir) / (LABELS + ".gz")).read_bytes(), damage)
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(GanError) as error:
        data.load_file(str(tmp_path), LABELS)
    message = str(error.value)
    assert message.startswith("%s %s" % (path, problem)), message
    assert message.endswith(": delete it and run again to download it, or copy an intact %s "
                            "into %s" % (name, tmp_path)), message
    assert "\n" not in message
    assert os.listdir(tmp_path) == [name] and path.read_bytes() == content
    with pytest.raises(GanError) as error:  # where nothing is downloaded, only the copy is said
        data.load_file(str(tmp_path), LABELS, download_missing=False)
    assert str(error.value).endswith(": replace it: copy an intact %s into %s" % (name, tmp_path))


def test_no_files_and_no_mirror_that_answers_is_one_line_and_leaves_nothing(tmp_path, capsys,
                                                                              monkeypatch):
    """An empty data folder, offline: the mirrors are a file:// folder that does not exist and a
    port nobody listens on. No `downloading` line (no mirror answered): the error alone, naming
    the file, each mirror with its reason and what to do; the folder it made is removed again."""
    nowhere = "file://%s/" % (tmp_path / "no-such-mirror")
    monkeypatch.setenv("MNIST_MIRRORS", nowhere + " http://127.0.0.1:1/mnist/")
    target = tmp_path / "new" / "data"
    with pytest.raises(GanError) as error:
        data.load_split(str(target), "train")
    message = str(error.value)
    assert message.startswith("could not download train-images-idx3-ubyte.gz: tried %s"
                              "train-images-idx3-ubyte.gz (" % nowhere), message
    assert "http://127.0.0.1:1/mnist/train-images-idx3-ubyte.gz (" in message
    assert message.endswith("; copy the four files (train-images-idx3-ubyte.gz, "
                            "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                            "t10k-labels-idx1-ubyte.gz; .gz or uncompressed) into %s by hand, or "
                            "set MNIST_MIRRORS to base URLs that serve them" % target), message
    assert "\n" not in message and capsys.readouterr().err == ""
    assert os.listdir(tmp_path) == []  # neither new/ nor new/data/ stays
    target.mkdir(parents=True)  # a folder the user made stays, empty
    with pytest.raises(GanError, match="could not download"):
        data.load_split(str(target), "test")
    assert os.listdir(target) == [] and capsys.readouterr().err == ""


def test_the_docs_say_what_the_data_errors_say(tmp_path, monkeypatch):
    """The README's Install names the four files an offline user copies; robustness.md quotes
    the data errors as they are printed (DIR for the folder) and names no path that only CI's
    machines have."""
    from tests.conftest import REPO

    with open(os.path.join(REPO, "README.md")) as f:
        install = f.read().split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
    for stem in data.MNIST_FILES:
        assert "`%s.gz`" % stem in install, install
    with open(os.path.join(REPO, "docs", "robustness.md")) as f:
        doc = f.read()
    assert "shared/MNIST_data" not in doc  # beside CI's checkout only
    folder = tmp_path / "DIR"
    folder.mkdir()
    noise = np.random.RandomState(0).bytes(1000)  # incompressible: cut at 100, well short
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(noise)[:100])
    with pytest.raises(GanError) as error:
        data.load_split(str(folder))
    assert "`error: %s`" % str(error.value).replace(str(folder), "DIR") in doc
    os.remove(folder / "train-images-idx3-ubyte.gz")
    monkeypatch.setenv("MNIST_MIRRORS", "file://%s/" % (tmp_path / "nowhere"))
    with pytest.raises(GanError) as error:
        data.load_split(str(folder))
    message = str(error.value).replace(str(folder), "DIR")
    head, tail = message.split(": tried ", 1)
    assert "`error: %s: tried URL (reason); …; %s`" % (head, tail.split("; ", 1)[1]) in doc


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
    scaled = data.from_uint8(train_x[:100])
    assert scaled.dtype == np.float32 and scaled.min() == -1.0 and scaled.max() == 1.0
    np.testing.assert_array_equal(data.to_uint8(scaled), train_x[:100])


# ---------------------------------------------------------------- tests find MNIST as the package

TINY_TEST = """import os


def test_where(mnist_dir):
    print("mnist_dir=%s MNIST_DATA_DIR=%s" % (mnist_dir, os.environ["MNIST_DATA_DIR"]))
"""


def tiny_pytest(root, **env):
    """pytest, in a process of its own started in ``root``, on a one-test file using the
    mnist_dir fixture of a copy of tests/conftest.py: MNIST_DATA_DIR and CI unset unless given.
    Returns (exit status, output)."""
    from tests.conftest import REPO

    clean = {k: v for k, v in os.environ.items()
             if k not in ("MNIST_DATA_DIR", "CI") and not k.startswith("PYTEST_")}
    clean.update(env, PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-rs", "-p",
                             "no:cacheprovider", "tests/test_tiny.py"], cwd=root, env=clean,
                            capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr


def test_tests_find_mnist_as_the_package_does(tmp_path, mnist_dir):
    """A checkout with MNIST_data/ filled as the README says runs the tests that need the digits
    without MNIST_DATA_DIR, and hands its absolute path to the commands they start; without the
    four files they are skipped, saying why, and under CI they fail."""
    from tests.conftest import REPO

    root = tmp_path / "checkout"
    (root / "tests").mkdir(parents=True)
    shutil.copy(os.path.join(REPO, "tests", "conftest.py"), root / "tests")
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "test_tiny.py").write_text(TINY_TEST)
    (root / "MNIST_data").mkdir()
    for stem in data.MNIST_FILES:
        os.symlink(os.path.join(os.path.abspath(mnist_dir), stem + ".gz"),
                   root / "MNIST_data" / (stem + ".gz"))
    found = "mnist_dir={0} MNIST_DATA_DIR={0}".format(root / "MNIST_data")
    code, out = tiny_pytest(root)
    assert code == 0 and found in out and "1 passed" in out, out
    code, out = tiny_pytest(root, MNIST_DATA_DIR="MNIST_data")  # relative: made absolute
    assert code == 0 and found in out, out
    os.remove(root / "MNIST_data" / "t10k-labels-idx1-ubyte.gz")  # three of the four files
    why = ("no MNIST files: set MNIST_DATA_DIR or copy the four files into %s (see README)"
           % (root / "MNIST_data"))
    code, out = tiny_pytest(root)
    assert code == 0 and "1 skipped" in out, out
    assert "SKIPPED [1] tests/test_tiny.py:4: " + why in out, out
    code, out = tiny_pytest(root, CI="true")
    assert code == 1 and "1 error" in out and why in out, out


def test_class_numbers_from_numbers_digit_strings_names_and_comma_lists():
    assert data.class_numbers(7) == [7] and data.class_numbers(np.int64(3)) == [3]
    assert data.class_numbers("0,3,7") == [0, 3, 7] and data.class_numbers(" 1 , 2 ") == [1, 2]
    assert data.class_numbers("3,,4") == [3, 4]
    assert data.class_numbers(["4", 5, "6,8"]) == [4, 5, 6, 8]
    assert data.class_numbers("sneaker", "fashion-mnist") == [7]
    assert data.class_numbers(["Ankle-Boot", "3", 0], "fashion-mnist") == [9, 3, 0]
    for bad, part in (("10", "10"), (10, "10"), (-1, "-1"), ("-1", "-1"), (True, "true"),
                      ("seven", "seven"), ("1,x", "x")):
        with pytest.raises(ValueError) as refused:
            data.class_numbers(bad)
        assert str(refused.value) == "label %s: the model knows the classes 0-9" % part
    with pytest.raises(ValueError) as refused:
        data.class_numbers("cat", "fashion-mnist")
    assert str(refused.value) == (
        "label cat: the model knows the classes 0-9 (t-shirt, trouser, pullover, dress, coat, "
        "sandal, shirt, sneaker, bag, ankle-boot)")


def test_fashion_mnist_files_are_found_in_debians_folder_or_under_mnist_data(monkeypatch,
                                                                              tmp_path):
    monkeypatch.delenv("FASHION_MNIST_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "FASHION_SYSTEM_DIR", str(tmp_path / "not-installed"))
    assert data.default_data_dir("fashion-mnist") == "MNIST_data/fashion"
    monkeypatch.setattr(data, "FASHION_SYSTEM_DIR", str(tmp_path))  # the Debian package's folder
    assert data.default_data_dir("fashion-mnist") == str(tmp_path)
    monkeypatch.setenv("FASHION_MNIST_DATA_DIR", "/some/where")
    assert data.default_data_dir("fashion-mnist") == "/some/where"
