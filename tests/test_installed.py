"""The package as a non-editable `pip install` leaves it, used from an empty folder: no checkout
on the path, no scripts/, no benchmarks/. A fresh virtual environment gets the repository's files
(a copy, as a clone has them) installed into it, and sees this environment's libraries
(TensorFlow, NumPy, pip, setuptools: nothing is downloaded) through a .pth file, all but PyTorch:
a user who installed the package without its benchmark extra. Every command `gan-mnist --help`
lists answers --help and does its shortest real job there.

The benchmark once reached the repository's benchmarks/ folder through sys.path, so the
installed `gan-mnist benchmark` only said that it lives in the repository, even inside a
checkout.
"""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import types

import pytest
from PIL import Image

from gan_mnist.commands import NAMES
from tests.conftest import copy_repository

# Where this environment keeps its libraries: the new one sees them, all but these.
HIDDEN = ("torch",)  # the benchmark extra's PyTorch: its variant must say what to install
TORCH_REFUSAL = ("gan-mnist benchmark: error: the torch variant needs PyTorch, which is not "
                 "installed: pip install 'gan_mnist[benchmark]' (in a checkout: pip install -r "
                 "requirements-benchmark.txt)")


def library_view(folder):
    """A folder of links to every library this environment has (its site-packages, first one
    first), but PyTorch, gan_mnist itself and the .pth files that only run in a site folder."""
    os.makedirs(folder)
    sites = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]] + [
        p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    for site in dict.fromkeys(os.path.realpath(s) for s in sites if os.path.isdir(s)):
        for name in os.listdir(site):
            top = re.split(r"[-.]", name)[0]
            if top in HIDDEN or top.lower() == "gan_mnist" or "gan_mnist" in name.lower() or \
                    name.endswith(".pth") or name == "__pycache__":
                continue
            if not os.path.lexists(os.path.join(folder, name)):
                os.symlink(os.path.join(site, name), os.path.join(folder, name))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The repository installed (`pip install --no-deps --no-build-isolation <copy>`) into a
    fresh virtual environment; (env: what a user's shell has, site: its site-packages, python)."""
    if importlib.util.find_spec("setuptools") is None:
        why = "setuptools is not installed: the offline build (--no-build-isolation) needs it"
        if os.environ.get("CI"):
            pytest.fail("CI must have it: " + why)
        pytest.skip(why)
    root = tmp_path_factory.mktemp("installed")
    # The repository's files as a clone has them: the build writes its build/ folder there, not
    # into the checkout.
    source = root / "source"
    copy_repository(source)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = str(venv / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True,
                          env=clean_env()).stdout.strip()
    library_view(str(root / "libraries"))
    with open(os.path.join(site, "libraries.pth"), "w") as f:
        f.write(str(root / "libraries") + "\n")
    result = subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps",
                             "--no-build-isolation", "--no-index", str(source)],
                            capture_output=True, text=True, timeout=300, env=clean_env())
    assert result.returncode == 0, result.stderr[-3000:]
    env = clean_env()
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(venv)
    return types.SimpleNamespace(env=env, site=site, python=python, source=source)


