"""The package's shape: every import goes down the layers of gan_mnist.LAYERS, the top level
stays small, no module is over 300 lines, and no module reaches into another's private names."""
import ast
import os
import re

import gan_mnist
from gan_mnist import LAYERS, layer_of

ROOT = os.path.dirname(gan_mnist.PACKAGE_DIR)


def _modules():
    """(dotted name, path) of every module of the package."""
    for folder, _, files in os.walk(gan_mnist.PACKAGE_DIR):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path[:-3], ROOT).replace(os.sep, ".")
                yield dotted[:-len(".__init__")] if dotted.endswith(".__init__") else dotted, path


MODULES = dict(_modules())


def imported_modules(path):
    """The package modules a file imports, at any depth of the file (functions too)."""
    tree = ast.parse(open(path).read(), path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "gan_mnist")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                node.module.split(".")[0] == "gan_mnist":
            for a in node.names:  # `from gan_mnist.x import y`: y may be a module itself
                child = node.module + "." + a.name
                found.add(child if child in MODULES else node.module)
    return found


def layering_breaks(modules=MODULES):
    breaks = []
    for module, path in sorted(modules.items()):
        for target in sorted(imported_modules(path)):
            if layer_of(target) > layer_of(module):
                breaks.append("%s (%s) imports %s (%s)" % (
                    module, LAYERS[layer_of(module)][0], target, LAYERS[layer_of(target)][0]))
    return breaks


def test_every_module_is_in_a_layer():
    for module in MODULES:
        assert 0 <= layer_of(module) < len(LAYERS)


def test_no_module_imports_from_a_higher_layer():
    assert layering_breaks() == []


def test_the_layering_test_sees_an_upward_import(tmp_path):
    """A module of the networks layer importing the trainer is reported."""
    path = tmp_path / "models.py"
    path.write_text("from gan_mnist.training import trainer\n"
                    "def f():\n    from gan_mnist.evaluation.evaluate import Evaluator\n")
    breaks = layering_breaks({"gan_mnist.core.models": str(path)})
    assert breaks == [
        "gan_mnist.core.models (networks, losses, train ops) imports "
        "gan_mnist.evaluation.evaluate (evaluation)",
        "gan_mnist.core.models (networks, losses, train ops) imports "
        "gan_mnist.training.trainer (training)"]


def test_the_top_level_holds_at_most_six_modules():
    top = [m for m, p in MODULES.items()
           if os.path.dirname(p) == gan_mnist.PACKAGE_DIR]
    assert len(top) <= 6, top


def test_no_module_is_over_300_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(open(p).read().splitlines())) > 300}
    assert long == {}


def private_reach_ins(path):
    """``module._name`` uses and ``from module import _name`` imports of package modules in a
    file: another module's private names."""
    tree = ast.parse(open(path).read(), path)
    aliases = set()  # local names bound to package modules
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                node.module.split(".")[0] == "gan_mnist":
            for a in node.names:
                if a.name.startswith("_") and not a.name.startswith("__"):
                    found.append("from %s import %s" % (node.module, a.name))
                if node.module + "." + a.name in MODULES:
                    aliases.add(a.asname or a.name)
        elif isinstance(node, ast.Import):
            aliases.update(a.asname for a in node.names if a.asname and a.name in MODULES)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id in aliases and node.attr.startswith("_") and \
                not node.attr.startswith("__"):
            found.append("%s.%s" % (node.value.id, node.attr))
    return found


def test_no_module_uses_another_modules_private_names():
    reach_ins = {m: r for m, p in MODULES.items() if (r := private_reach_ins(p))}
    assert reach_ins == {}


def test_the_private_names_test_sees_a_reach_in(tmp_path):
    path = tmp_path / "run_folder.py"
    path.write_text("from gan_mnist.training import checkpoints\n"
                    "from gan_mnist.training.images import _hidden\n"
                    "checkpoints._publish(1)\n")
    assert sorted(private_reach_ins(str(path))) == [
        "checkpoints._publish", "from gan_mnist.training.images import _hidden"]


def test_every_test_the_quick_tier_names_exists():
    from tests.conftest import QUICK

    tests = os.path.join(ROOT, "tests")
    for name, chosen in QUICK.items():
        source = open(os.path.join(tests, name)).read()
        for test in ([] if chosen == "*" else sorted(chosen)):
            assert re.search(r"^def %s\(" % test, source, re.M), (name, test)


def test_every_module_imports():
    """Each module of the package imports on its own (a moved or renamed name shows here first,
    in the quick tier, rather than in the one command that reaches it)."""
    import importlib

    for module in sorted(MODULES):
        importlib.import_module(module)
