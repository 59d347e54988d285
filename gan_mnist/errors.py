"""What goes wrong that a user can fix, and how it is said: GanError, whose message the commands
print as one line (gan_mnist.commands.common.run), and the few words of an error's reason."""
import sys


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
