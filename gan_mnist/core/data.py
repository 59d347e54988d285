"""MNIST on disk: IDX parsing, download from mirrors with SHA-256 checks, loading as NumPy arrays.

Pure NumPy and the standard library (no TensorFlow), so data problems are reported quickly and the
functions are reusable by the evaluation tools. The in-graph batches live in ``pipeline.py``.
"""
import gzip
import hashlib
import http.client
import os
import struct
import sys
import tempfile
import urllib.error
import urllib.request
import zlib

import numpy as np

from gan_mnist.errors import GanError, reason

# File stems (without .gz) and the SHA-256 of their *decompressed* bytes: mirrors recompress, so
# only the content is stable. These are the published values of the official files.
MNIST_FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# Fashion-MNIST publishes only MD5s of its .gz files, and Debian's dataset-fashion-mnist
# recompresses them; these are the SHA-256 of the decompressed files of that package (upstream
# git 55506a9), which are the same bytes whatever the compression.
FASHION_FILES = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
DEFAULT_MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
FASHION_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://ossci-datasets.s3.amazonaws.com/fashion-mnist/",
)
FASHION_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist
# Per dataset: checksums, built-in mirrors, and the environment variables that override the
# folder and the mirrors.
DATASETS = {
    "mnist": dict(checksums=MNIST_FILES, mirrors=DEFAULT_MIRRORS, dir_env="MNIST_DATA_DIR",
                  mirrors_env="MNIST_MIRRORS"),
    "fashion-mnist": dict(checksums=FASHION_FILES, mirrors=FASHION_MIRRORS,
                          dir_env="FASHION_MNIST_DATA_DIR", mirrors_env="FASHION_MNIST_MIRRORS"),
}
DOWNLOAD_TIMEOUT_S = 30
IDX_UBYTE = 0x08
IMAGE_SHAPE = (28, 28)


def _dataset(name):
    if name not in DATASETS:
        raise GanError("unknown dataset %r; choose one of: %s" % (name, ", ".join(DATASETS)))
    return DATASETS[name]


def default_data_dir(dataset="mnist"):
    """MNIST: ``$MNIST_DATA_DIR``, else ``MNIST_data``. Fashion-MNIST: ``$FASHION_MNIST_DATA_DIR``,
    else Debian's ``/usr/share/datasets/fashion-mnist`` when installed, else
    ``MNIST_data/fashion``."""
    env = os.environ.get(_dataset(dataset)["dir_env"])
    if env:
        return env
    if dataset == "fashion-mnist":
        return FASHION_SYSTEM_DIR if os.path.isdir(FASHION_SYSTEM_DIR) else "MNIST_data/fashion"
    return "MNIST_data"


def mirrors_from_env(dataset="mnist"):
    """Base URLs to download from: ``$MNIST_MIRRORS`` (``$FASHION_MNIST_MIRRORS``),
    space-separated, or the built-in list."""
    spec = _dataset(dataset)
    env = os.environ.get(spec["mirrors_env"], "").split()
    return tuple(env) if env else spec["mirrors"]


def parse_idx(raw, name="IDX data"):
    """Decode an IDX byte string of unsigned bytes into an array of the shape in its header.

    The format: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions,
    then each dimension as a big-endian uint32, then the values.
    """
    if len(raw) < 4:
        raise GanError("%s is too short to be an IDX file (%d bytes)" % (name, len(raw)))
    zero, type_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or ndim == 0:
        raise GanError("%s is not an IDX file (bad magic number 0x%s)" % (name, raw[:4].hex()))
    if type_code != IDX_UBYTE:
        raise GanError("%s holds IDX type 0x%02x (only unsigned bytes, 0x08, are supported)"
                       % (name, type_code))
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise GanError("%s is truncated inside its header" % name)
    shape = struct.unpack(">%dI" % ndim, raw[4:header])
    expected = int(np.prod(shape, dtype=np.int64))
    found = len(raw) - header
    if found < expected:
        raise GanError("%s is truncated (its header promises %d values of shape %s, it holds %d)"
                       % (name, expected, shape, found))
    if found > expected:
        raise GanError("%s has %d bytes more than its header %s promises" % (name, found - expected,
                                                                            shape))
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


class DamagedFile(GanError):
    """A data file whose gzip stream is cut short or corrupt; ``problem`` says which, without
    the path ("is truncated (its compressed data ends early)")."""

    def __init__(self, path, problem):
        super().__init__("%s %s" % (path, problem))
        self.problem = problem


