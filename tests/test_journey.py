"""The product as a user types it: a scratch copy of the repository, the current directory at its
root, default relative folders (checkpoints/, output/, MNIST_data/), no folder flags, Ctrl-C and
SIGKILL, and a real `pip install .`. Every command of the README's and docs/*.md's code blocks
runs as written in tests/test_docs_commands.py, in the same kind of copy (the `clone` fixture).

A bug that broke resuming with the default checkpoints/ folder once passed every other test,
because they all passed absolute temporary paths. These tests pass none.
"""
import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from tests.conftest import copy_repository, says

MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
TRAIN = "python scripts/train.py --steps 3000"  # the journey, 3000 steps


@pytest.fixture
def clone(tmp_path, mnist_dir):
    """A copy of the repository's files (tracked, and new ones git does not ignore) at
    tmp/work/gan_mnist, with the MNIST files in its default MNIST_data/ folder and ../shared/
    beside it, as in CI. Returns its root."""
    root = tmp_path / "work" / "gan_mnist"
    copy_repository(root)
    for name in MNIST_FILES:
        shutil.copy(os.path.join(mnist_dir, name), root / "MNIST_data" / name)
    os.makedirs(tmp_path / "work" / "shared")
    os.symlink(os.path.abspath(mnist_dir), tmp_path / "work" / "shared" / "MNIST_data")
    assert not (root / "checkpoints" / "checkpoint").exists()
    return root


def user_env():
    """The user's shell: `python` is this interpreter's (the activated virtual environment), no
    MNIST_DATA_DIR (the data sits in the default MNIST_data/), unbuffered output."""
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DATA_DIR"}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start(command, cwd):
    return subprocess.Popen(["bash", "-c", command], cwd=cwd, env=user_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run(command, cwd, timeout=300):
    proc = start(command, cwd)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def published_step(root):
    """The newest step the checkpoint index names, read as a user would: cat checkpoints/checkpoint."""
    text = (root / "checkpoints" / "checkpoint").read_text()
    return int(re.search(r'^model_checkpoint_path: "model\.ckpt-(\d+)"$', text, re.M).group(1))


def checkpoints_on_disk(root):
    return sorted(int(n[len("model.ckpt-"):-len(".index")])
                  for n in os.listdir(root / "checkpoints")
                  if n.startswith("model.ckpt-") and n.endswith(".index"))


def wait_for_checkpoint(proc, root, at_least=1, timeout=120):
    deadline = time.time() + timeout
    index = root / "checkpoints" / "checkpoint"
    while time.time() < deadline and proc.poll() is None:
        if index.exists() and published_step(root) >= at_least:
            return
        time.sleep(0.1)
    raise AssertionError("no checkpoint of step >= %d appeared" % at_least)


def test_ctrl_c_then_the_same_command_resumes(clone):
    proc = start(TRAIN, clone)
    wait_for_checkpoint(proc, clone, 1000)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    stopped = int(re.search(r"stopped at step (\d+); checkpoint saved in checkpoints\. Run the "
                            r"same command to resume\.", out).group(1))
    assert 1000 <= stopped < 3000 and published_step(clone) == stopped

    code, out, err = run(TRAIN, clone)
    assert code == 0, err
    assert says(out, "resumed from step %d" % stopped)
    assert says(out, "done: step 3000") and "checkpoint in checkpoints, samples in output" in out
    assert published_step(clone) == 3000
    assert len(checkpoints_on_disk(clone)) <= 5
    assert (clone / "output" / "samples_step_003000.png").exists()

    code, out, _ = run(TRAIN, clone)  # once more: nothing left to do, nothing started over
    assert code == 0 and says(out, "the checkpoint is already at step 3000")


def test_sigkill_then_the_same_command_resumes(clone):
    proc = start(TRAIN, clone)
    wait_for_checkpoint(proc, clone, 1000)
    time.sleep(0.5)
    proc.kill()
    proc.communicate(timeout=60)
    published = published_step(clone)
    code, out, err = run("python scripts/train.py --steps %d" % (published + 200), clone)
    assert code == 0, err
    assert says(out, "resumed from step %d" % published)
    assert published_step(clone) == published + 200


def snapshot(root):
    """Every file under checkpoints/ and output/ with its bytes: the folders as a user sees them."""
    return {str(p.relative_to(root)): p.read_bytes() for folder in ("checkpoints", "output")
            for p in (root / folder).rglob("*") if p.is_file()}


def interrupt_when(command, root, ready=None, line=None, timeout=120):
    """Start ``command`` and send Ctrl-C the moment ``ready()`` holds, or once it has printed a
    line holding ``line``; return (exit status, stdout, stderr)."""
    proc = start(command, root)
    out, deadline = "", time.time() + timeout
    while not (ready() if ready else line in out):
        assert proc.poll() is None and time.time() < deadline, (out, proc.stderr.read())
        if ready:
            time.sleep(0.02)
        else:
            out += proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=120)
    return proc.returncode, out + rest, err


@pytest.mark.parametrize("moment", ["importing", "starting"])
def test_ctrl_c_before_the_first_step_leaves_nothing_behind(clone, moment):
    """Ctrl-C while TensorFlow is imported (1 s in), or once the run has locked its new folder
    (data, graph and session under way): `interrupted`, no traceback, exit 130, and neither
    checkpoints/ nor output/ holds anything it did not hold before."""
    before = snapshot(clone)
    lock = clone / "checkpoints" / "lock"
    started = time.time()
    ready = ((lambda: time.time() - started > 1.0) if moment == "importing"
             else lock.exists)
    code, out, err = interrupt_when(TRAIN, clone, ready)
    assert (code, err.strip().splitlines()[-1:]) == (130, ["interrupted"]), (out, err)
    assert "Traceback" not in err and "stopped at step" not in out
    assert snapshot(clone) == before and not (clone / "output").exists()


