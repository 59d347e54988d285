"""``gan-mnist COMMAND [flags]``: the installed command. Each command lives in
``gan_mnist.commands.COMMAND`` with its parser and main; this only dispatches to it."""
import importlib
import sys

from gan_mnist.commands import COMMANDS, NAMES


def _version():
    from gan_mnist import __version__

    return "gan-mnist %s" % __version__


def usage():
    width = max(len(name) for name in NAMES)
    return "\n".join(["usage: gan-mnist COMMAND [flags]   (gan-mnist COMMAND --help: its flags)",
                      "       gan-mnist --version", "", "commands:"]
                     + ["  %-*s  %s" % (width, name, what) for name, what in COMMANDS.items()])


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--version"]:
        print(_version())
        return 0
    if not argv or argv[0] in ("-h", "--help"):
        # --help asked for it: stdout and exit 0; no command at all is a usage error.
        print(usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] not in NAMES:
        print("gan-mnist: error: unknown command %r; choose one of: %s"
              % (argv[0], ", ".join(NAMES)), file=sys.stderr)
        return 2
    # prog: "gan-mnist train: error ...", not "train.py: error ..."
    command = importlib.import_module("gan_mnist.commands." + argv[0])
    return command.main(argv[1:], prog="gan-mnist " + argv[0])


if __name__ == "__main__":  # python -m gan_mnist.cli COMMAND: the benchmark's train_py variant
    sys.exit(main())
