"""The product as a user types it: a scratch copy of the repository, the current directory at its
root, default relative folders (checkpoints/, output/, MNIST_data/), no folder flags, Ctrl-C and
SIGKILL, and every command of the README's code blocks run as written (only --steps, the
number of digits, --n, and the benchmark's --rounds shortened).

A bug that broke resuming with the default checkpoints/ folder once passed every other test,
because they all passed absolute temporary paths. These tests pass none.
"""
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import REPO, says

MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
TRAIN = "python scripts/train.py --steps 3000"  # the journey, 3000 steps


@pytest.fixture
def clone(tmp_path, mnist_dir):
    """A copy of the repository's files (tracked, and new ones git does not ignore) at
    tmp/work/gan_mnist, with the MNIST files in its default MNIST_data/ folder and ../shared/
    beside it, as in CI. Returns its root."""
    root = tmp_path / "work" / "gan_mnist"
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        if os.path.isfile(os.path.join(REPO, name)):
            os.makedirs(root / os.path.dirname(name), exist_ok=True)
            shutil.copy2(os.path.join(REPO, name), root / name)
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


def test_keep_leaves_the_newest_five(clone):
    code, _, err = run("python scripts/train.py --steps 800 --checkpoint-every 100", clone)
    assert code == 0, err
    assert checkpoints_on_disk(clone) == [400, 500, 600, 700, 800]
    assert not [n for n in os.listdir(clone) if n.startswith("model.ckpt")]


# ---- the README's code blocks, as written -----------------------------------------------------

# Commands of the README not run here, each with its reason. A command listed here that the
# README no longer has fails the test, so this list cannot silently go stale.
NOT_RUN = {
    "python3 -m venv .venv && . .venv/bin/activate": "CI makes the environment this way itself",
    "pip install -r requirements.txt          # or: pip install -e .": "as above",
    "MNIST_DATA_DIR=../shared/MNIST_data python -m pytest": "that is this test suite",
    "for a in fc mlp256 dcgan cnn; do": "the hour-long study behind the recipe table; its pieces "
                                        "(--arch, --minutes, evaluate.py) run below",
    "python scripts/train.py --arch $a --minutes 15 --steps 10000000 --eval-every 0 "
    "--checkpoint-dir budget/$a --output-dir budget/$a-out": "part of that loop",
    "python scripts/evaluate.py --checkpoint-dir budget/$a --output-dir budget/$a-out":
        "part of that loop",
    "done": "part of that loop",
    "python scripts/benchmark.py                       # all five variants on fc, 3 alternating "
    "rounds": "15 timed processes; tests/test_benchmark.py runs the benchmark script",
    "python scripts/benchmark.py --arch cnn --rounds 2 --steps 100   # a convolutional recipe "
    "(no keras variant)": "as above",
    "gan-mnist train --steps 100000": "the installed command: test_pip_install_gives_one_quiet_"
                                      "command runs it after a real pip install",
    "gan-mnist sample --n 64 --png digits.png": "as above",
    "gan-mnist --version": "as above",
    "python scripts/sweep.py --out sweeps/sn --set arch=fast --set spectral-norm=off,on --seeds "
    "0,1,2 --minutes 5": "half an hour of training; tests/test_sweep.py runs real sweeps on a "
                         "local Ray with a few steps per trial",
    "python scripts/plot.py --compare fast=runs/fast-out fc=runs/fc-out --out "
    "fid_vs_minutes.png": "needs two runs with quick FIDs; tests/test_evaluate.py runs --compare",
    "python scripts/classifier.py --dataset mnist     # writes gan_mnist/assets/classifier-mnist.npz"
    " and its SHA-256": "three minutes of training; tests/test_evaluate.py runs the script on a "
                        "classifier trained in a folder",
}
SHORT_STEPS = {"train.py": 1200, "benchmark.py": 20}
SIDE_RUN_STEPS = 200  # train commands into folders of their own (not checkpoints/) need fewer
SHORT_N = {"sample.py": 2000, "evaluate.py": 2000}  # digits to draw (default/README: 10,000)
SHORT_ROUNDS = {"benchmark.py": 1}  # timed rounds per variant (default/README: 3)


def readme_blocks(readme):
    """The README's indented code blocks, each a list of lines (indentation removed)."""
    blocks, previous_blank, in_block = [], True, False
    for line in readme.splitlines():
        if line.startswith("    ") and (in_block or previous_blank):
            if not in_block:
                blocks.append([])
            in_block = True
            blocks[-1].append(line[4:])
        elif line.strip():
            in_block = False
        previous_blank = not line.strip()
    return blocks