def test_ctrl_c_before_the_first_step_of_a_fresh_start_puts_the_old_run_back(clone):
    """--fresh moves the old run aside before its first step; Ctrl-C then moves it back: the
    folders are byte for byte as they were, and the same command without --fresh resumes."""
    code, _, err = run("python scripts/train.py --steps 40 --sample-every 20", clone)
    assert code == 0, err
    before = snapshot(clone)
    code, out, err = interrupt_when("python scripts/train.py --steps 60 --fresh", clone,
                                    line="--fresh: moved the previous output")
    assert code == 130 and err.strip().splitlines()[-1] == "interrupted", (out, err)
    assert "Traceback" not in err
    assert snapshot(clone) == before
    assert not [p for p in clone.rglob("replaced-*")]
    code, out, err = run("python scripts/train.py --steps 60", clone)
    assert code == 0 and says(out, "resumed from step 40"), err


def test_keep_leaves_the_newest_five(clone):
    code, _, err = run("python scripts/train.py --steps 800 --checkpoint-every 100", clone)
    assert code == 0, err
    assert checkpoints_on_disk(clone) == [400, 500, 600, 700, 800]
    assert not [n for n in os.listdir(clone) if n.startswith("model.ckpt")]
    # The default --sample-every: a grid at 0, 500 and the last step, no others.
    assert sorted(n for n in os.listdir(clone / "output") if n.endswith(".png")) == [
        "samples_step_000000.png", "samples_step_000500.png", "samples_step_000800.png"]


# ---- the installed command --------------------------------------------------------------------

TF_STARTUP = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|oneDNN|cuInit|cuda drivers|"
                        r"WARNING:tensorflow|rebuild TensorFlow")


def test_pip_install_gives_one_quiet_command(clone, tmp_path):
    """`pip install .` in a fresh clone, then `gan-mnist train --steps 5000` with defaults: the
    quick evaluation at step 5000 (the default --eval-every) uses the shipped classifier (none
    is trained) and stderr holds no TensorFlow start-up lines, only the progress bar."""
    prefix = tmp_path / "prefix"
    isolation = []
    try:
        import setuptools  # noqa: F401
        isolation = ["--no-build-isolation"]  # build with what is installed (no download)
    except ImportError:
        pass
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--prefix", str(prefix), *isolation, "."], cwd=clone, check=True,
                   capture_output=True, timeout=300)
    site = next(str(p) for p in prefix.glob("lib/python*/site-packages"))
    env = dict(user_env(), PYTHONPATH=site,
               PATH=str(prefix / "bin") + os.pathsep + user_env()["PATH"])
    run_dir = tmp_path / "elsewhere"  # the installed package, not the clone's source
    shutil.copytree(clone / "MNIST_data", run_dir / "MNIST_data")

    version = subprocess.run(["gan-mnist", "--version"], env=env, cwd=run_dir,
                             capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and re.fullmatch(r"gan-mnist \d+\.\d+\.\d+\n", version.stdout)
    result = subprocess.run(["gan-mnist", "train", "--steps", "5000"], env=env, cwd=run_dir,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert says(result.stdout, "done: step 5000")
    noise = [line for line in re.split(r"[\r\n]", result.stderr)
             if TF_STARTUP.search(line)]
    assert not noise, noise
    assert "training the mnist classifier" not in result.stderr
    assert not (run_dir / "classifier").exists()
    with open(run_dir / "output" / "log.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["fid"]]
    assert [int(r["step"]) for r in rows] == [5000]
    assert (run_dir / "checkpoints" / "best.json").exists()
    installed = next(prefix.glob("lib/python*/site-packages/gan_mnist/assets"))
    assert sorted(os.listdir(installed)) == [
        "SHA256SUMS", "classifier-fashion-mnist.npz", "classifier-mnist.npz",
        "generator-best-conditional.npz", "generator-best.npz", "web"]
    assert sorted(os.listdir(installed / "web")) == ["app.js", "index.html"]  # export --web's page
    # The first look works from the installed package too: the shipped generator's digits.
    env["GAN_MNIST_CACHE"] = str(tmp_path / "cache")
    first = subprocess.run(["gan-mnist", "sample", "--pretrained", "best", "--n", "16",
                            "--png", "digits.png"], env=env, cwd=run_dir, capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr[-2000:]
    grid = Image.open(run_dir / "digits.png")
    assert grid.size == (4 * 30 + 2, 4 * 30 + 2)  # 16 digits: 4 x 4 cells of 28 + 2 pixels
    assert grid.getextrema()[1] > 200  # white strokes: digits drawn, not a blank image
    # A typo among the subcommands gets one line and exit 2.
    typo = subprocess.run(["gan-mnist", "trian"], env=env, cwd=run_dir, capture_output=True,
                          text=True, timeout=60)
    assert typo.returncode == 2 and typo.stderr.strip().splitlines() == [
        "gan-mnist: error: unknown command 'trian'; choose one of: train, sample, evaluate, "
        "plot, benchmark, export, classifier, sweep"]
    flag = subprocess.run(["gan-mnist", "train", "--steps", "-5"], env=env, cwd=run_dir,
                          capture_output=True, text=True, timeout=60)
    assert flag.returncode == 2 and flag.stderr.strip().splitlines() == [
        "gan-mnist train: error: argument --steps: must be at least 1, got -5 (see --help)"]
