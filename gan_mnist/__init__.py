"""gan_mnist: a small, fast, measured GAN for MNIST digits in TensorFlow 1.x graph mode.

Data flows one way: data -> pipeline -> models -> losses -> train ops -> trainer -> images, and
the subpackages show it (LAYERS). Importing the package does not import TensorFlow; the modules
that build graphs do. ``gan_mnist/classic.py`` is the whole seeds' GAN in one file.
"""

import contextlib
import os
import sys

__version__ = "0.1.0"

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
ASSETS_DIR = os.path.join(PACKAGE_DIR, "assets")  # shipped weights and the web page's files


# The layers, lowest first. A module may import from its own layer and the ones before it, never
# from a later one (tests/test_layers.py reads every import against this table). A module
# belongs to the entry naming the longest prefix of its dotted name.
LAYERS = (
    ("foundation", ("gan_mnist", "gan_mnist.tf_compat")),
    ("data and building blocks", ("gan_mnist.core.data", "gan_mnist.core.architectures",
                                  "gan_mnist.core.pipeline",
                                  "gan_mnist.core.layers")),
    ("techniques", ("gan_mnist.techniques",)),
    ("the GAN: networks, G and D, losses, train ops", ("gan_mnist.core",)),
    ("training", ("gan_mnist.training",)),
    ("evaluation", ("gan_mnist.evaluation",)),
    ("export", ("gan_mnist.export",)),
    ("api and the classic GAN", ("gan_mnist.api", "gan_mnist.classic")),
    # A sweep trial is a run of train.py and evaluate.py, so sweeps sit with the commands, and
    # so does the speed benchmark, which times them.
    ("tools: commands, sweeps, benchmark", ("gan_mnist.commands", "gan_mnist.cli",
                                            "gan_mnist.sweeps", "gan_mnist.benchmarks")),
)


def layer_of(module):
    """The index in LAYERS of a dotted module name inside the package."""
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    if best is None:
        raise ValueError("%s is in no layer of gan_mnist.LAYERS" % module)
    return best[0]


class GanError(Exception):
    """A problem the user can fix (bad data, bad folder, mismatched checkpoint).

    Scripts print its message as one line and exit non-zero; anything else is a bug.
    """


def to_stderr(message):
    """Where the package's one-line notices go unless a caller hands in its own ``log``."""
    print(message, file=sys.stderr)


def reason(error):
    """Why an operation failed, in a few words for a one-line message: an OS error's own words
    ("Permission denied"), else the first line of the error's text, else its type."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(getattr(error, "message", "") or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def cache_root():
    """The user's cache folder for what the package makes once and reuses (the shipped
    generators' checkpoint folders, k-means groups, the test digits' neighbour radii):
    GAN_MNIST_CACHE, else
    $XDG_CACHE_HOME/gan_mnist, else ~/.cache/gan_mnist."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get("GAN_MNIST_CACHE") or os.path.join(base, "gan_mnist")


def fallback_cache_root():
    """Where cached folders go when the cache cannot be written: this user's own temporary
    one."""
    import tempfile

    return os.path.join(tempfile.gettempdir(), "gan_mnist-cache-%d" % os.getuid())


def cached_array(kind, key, compute, valid=None):
    """``compute()``'s NumPy array, or the same answer from the cache: a file in ``kind/`` under
    cache_root(), named by ``key`` (a hashlib object fed with everything the answer depends on).
    The cache is a convenience: a file that cannot be read, or that ``valid`` refuses, is
    computed again; one that cannot be written is skipped, silently."""
    import tempfile

    import numpy as np

    folder = os.path.join(cache_root(), kind)
    path = os.path.join(folder, key.hexdigest()[:40] + ".npy")
    try:
        array = np.load(path, allow_pickle=False)
        if valid is None or valid(array):
            return array
    except (OSError, ValueError):
        pass
    array = compute()
    scratch = None
    try:  # a file of its own, then a rename: processes side by side may write the same entry
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as f:
            scratch = f.name
            np.save(f, array)
        os.replace(scratch, path)
    except OSError:
        if scratch and os.path.exists(scratch):
            os.remove(scratch)
    return array


CHECKSUMS = "SHA256SUMS"  # in an assets folder, in sha256sum's format


def asset_checksums(assets=ASSETS_DIR):
    """File name -> SHA-256 of the files shipped in ``assets`` ({} when there is no list)."""
    try:
        with open(os.path.join(assets, CHECKSUMS)) as f:
            return {name.lstrip("*"): digest for digest, name in
                    (line.split() for line in f if line.strip())}
    except (OSError, ValueError):
        return {}


def read_asset(name, what, remedy, assets=ASSETS_DIR):
    """The bytes of shipped file ``name`` after checking its SHA-256; a missing or damaged file
    raises GanError: "the shipped WHAT PATH is damaged ...; REMEDY"."""
    import hashlib

    path = os.path.join(assets, name)
    try:
        with open(path, "rb") as f:
            content = f.read()
    except OSError as e:
        raise GanError("the shipped %s %s cannot be read (%s); %s" % (what, path, reason(e),
                                                                     remedy))
    if hashlib.sha256(content).hexdigest() != asset_checksums(assets).get(name):
        raise GanError("the shipped %s %s is damaged (SHA-256 mismatch); %s" % (what, path,
                                                                                remedy))
    return content


def record_asset_checksum(path):
    """Note the SHA-256 of ``path``, a file just written into its assets folder; returns it."""
    import hashlib

    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assets = os.path.dirname(path)
    sums = dict(asset_checksums(assets), **{os.path.basename(path): digest})
    with atomic_write(os.path.join(assets, CHECKSUMS)) as f:
        f.writelines("%s  %s\n" % (sums[name], name) for name in sorted(sums))
    return digest


@contextlib.contextmanager
def new_folder(out_dir, flag):
    """``with new_folder(out_dir, "--out") as parent:`` refuse an output folder that exists
    already, before any work (export writes a whole folder, never into one a user has); make
    its missing parent folders, and remove them again if the block fails, so nothing half-made
    is left. Yields the parent, where the block stages its files."""
    import shutil

    if os.path.lexists(out_dir):
        raise GanError("%s already exists; choose another %s or remove it first" % (out_dir, flag))
    parent = os.path.dirname(os.path.abspath(out_dir))
    made = None  # the outermost folder made here
    ancestor = parent
    while not os.path.isdir(ancestor):
        if os.path.lexists(ancestor):
            raise GanError("cannot write %s: %s is a file, not a folder" % (out_dir, ancestor))
        made, ancestor = ancestor, os.path.dirname(ancestor)
    if made:
        try:
            os.makedirs(parent)
        except OSError as e:
            raise GanError("cannot write %s: %s" % (out_dir, reason(e)))
    try:
        yield parent
    except BaseException:
        if made:
            shutil.rmtree(made, ignore_errors=True)
        raise


def check_writable(folder, what):
    """Create ``folder`` if needed and prove we can write there, before any work starts."""
    import tempfile

    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise GanError("cannot write to the %s folder %s: %s" % (what, folder, reason(e)))


@contextlib.contextmanager
def atomic_write(path, mode="w", **open_kwargs):
    """Open ``path + ".tmp"`` for writing and rename it onto ``path`` when the block ends.

    A reader (or a run stopped half-way) never sees a half-written file: either the old
    one or the whole new one. If the block raises, the old file stays and the temporary
    one is removed. Use as ``with atomic_write(path) as f: f.write(...)``.
    """
    tmp = path + ".tmp"
    try:
        with open(tmp, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def process_alive(pid):
    """Whether process ``pid`` still runs on this machine (one we may not signal counts too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