def read_bytes(path, gzipped=None):
    """The decompressed content of ``path`` (gzip when it ends in .gz, unless told). A cut-short
    or corrupt gzip stream raises DamagedFile; a file that cannot be opened, GanError."""
    if gzipped is None:
        gzipped = path.endswith(".gz")
    try:
        if gzipped:
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except EOFError:
        raise DamagedFile(path, "is truncated (its compressed data ends early)")
    except (gzip.BadGzipFile, zlib.error) as e:
        raise DamagedFile(path, "is damaged (%s)" % reason(e))
    except OSError as e:
        raise GanError("cannot read %s: %s" % (path, reason(e)))


def _fix_damaged(path, download_missing=True):
    """What the user does about a damaged data file: the end of every message about one."""
    copy = "copy an intact %s into %s" % (os.path.basename(path), os.path.dirname(path) or ".")
    if download_missing:
        return "delete it and run again to download it, or " + copy
    return "replace it: " + copy


def sha256(raw):
    return hashlib.sha256(raw).hexdigest()


def find_file(data_dir, stem):
    """The path of ``stem.gz`` or raw ``stem`` in ``data_dir``, or None."""
    for candidate in (stem + ".gz", stem):
        path = os.path.join(data_dir, candidate)
        if os.path.isfile(path):
            return path
    return None


def _check_data_dir(data_dir):
    if os.path.exists(data_dir) and not os.path.isdir(data_dir):
        raise GanError("the data folder %s is a file, not a folder; point --data-dir or "
                       "MNIST_DATA_DIR at the folder that holds the MNIST files" % data_dir)


def download(stem, data_dir, mirrors=None, timeout=DOWNLOAD_TIMEOUT_S, checksums=MNIST_FILES,
             mirrors_env="MNIST_MIRRORS"):
    """Fetch ``stem.gz`` from the first mirror that serves the right content; return its path.

    Each attempt writes to a temporary file in ``data_dir``, checks the SHA-256 of the decompressed
    bytes, and only then renames it into place, so a failed attempt leaves nothing behind; when
    every mirror fails, the folders this call made are removed again. A mirror is named on stderr
    (``downloading URL``) only once it answers, so offline the error is the one line printed.
    """
    mirrors = mirrors or mirrors_from_env()
    _check_data_dir(data_dir)
    made = _make_folder(data_dir)
    final = os.path.join(data_dir, stem + ".gz")
    failures = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + stem + ".gz"
        tmp = None
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                # Only once a mirror answers: when none does, the error is the one line printed.
                print("downloading %s" % url, file=sys.stderr)
                fd, tmp = tempfile.mkstemp(dir=data_dir, prefix="." + stem, suffix=".part")
                with os.fdopen(fd, "wb") as out:
                    _copy_with_progress(resp, out, stem)
            try:
                digest = sha256(read_bytes(tmp, gzipped=True))
            except DamagedFile as e:
                raise ValueError("not a complete gzip file: it %s" % e.problem)
            if digest != checksums[stem]:
                raise ValueError("wrong content (SHA-256 %s..., expected %s...)"
                                 % (digest[:12], checksums[stem][:12]))
            os.replace(tmp, final)
            tmp = None
            return final
        except (OSError, ValueError, EOFError, zlib.error, GanError, http.client.HTTPException,
                urllib.error.URLError) as e:
            failures.append("%s (%s)" % (url, _download_reason(e)))
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.remove(tmp)
    for folder in made:  # the folders this call made, deepest first, if still empty
        try:
            os.rmdir(folder)
        except OSError:
            break
    raise GanError("could not download %s.gz: tried %s; copy the four files (%s; .gz or "
                   "uncompressed) into %s by hand, or set %s to base URLs that serve them"
                   % (stem, "; ".join(failures), ", ".join(name + ".gz" for name in checksums),
                      data_dir, mirrors_env))


def _make_folder(data_dir):
    """Create ``data_dir`` and its missing parents; return the folders made, deepest first."""
    made = []
    folder = os.path.abspath(data_dir)
    while not os.path.exists(folder):
        made.append(folder)
        folder = os.path.dirname(folder)
    try:
        os.makedirs(data_dir, exist_ok=True)
    except OSError as e:
        raise GanError("cannot create the data folder %s: %s" % (data_dir, reason(e)))
    return made


