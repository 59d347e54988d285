"""How a typed value is checked: functions that turn text into a number within bounds, or refuse
it with a message that says which bounds. Config fields and every command's parser use them."""
import argparse


def number(kind, minimum, inclusive=True, maximum=None):
    """A checker for a number of ``kind`` (int or float) >= ``minimum`` (> when not
    ``inclusive``) and, when given, < ``maximum``."""
    def check(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError("expected %s, got %r" % (
                "an integer" if kind is int else "a number", text))
        low_ok = value >= minimum if inclusive else value > minimum
        if not low_ok or (maximum is not None and value >= maximum) or value != value:
            bound = ("at least %s" if inclusive else "greater than %s") % minimum
            if maximum is not None:
                bound += " and less than %s" % maximum
            raise argparse.ArgumentTypeError("must be %s, got %s" % (bound, text))
        return value
    return check


def between(low, high, kind=float):
    """low <= value < high."""
    return number(kind, low, maximum=high)


def at_least(low, kind=float):
    return number(kind, low)


positive_int = number(int, 1)
non_negative_int = number(int, 0)
positive_float = number(float, 0.0, inclusive=False)
