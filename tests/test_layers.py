"""The package's shape: every import (absolute, relative or dynamic) goes down the layers of
LAYERS (below), and no module reaches into another's private names. Modules are grouped by
concept, not length: no cap on lines or on the number of modules."""
import ast
import os
import re

import gan_mnist

ROOT = os.path.dirname(gan_mnist.PACKAGE_DIR)

# The layers, lowest first. A module may import from its own layer and the ones before it, never
# from a later one: the tests below read every import against this table. A module belongs to
# the entry naming the longest prefix of its dotted name.
LAYERS = (
    ("foundation", ("gan_mnist", "gan_mnist.errors", "gan_mnist.files", "gan_mnist.cache",
                    "gan_mnist.assets", "gan_mnist.tf_compat")),
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
        raise ValueError("%s is in no layer of LAYERS" % module)
    return best[0]


def _modules():
    """(dotted name, path) of every module of the package."""
    for folder, _, files in os.walk(gan_mnist.PACKAGE_DIR):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path[:-3], ROOT).replace(os.sep, ".")
                yield dotted[:-len(".__init__")] if dotted.endswith(".__init__") else dotted, path


MODULES = dict(_modules())


def _absolute(module, node):
    """The package module named by ``from ... import`` in ``module``, relative dots resolved."""
    if not node.level:
        return node.module
    package = module.split(".")
    if module not in MODULES or not MODULES[module].endswith("__init__.py"):
        package = package[:-1]  # a plain module's dots count from its package
    base = package[:len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(path, module=None):
    """The package modules a file imports, at any depth of the file (functions too): ``import``,
    ``from ... import`` (relative ones resolved from ``module``, the file's dotted name), and
    ``importlib.import_module`` or ``__import__`` of a string written in the file."""
    tree = ast.parse(open(path).read(), path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "gan_mnist")
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module or "gan_mnist", node)
            if source and source.split(".")[0] == "gan_mnist":
                for a in node.names:  # `from gan_mnist.x import y`: y may be a module itself
                    child = source + "." + a.name
                    found.add(child if child in MODULES else source)
        elif isinstance(node, ast.Call) and node.args and _is_dynamic_import(node.func):
            first = node.args[0]
            name = _literal_prefix(first)
            if name and name.split(".")[0] == "gan_mnist":
                found.add(name.rstrip("."))
    return found


def _is_dynamic_import(func):
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id in ("__import__", "import_module"))


def _literal_prefix(node):
    """The text a module name starts with: a string, or the left of ``"gan_mnist.x." + name``
    and ``"gan_mnist.commands.%s" % name`` (the package part, known when the file is read)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.split("%")[0]
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _literal_prefix(node.left)
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return node.values[0].value
    return None


def layering_breaks(modules=MODULES):
    breaks = []
    for module, path in sorted(modules.items()):
        for target in sorted(imported_modules(path, module)):
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
    """The GAN module importing the trainer is reported."""
    path = tmp_path / "gan.py"
    path.write_text("from gan_mnist.training import trainer\n"
                    "def f():\n    from gan_mnist.evaluation.evaluate import Evaluator\n")
    breaks = layering_breaks({"gan_mnist.core.gan": str(path)})
    assert breaks == [
        "gan_mnist.core.gan (the GAN: networks, G and D, losses, train ops) imports "
        "gan_mnist.evaluation.evaluate (evaluation)",
        "gan_mnist.core.gan (the GAN: networks, G and D, losses, train ops) imports "
        "gan_mnist.training.trainer (training)"]


def test_the_layering_test_reads_relative_and_dynamic_imports(tmp_path):
    """`from ..evaluation import metrics` in a core module, and importlib.import_module of a
    higher module's name (whole, or built from a literal package and a variable), are reported
    as the absolute import would be."""
    path = tmp_path / "gan.py"
    path.write_text("import importlib\n"
                    "from ..evaluation import metrics\n"
                    "from . import layers\n"
                    "def f(name):\n"
                    "    importlib.import_module('gan_mnist.training.trainer')\n"
                    "    importlib.import_module('gan_mnist.commands.' + name)\n"
                    "    __import__('gan_mnist.export.%s' % name)\n")
    assert imported_modules(str(path), "gan_mnist.core.gan") == {
        "gan_mnist.evaluation.metrics", "gan_mnist.core.layers", "gan_mnist.training.trainer",
        "gan_mnist.commands", "gan_mnist.export"}
    breaks = layering_breaks({"gan_mnist.core.gan": str(path)})
    assert [b.split(" imports ")[1].split(" (")[0] for b in breaks] == [
        "gan_mnist.commands", "gan_mnist.evaluation.metrics", "gan_mnist.export",
        "gan_mnist.training.trainer"], breaks
    # In a package's __init__.py the dots count from that package itself.
    init = tmp_path / "__init__.py"
    init.write_text("from .pipeline import noise\nfrom ..training import config\n")
    assert imported_modules(str(init), "gan_mnist.core") == {
        "gan_mnist.core.pipeline", "gan_mnist.training.config"}


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


def test_every_dynamic_import_names_the_package_it_reaches_into():
    """importlib.import_module("gan_mnist." + name) could reach any layer, so the check above
    cannot judge it: each dynamic import in the package names at least the subpackage or module
    it loads from, as a literal the layering test reads."""
    vague = []
    for module, path in sorted(MODULES.items()):
        for node in ast.walk(ast.parse(open(path).read(), path)):
            if isinstance(node, ast.Call) and node.args and _is_dynamic_import(node.func):
                name = _literal_prefix(node.args[0])
                if not name or name.rstrip(".") == "gan_mnist" or \
                        name.split(".")[0] != "gan_mnist":
                    vague.append("%s:%d %s" % (module, node.lineno, ast.unparse(node)))
    assert vague == []


def test_the_layering_test_reads_f_string_and_dunder_dynamic_imports(tmp_path):
    """importlib.import_module(f"gan_mnist.sweeps.{name}") and __import__("gan_mnist.api") in
    a core module are upward imports, as their plain forms are."""
    path = tmp_path / "gan.py"
    path.write_text("import importlib\n"
                    "def f(name):\n"
                    "    importlib.import_module(f'gan_mnist.sweeps.{name}')\n"
                    "    return __import__('gan_mnist.api')\n")
    assert imported_modules(str(path), "gan_mnist.core.gan") == {"gan_mnist.sweeps",
                                                                  "gan_mnist.api"}
    breaks = layering_breaks({"gan_mnist.core.gan": str(path)})
    assert [b.split(" imports ")[1].split(" (")[0] for b in breaks] == [
        "gan_mnist.api", "gan_mnist.sweeps"], breaks
