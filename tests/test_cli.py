"""The scripts as a user runs them: real subprocesses, real signals, real files."""
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gan_mnist.commands import sample as sample_command, train as train_command
from tests.conftest import REPO, exit_code_of, says, wait_for_training

TRAIN = os.path.join(REPO, "scripts", "train.py")
SAMPLE = os.path.join(REPO, "scripts", "sample.py")
SCRIPTS = os.path.join(REPO, "scripts")


def run(script, *args, **kwargs):
    return subprocess.run([sys.executable, script] + list(args), capture_output=True, text=True,
                          timeout=300, **kwargs)


def error_lines(stderr):
    """stderr without TensorFlow's start-up chatter and progress bars."""
    return [line for line in stderr.splitlines() if line.startswith(("error:", "train.py:",
                                                                      "sample.py:"))]


@pytest.mark.parametrize("args, message", [
    (["--steps", "-5"], "argument --steps: must be at least 1, got -5"),
    (["--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
    (["--lr-d", "fast"], "argument --lr-d: expected a number, got 'fast'"),
    (["--lr-g", "0"], "argument --lr-g: must be greater than 0.0, got 0"),
    (["--beta1", "1.5"], "argument --beta1: must be at least 0.0 and less than 1.0, got 1.5"),
    (["--minutes", "0"], "argument --minutes: must be greater than 0.0, got 0"),
    (["--minutes", "nan"], "argument --minutes: must be greater than 0.0, got nan"),
    (["--arch", "gpt"], "argument --arch: invalid choice: 'gpt'"),
    (["--ema", "1.5"], "argument --ema: must be at least 0.0 and less than 1.0, got 1.5"),
    (["--loss", "wgan"], "argument --loss: invalid choice: 'wgan'"),
    (["--stpes", "10"], "unrecognized arguments: --stpes 10"),
])
def test_nonsense_flags_get_one_line_and_exit_2(args, message):
    result = run(TRAIN, *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


@pytest.mark.parametrize("command, switch, needed", [
    ("train", "--no-fresh", []), ("export", "--no-tflite", ["--out"]),
    ("sweep", "--no-halving", ["--out"])])
def test_a_no_form_exists_only_for_a_switch_some_recipe_turns_on(command, switch, needed, capsys,
                                                                 tmp_path):
    """--no-spectral-norm turns off what --recipe best turns on; --no-fresh, --no-tflite and
    --no-halving would turn off what nothing turns on, so they are unknown flags."""
    import importlib

    main = importlib.import_module("gan_mnist.commands." + command).main
    argv = [a for flag in needed for a in (flag, str(tmp_path / "x"))] + [switch]
    assert exit_code_of(main, *argv) == 2
    assert capsys.readouterr().err.rstrip().endswith(
        "unrecognized arguments: %s (see --help)" % switch)
    assert not (tmp_path / "x").exists()


def test_sample_flags_are_checked_too():
    result = run(SAMPLE, "--n", "0")
    assert result.returncode == 2 and "--n: must be at least 1" in result.stderr


def test_data_dir_that_is_a_file(tmp_path, capsys):
    """In this process: the next test refuses in a train.py process of its own."""
    bogus = tmp_path / "file"
    bogus.write_text("not a folder")
    assert exit_code_of(train_command.main, "--steps", "10", "--data-dir", bogus,
                        "--checkpoint-dir", tmp_path / "c", "--output-dir", tmp_path / "o") == 1
    assert error_lines(capsys.readouterr().err) == [
        "error: the data folder %s is a file, not a folder; point --data-dir or MNIST_DATA_DIR "
        "at the folder that holds the MNIST files" % bogus]


def test_unwritable_output_folder(tmp_path, mnist_dir):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    result = run(TRAIN, "--steps", "10", "--data-dir", mnist_dir,
                 "--checkpoint-dir", str(tmp_path / "c"), "--output-dir", str(blocker / "out"))
    assert result.returncode == 1
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: cannot write to the output folder")
    assert not (tmp_path / "c" / "checkpoint").exists()


def test_sample_without_a_model(tmp_path, capsys):
    """In this process: sample.py refuses in a process of its own in test_pretrained."""
    assert exit_code_of(sample_command.main, "--checkpoint-dir", tmp_path) == 1
    assert error_lines(capsys.readouterr().err)[0].startswith("error: no trained model in")


# SIGTERM (what `kill` and a job scheduler send); Ctrl-C (SIGINT) the same way, as a user presses
# it from the default folders, is test_journey.py::test_ctrl_c_then_the_same_command_resumes.
@pytest.mark.parametrize("signum", [signal.SIGTERM])
def test_stop_saves_and_the_same_command_resumes(tmp_path, mnist_dir, signum):
    args = ["--data-dir", mnist_dir, "--checkpoint-dir", str(tmp_path / "c"),
            "--output-dir", str(tmp_path / "o"), "--log-every", "10", "--checkpoint-every",
            "100000", "--eval-every", "0"]
    proc = subprocess.Popen([sys.executable, TRAIN, "--steps", "100000"] + args,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_training(proc, tmp_path / "o" / "log.csv")
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, err
    stopped = [line for line in out.splitlines() if line.startswith("stopped at step")]
    assert len(stopped) == 1, out
    step = int(stopped[0].split()[3].rstrip(";"))
    assert step >= 30
    with open(tmp_path / "c" / "checkpoint") as f:
        assert says(f.readline(), "model.ckpt-%d" % step)

    result = run(TRAIN, "--steps", str(step + 20), *args)
    assert result.returncode == 0, result.stderr
    assert says(result.stdout, "resumed from step %d" % step)
    assert says(result.stdout, "done: step %d" % (step + 20))


def test_sample_png_and_npy(tmp_path, mnist_dir):
    """sample.py as a process writes the grid and the array; the same seed gives the same digits
    and another seed others (those two runs in this process: main() as the script calls it)."""
    from gan_mnist.commands import sample, train

    ckpt = str(tmp_path / "c")
    assert exit_code_of(train.main, "--steps", "30", "--data-dir", mnist_dir, "--checkpoint-dir",
                        ckpt, "--output-dir", tmp_path / "o") == 0
    png, npy, npy2 = (str(tmp_path / n) for n in ("d.png", "d.npy", "d2.npy"))
    result = run(SAMPLE, "--checkpoint-dir", ckpt, "--n", "10", "--png", png, "--npy", npy)
    assert result.returncode == 0, result.stderr
    assert says(result.stdout, "from step 30")
    digits = np.load(npy)
    assert digits.shape == (10, 28, 28) and digits.dtype == np.uint8
    assert digits.max() > 0
    assert np.array(Image.open(png)).shape == (3 * 30 + 2, 4 * 30 + 2)  # 3 rows of 4
    # the same seed gives the same digits; another seed others
    assert exit_code_of(sample.main, "--checkpoint-dir", ckpt, "--n", "10", "--npy", npy2) == 0
    np.testing.assert_array_equal(np.load(npy2), digits)
    assert exit_code_of(sample.main, "--checkpoint-dir", ckpt, "--n", "10", "--npy", npy2,
                        "--seed", "1") == 0
    assert not np.array_equal(np.load(npy2), digits)


def test_gan_mnist_dispatches_and_knows_its_version(capsys):
    """The installed command's dispatcher, in-process: --version, and an unknown command."""
    import gan_mnist
    from gan_mnist import cli

    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == "gan-mnist %s\n" % gan_mnist.__version__
    assert cli.main(["trian"]) == 2
    assert "unknown command 'trian'" in capsys.readouterr().err
    # --help lists every command with what it does, on stdout; no command is a usage error.
    assert cli.main(["--help"]) == 0
    listed = capsys.readouterr().out
    for name in cli.NAMES:
        assert re.search(r"^  %s +\w" % name, listed, re.M), name
    assert cli.main([]) == 2
    assert capsys.readouterr().err.startswith("usage: gan-mnist COMMAND")


@pytest.mark.parametrize("script", ["train.py", "sample.py", "evaluate.py", "export.py"])
def test_every_command_knows_its_version(script):
    import gan_mnist

    result = subprocess.run([sys.executable, os.path.join(SCRIPTS, script), "--version"],
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, "gan-mnist %s\n" % gan_mnist.__version__)
