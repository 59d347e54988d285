"""The versions we say we support are the versions CI tests: every lower bound in requirements.txt
is pinned in requirements-oldest.txt (which .ci/run tests in a second virtual environment), and
setup.py asks for exactly what requirements.txt asks for."""
import ast
import os
import re

from tests.conftest import REPO


def read_lines(name):
    with open(os.path.join(REPO, name)) as f:
        return [line.split("#")[0].strip() for line in f if line.split("#")[0].strip()]


def split(requirement):
    name, spec = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", requirement).groups()
    return name.lower(), spec.replace(" ", "")


def install_requires():
    with open(os.path.join(REPO, "setup.py")) as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "install_requires":
            return [ast.literal_eval(item) for item in node.value.elts]
    raise AssertionError("setup.py has no install_requires")


def release(version):
    """1.23 and 1.23.0 are the same release."""
    parts = [int(p) for p in version.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return parts


def test_setup_py_asks_for_what_requirements_txt_asks_for():
    runtime = dict(split(r) for r in install_requires())
    listed = dict(split(r) for r in read_lines("requirements.txt"))
    assert {name: listed.get(name) for name in runtime} == runtime


def test_oldest_environment_pins_every_lower_bound():
    runtime = dict(split(r) for r in install_requires())
    pins = dict(split(r) for r in read_lines("requirements-oldest.txt"))
    for name, spec in runtime.items():
        lower = re.search(r">=([0-9.]+)", spec).group(1)
        assert pins.get(name, "").startswith("=="), "%s is not pinned with ==" % name
        assert release(pins[name][2:]) == release(lower), (name, spec, pins[name])