def _download_reason(error):
    """A failed download's reason: HTTP and network errors in their own words, else reason()."""
    if isinstance(error, urllib.error.HTTPError):
        return "HTTP %d" % error.code
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    if isinstance(error, http.client.IncompleteRead):
        return "connection closed after %d bytes" % len(error.partial)
    return reason(error)


def _copy_with_progress(response, out, label):
    from tqdm import tqdm

    total = response.headers.get("Content-Length")
    received = 0
    with tqdm(total=int(total) if total else None, unit="B", unit_scale=True, desc=label,
              disable=None, leave=False) as bar:
        while True:
            chunk = response.read(1 << 16)
            if not chunk:
                break
            out.write(chunk)
            received += len(chunk)
            bar.update(len(chunk))
    if total and received != int(total):
        raise ValueError("connection closed after %d of %s bytes" % (received, total))
    out.flush()
    os.fsync(out.fileno())


def load_file(data_dir, stem, download_missing=True, checksums=MNIST_FILES, dataset="mnist"):
    """Parse one verified IDX file from ``data_dir``, downloading it first if it is missing."""
    _check_data_dir(data_dir)
    path = find_file(data_dir, stem)
    if path is None:
        if not download_missing:
            raise GanError("%s(.gz) is missing from %s" % (stem, data_dir))
        path = download(stem, data_dir, mirrors_from_env(dataset), checksums=checksums,
                        mirrors_env=_dataset(dataset)["mirrors_env"])
    fix = _fix_damaged(path, download_missing)
    try:
        raw = read_bytes(path)  # a file that cannot be opened: GanError as it is
    except DamagedFile as e:
        raise GanError("%s: %s" % (e, fix))
    try:
        array = parse_idx(raw, path)  # before the checksum: it says "truncated" where it can
    except GanError as e:
        raise GanError("%s: %s" % (e, fix))
    if sha256(raw) != checksums[stem]:
        raise GanError("%s has the wrong content (SHA-256 mismatch): %s" % (path, fix))
    return array


# What each label means, per dataset: the names sample.py --label accepts besides the numbers.
CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                      "sneaker", "bag", "ankle-boot"],
}


def class_numbers(values, dataset="mnist"):
    """Classes as numbers, from ints of any kind, digit strings, class names ("sneaker") or comma
    lists ("0,3,7"); an unknown one raises ValueError with the sentence sample.py prints."""
    names = CLASS_NAMES[dataset]
    known = "0-%d%s" % (len(names) - 1, "" if names[0] == "0" else " (" + ", ".join(names) + ")")
    numbers = []
    for value in [values] if isinstance(values, (str, int, np.integer)) else values:
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            parts = [str(int(value))]
        else:
            parts = [v.strip().lower() for v in str(value).split(",") if v.strip()]
        for part in parts:
            if part.isdigit() and int(part) < len(names):
                numbers.append(int(part))
            elif part in names:
                numbers.append(names.index(part))
            else:
                raise ValueError("label %s: the model knows the classes %s" % (part, known))
    return numbers


def load_split(data_dir=None, split="train", download_missing=True, dataset="mnist"):
    """Images (N, 28, 28) uint8 and labels (N,) uint8 of ``split`` ("train" or "test") of
    ``dataset`` ("mnist" or "fashion-mnist"); ``data_dir`` defaults to the dataset's folder."""
    if split not in SPLITS:
        raise ValueError("split must be one of %s" % sorted(SPLITS))
    data_dir = data_dir or default_data_dir(dataset)
    checksums = _dataset(dataset)["checksums"]
    image_stem, label_stem = SPLITS[split]
    images = load_file(data_dir, image_stem, download_missing, checksums, dataset)
    labels = load_file(data_dir, label_stem, download_missing, checksums, dataset)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise GanError("%s holds images of shape %s, expected (N, 28, 28)" % (image_stem,
                                                                             images.shape))
    if labels.shape != (images.shape[0],):
        raise GanError("%s has %d labels for %d images" % (label_stem, labels.size,
                                                          images.shape[0]))
    return images, labels


def from_uint8(images):
    """uint8 pixels 0..255 -> float32 in [-1, 1], the range of the generator's tanh output
    (to_uint8's inverse)."""
    return images.astype(np.float32) / 127.5 - 1.0


def to_uint8(images):
    """float pixels in [-1, 1] -> uint8 0..255 (0 = black), clipping anything outside."""
    return np.clip(np.rint((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)

