"""gan_mnist: a small, fast, measured GAN for MNIST digits in TensorFlow 1.x graph mode.

Data flows one way: data -> pipeline -> models -> losses -> train_ops -> trainer -> images.
Importing the package does not import TensorFlow; the modules that build graphs do.
"""

import contextlib
import os

__version__ = "0.1.0"


class GanError(Exception):
    """A problem the user can fix (bad data, bad folder, mismatched checkpoint).

    Scripts print its message as one line and exit non-zero; anything else is a bug.
    """


def check_writable(folder, what):
    """Create ``folder`` if needed and prove we can write there, before any work starts."""
    import tempfile

    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise GanError("cannot write to the %s folder %s: %s" % (what, folder, e.strerror or e))


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
