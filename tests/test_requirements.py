"""The versions we say we support are the versions CI tests: every lower bound in requirements.txt
is pinned in requirements-oldest.txt (which .ci/run tests in a second virtual environment), and
pyproject.toml asks for exactly what requirements.txt asks for."""
import os
import re
import tomllib

from tests.conftest import REPO


def read_lines(name):
    with open(os.path.join(REPO, name)) as f:
        return [line.split("#")[0].strip() for line in f if line.split("#")[0].strip()]


def split(requirement):
    name, spec = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", requirement).groups()
    return name.lower(), spec.replace(" ", "")


def pyproject():
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def install_requires():
    return pyproject()["project"]["dependencies"]


def release(version):
    """1.23 and 1.23.0 are the same release."""
    parts = [int(p) for p in version.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return parts


def test_pyproject_asks_for_what_requirements_txt_asks_for():
    runtime = dict(split(r) for r in install_requires())
    listed = dict(split(r) for r in read_lines("requirements.txt"))
    assert {name: listed.get(name) for name in runtime} == runtime


def test_extras_ask_for_what_their_requirements_files_ask_for():
    extras = pyproject()["project"]["optional-dependencies"]
    for extra, name in [("sweep", "requirements-sweep.txt"), ("web", "requirements-web.txt"),
                        ("notebook", "requirements-notebook.txt"),
                        ("tensorboard", "requirements-tensorboard.txt"),
                        ("tflite", "requirements-tflite.txt"),
                        ("benchmark", "requirements-benchmark.txt")]:
        listed = dict(split(r) for r in read_lines(name))
        wanted = dict(split(r) for r in extras[extra])
        assert {k: listed.get(k) for k in wanted} == wanted, extra


def test_oldest_environment_pins_every_lower_bound():
    runtime = dict(split(r) for r in install_requires())
    pins = dict(split(r) for r in read_lines("requirements-oldest.txt"))
    for name, spec in runtime.items():
        lower = re.search(r">=([0-9.]+)", spec).group(1)
        assert pins.get(name, "").startswith("=="), "%s is not pinned with ==" % name
        assert release(pins[name][2:]) == release(lower), (name, spec, pins[name])
