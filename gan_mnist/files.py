"""Files and folders written safely: a file appears whole or not at all, a folder is proven
writable before any work, an export's folder is new and leaves nothing half-made, and whether a
process (the owner of a lock) still runs."""
import contextlib
import os
import shutil
import tempfile

from gan_mnist.errors import GanError, reason


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


def check_writable(folder, what):
    """Create ``folder`` if needed and prove we can write there, before any work starts."""
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise GanError("cannot write to the %s folder %s: %s" % (what, folder, reason(e)))


@contextlib.contextmanager
def new_folder(out_dir, flag):
    """``with new_folder(out_dir, "--out") as parent:`` refuse an output folder that exists
    already, before any work (export writes a whole folder, never into one a user has); make
    its missing parent folders, and remove them again if the block fails, so nothing half-made
    is left. Yields the parent, where the block stages its files."""
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


def process_alive(pid):
    """Whether process ``pid`` still runs on this machine (one we may not signal counts too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