def is_python(block):
    return block[0].startswith(("import ", "from "))


def readme_commands(readme):
    """Each shell command of the README's code blocks, continuation lines joined."""
    commands, pending = [], ""
    for block in readme_blocks(readme):
        if is_python(block):
            continue
        for line in block:
            text = pending + line.strip()
            if text.endswith("\\"):
                pending = text[:-1].rstrip() + " "
                continue
            pending = ""
            commands.append(text)
    return commands


def shortened(command):
    """The command with a small --steps (added where it would run 100,000 steps by default), at
    most SHORT_N digits drawn and SHORT_ROUNDS benchmark rounds."""
    script = re.search(r"scripts/(\w+\.py)", command).group(1)
    rounds = SHORT_ROUNDS.get(script)
    if rounds and "--rounds " in command:
        command = re.sub(r"--rounds (\d+)", "--rounds %d" % rounds, command)
    elif rounds:
        command += " --rounds %d" % rounds
    n = SHORT_N.get(script)
    if n and "--samples" not in command:
        if "--n " in command:
            command = re.sub(r"--n (\d+)", lambda m: "--n %d" % min(int(m.group(1)), n), command)
        elif script == "evaluate.py":
            command += " --n %d" % n
    short = SHORT_STEPS.get(script)
    if script == "train.py" and "--checkpoint-dir" in command:
        short = SIDE_RUN_STEPS
    if short is None:
        return command
    if "--steps" in command:
        return re.sub(r"--steps (\d+)", lambda m: "--steps %d" % min(int(m.group(1)), short),
                      command)
    return command + " --steps %d" % short


def test_every_readme_command_works_as_written(clone):
    commands = readme_commands((clone / "README.md").read_text())
    stale = [c for c in NOT_RUN if c not in commands]
    assert not stale, "NOT_RUN names commands the README no longer has: %s" % stale
    to_run = [c for c in commands if c not in NOT_RUN]
    assert all("scripts/" in c for c in to_run), to_run
    fashion = os.path.isdir("/usr/share/datasets/fashion-mnist") or \
        os.environ.get("FASHION_MNIST_DATA_DIR")
    ran = []
    for command in to_run:
        if "fashion-mnist" in command and not fashion:
            continue
        code, out, err = run(shortened(command), clone, timeout=600)
        assert code == 0 and "Traceback" not in err, (command, out[-2000:], err[-2000:])
        assert "training the mnist classifier" not in err  # the shipped one is used
        ran.append(command)
    assert len(ran) >= 9, ran
    # The README's Python programs (the export example), run as a user pastes them.
    programs = [b for b in readme_blocks((clone / "README.md").read_text()) if is_python(b)]
    assert programs
    for program in programs:
        (clone / "program.py").write_text("\n".join(program) + "\n")
        code, out, err = run("python program.py", clone)
        assert code == 0, (program, err[-2000:])
        if "generator_model" in "\n".join(program):
            assert "(16, 28, 28) uint8" in out
    # What those commands promise to leave behind.
    assert published_step(clone) == 1200
    digits = np.load(clone / "digits.npy")
    assert digits.shape == (2000, 28, 28) and digits.dtype == np.uint8
    assert (clone / "digits.png").exists()
    report = json.loads((clone / "output" / "evaluation.json").read_text())
    assert report["generated"]["fid"] > 0
    for name in ("curves.png", "progress.gif", "interpolation.png", "real_vs_fake.png",
                 "nearest_neighbours.png", "closest_pairs.png", "memorisation.png"):
        assert (clone / "output" / name).exists(), name


# ---- the installed command --------------------------------------------------------------------

TF_STARTUP = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|oneDNN|cuInit|cuda drivers|"
                        r"WARNING:tensorflow|rebuild TensorFlow")


def test_pip_install_gives_one_quiet_command(clone, tmp_path):
    """`pip install .` in a fresh clone, then `gan-mnist train --steps 6000` with defaults: the
    quick evaluation at step 5000 uses the shipped classifier (none is trained) and stderr holds
    no TensorFlow start-up lines, only the progress bar."""
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
    result = subprocess.run(["gan-mnist", "train", "--steps", "6000"], env=env, cwd=run_dir,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert says(result.stdout, "done: step 6000")
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
    assert sorted(os.listdir(installed)) == ["SHA256SUMS", "classifier-fashion-mnist.npz",
                                             "classifier-mnist.npz"]
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