def clean_env():
    """This shell without anything that would put the checkout on the path."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}


def gan_mnist(installed, cwd, *args, timeout=300):
    """The installed command, as a user in folder ``cwd`` types it."""
    return subprocess.run(["gan-mnist", *map(str, args)], cwd=cwd, env=installed.env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def empty(tmp_path):
    """A new, empty folder to run in: not the repository, nothing of it beside."""
    folder = tmp_path / "here"
    folder.mkdir()
    return folder


@pytest.mark.quick  # seconds: the install and a look at what it holds
def test_the_package_installs_whole_and_edits_no_sys_path(installed, empty):
    """The installed command imports the installed package, every module of the source's package
    is there (the benchmark's included), and nothing in it edits sys.path or imports the
    repository's top-level folders."""
    where = subprocess.run([installed.python, "-c", "import gan_mnist.benchmarks.speed, "
                            "gan_mnist; print(gan_mnist.__file__)"], cwd=empty,
                           env=installed.env, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr[-2000:]
    package = os.path.join(installed.site, "gan_mnist")
    assert where.stdout.strip() == os.path.join(package, "__init__.py")

    def modules(root):
        return sorted(os.path.relpath(os.path.join(d, n), root) for d, _, files in os.walk(root)
                      for n in files if n.endswith(".py"))
    shipped = modules(package)
    assert shipped == modules(installed.source / "gan_mnist")
    assert {"benchmarks/speed.py", "benchmarks/workers.py", "benchmarks/profile.py",
            "benchmarks/keras_rewrite.py", "benchmarks/torch_rewrite.py"} <= set(shipped)
    for name in shipped:
        text = open(os.path.join(package, name)).read()
        assert "sys.path" not in text, name
        assert not re.search(r"^\s*(from|import) (benchmarks|scripts|tests)\b", text, re.M), name
    assert not {"benchmarks", "scripts", "tests"} & set(os.listdir(installed.site))


def test_help_lists_every_command_and_each_answers_help(installed, empty):
    listed = gan_mnist(installed, empty, "--help")
    assert listed.returncode == 0, listed.stderr[-2000:]
    commands = re.findall(r"^  (\w+)  +\w", listed.stdout.split("commands:")[1], re.M)
    assert tuple(commands) == NAMES
    for command in commands:
        result = gan_mnist(installed, empty, command, "--help")
        assert result.returncode == 0, (command, result.stderr[-2000:])
        assert result.stdout.startswith("usage: gan-mnist %s " % command), result.stdout[:200]
    version = gan_mnist(installed, empty, "--version")
    assert re.fullmatch(r"gan-mnist \d+\.\d+\.\d+\n", version.stdout)
    assert os.listdir(empty) == []  # --help writes nothing


def test_train_plot_evaluate_and_a_sweep_report_from_an_empty_folder(installed, empty,
                                                                     mnist_dir):
    """The default folders (checkpoints/, output/) appear in the folder the user is in."""
    train = gan_mnist(installed, empty, "train", "--steps", 20, "--eval-every", 0)
    assert train.returncode == 0, train.stderr[-3000:]
    assert "done: step 20" in train.stdout
    assert (empty / "checkpoints" / "checkpoint").is_file()
    assert json.loads((empty / "checkpoints" / "config.json").read_text())["arch"] == "fc"
    with Image.open(empty / "output" / "samples_step_000000.png") as grid:
        assert grid.size == (8 * 30 + 2,) * 2  # 64 digits: 8 x 8 cells of 28 + 2 pixels

    plot = gan_mnist(installed, empty, "plot")
    assert plot.returncode == 0, plot.stderr[-3000:]
    for figure in ("curves.png", "interpolation.png", "real_vs_fake.png"):
        with Image.open(empty / "output" / figure) as image:
            assert image.size[0] > 100, figure

    evaluate = gan_mnist(installed, empty, "evaluate", "--n", 100)
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    report = json.loads((empty / "output" / "evaluation.json").read_text())
    assert report["n"] == 100 and report["generated"]["fid"] > 0

    # A sweep's report of one trial folder holding that evaluation (training sweeps on Ray run
    # in test_sweep.py and test_sweep_cluster.py).
    from gan_mnist.sweeps import grid

    trial = empty / "sweep" / grid.trial_name((("arch", "fc"),), 0)
    trial.mkdir(parents=True)
    shutil.copy(empty / "output" / "evaluation.json", trial / "evaluation.json")
    (trial / "trial.json").write_text(json.dumps(dict(
        settings={"arch": "fc"}, seed=0, budget={"steps": 20}, status="finished",
        trained_seconds=5.0)))
    sweep = gan_mnist(installed, empty, "sweep", "--out", "sweep", "--report")
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    assert (empty / "sweep" / "results.csv").is_file() and (empty / "sweep" / "fid.png").is_file()
    assert "| arch=fc | 0 |" in (empty / "sweep" / "results.md").read_text()


def test_the_shipped_generator_samples_and_exports_without_digits(installed, empty):
    """No MNIST files at all: the generator that ships in the package."""
    env = {k: v for k, v in installed.env.items() if k != "MNIST_DATA_DIR"}
    run = dict(cwd=empty, env=env, capture_output=True, text=True, timeout=300)
    sample = subprocess.run(["gan-mnist", "sample", "--pretrained", "best", "--n", "4", "--png",
                             "x.png"], **run)
    assert sample.returncode == 0, sample.stderr[-3000:]
    with Image.open(empty / "x.png") as grid:
        assert grid.size == (2 * 30 + 2, 2 * 30 + 2)  # 4 digits: 2 x 2 cells of 28 + 2 pixels
        assert grid.convert("L").getextrema()[1] > 200  # white strokes, not a blank image
    export = subprocess.run(["gan-mnist", "export", "--pretrained", "best", "--out", "model"],
                            **run)
    assert export.returncode == 0, export.stderr[-3000:]
    assert (empty / "model" / "saved_model.pb").stat().st_size > 0
    assert any((empty / "model" / "variables").iterdir())


def test_benchmark_runs_from_the_installed_package(installed, empty, mnist_dir):
    """Its workers and the train_py variant's train command run from the installed package, in
    the user's folder (a relative --data-dir means this folder's), the keras variant included;
    without PyTorch its variant names the extra to install."""
    os.symlink(os.path.abspath(mnist_dir), empty / "digits")
    env = {k: v for k, v in installed.env.items() if k != "MNIST_DATA_DIR"}
    result = subprocess.run(["gan-mnist", "benchmark", "--variants", "fused,train_py,keras",
                             "--rounds", "1", "--steps", "5", "--data-dir", "digits", "--json"],
                            cwd=empty, env=env, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(result.stdout)
    assert record["command"] == ("gan-mnist benchmark --variants fused,train_py,keras --rounds 1 "
                                 "--steps 5 --data-dir digits --json")
    assert list(record["variants"]) == ["fused", "train_py", "keras"]
    assert all(v["steps_per_s"] > 0 for v in record["variants"].values())
    assert sorted(os.listdir(empty)) == ["digits"]  # train_py's folders were temporary

    # The report: in a checkout, the installed command said the benchmark lives in the repository.
    torch = gan_mnist(installed, installed.source, "benchmark", "--variants", "fused,torch")
    assert torch.returncode == 2 and torch.stderr.strip().splitlines() == [TORCH_REFUSAL]
