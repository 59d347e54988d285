"""``gan-mnist COMMAND [flags]``: the installed command. Each command lives in
``gan_mnist.commands.COMMAND`` with its parser and main; this only dispatches to it."""
import importlib
import sys

from gan_mnist.commands import NAMES, common


def _version():
    from gan_mnist import __version__

    return "gan-mnist %s" % __version__


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--version"]:
        print(_version())
        return 0
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: gan-mnist {%s} [flags]   (gan-mnist COMMAND --help for its flags)\n"
              "       gan-mnist --version" % ",".join(NAMES))
        return 0 if argv else 2
    if argv[0] not in NAMES:
        print("gan-mnist: error: unknown command %r; choose one of: %s"
              % (argv[0], ", ".join(NAMES)), file=sys.stderr)
        return 2
    common.installed_command = argv[0]
    return importlib.import_module("gan_mnist.commands." + argv[0]).main(argv[1:])
