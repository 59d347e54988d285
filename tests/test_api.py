"""gan_mnist.api as a program uses it: the command line's value checks with the same sentences,
and Ctrl-C that saves a checkpoint and then stops the calling program."""
import os
import signal
import subprocess
import sys

import pytest

from gan_mnist import api
from gan_mnist.training import config as config_lib
from tests.conftest import REPO, says, wait_for_training

TRAIN = os.path.join(REPO, "scripts", "train.py")


@pytest.mark.parametrize("flags, argv", [
    (dict(steps=-5), ["--steps", "-5"]),
    (dict(lr_g=0), ["--lr-g", "0"]),
    (dict(beta1=1.5), ["--beta1", "1.5"]),
    (dict(arch="gpt"), ["--arch", "gpt"]),
    (dict(lr_d="fast"), ["--lr-d", "fast"]),
])
def test_a_bad_value_raises_value_error_with_the_commands_sentence(tmp_path, flags, argv):
    with pytest.raises(ValueError) as raised:
        api.train(str(tmp_path / "c"), str(tmp_path / "o"), **flags)
    typed = subprocess.run([sys.executable, TRAIN, *argv], capture_output=True, text=True,
                           timeout=120)
    assert typed.returncode == 2
    assert str(raised.value) in typed.stderr, (raised.value, typed.stderr)
    assert not (tmp_path / "c").exists()  # refused before any folder was made


def test_values_the_command_line_cannot_type_are_refused_too(tmp_path):
    for flags, sentence in [(dict(steps=2.5), "argument --steps: expected an integer, got 2.5"),
                            (dict(conditional=1), "argument --conditional: expected True or "
                             "False, got 1"),
                            (dict(steps="2000"), "argument --steps: expected an integer, got "
                             "'2000'"),
                            (dict(lr_d=None), "argument --lr-d: expected a number, got None"),
                            (dict(stpes=10), "unknown flag --stpes; train.py has: --recipe")]:
        with pytest.raises(ValueError, match=sentence.replace("(", r"\(")):
            api.train(str(tmp_path / "c"), **flags)
    assert not (tmp_path / "c").exists()
    # What passes is handed on as the parser hands it: a whole float is an int.
    checked = config_lib.check_values(dict(steps=2000.0, lr_d=1, recipe="best"))
    assert checked == dict(steps=2000, lr_d=1.0, recipe="best")
    assert type(checked["steps"]) is int and type(checked["lr_d"]) is float


PROGRAM = """
import sys
from gan_mnist import api
for seed in (0, 1):  # a loop of runs, as the notebook tour has
    api.train(checkpoint_dir="c%d" % seed, output_dir="o%d" % seed, seed=seed, steps=100000,
              data_dir=sys.argv[1], log_every=10, eval_every=0, checkpoint_every=100000)
    print("went on to the next run")
"""


def test_ctrl_c_in_api_train_saves_then_raises_keyboard_interrupt(tmp_path, mnist_dir):
    proc = subprocess.Popen([sys.executable, "-c", PROGRAM, mnist_dir], cwd=tmp_path,
                            env=dict(os.environ, PYTHONPATH=REPO), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_for_training(proc, tmp_path / "o0" / "log.csv")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "went on to the next run" not in out, (out, err[-2000:])
    assert "KeyboardInterrupt: stopped at step" in err, err[-2000:]
    step = int(err.split("KeyboardInterrupt: stopped at step ")[1].split()[0])
    assert step >= 30 and not (tmp_path / "c1").exists()
    with open(tmp_path / "c0" / "checkpoint") as f:
        assert says(f.readline(), "model.ckpt-%d" % step)


def test_a_bool_is_not_a_number_and_a_number_is_not_a_bool(tmp_path):
    """True == 1 and isinstance(True, int) in Python, but train.py cannot be typed a bool for a
    number or a number for a bool: api.train refuses both, before any folder is made."""
    for flags, sentence in [(dict(steps=True), "argument --steps: expected an integer, got True"),
                            (dict(lr_d=False), "argument --lr-d: expected a number, got False"),
                            (dict(spectral_norm=0), "argument --spectral-norm: expected True or "
                             "False, got 0"),
                            (dict(steps=100.5), "argument --steps: expected an integer, got "
                             "100.5")]:
        with pytest.raises(ValueError, match="^" + sentence + "$"):  # (were it taken: 1 step)
            api.train(str(tmp_path / "c"), str(tmp_path / "o"), **dict(flags, steps=1)
                      if "steps" not in flags else flags)
    assert not (tmp_path / "c").exists()
    assert config_lib.check_values(dict(spectral_norm=True, steps=100.0)) == dict(
        spectral_norm=True, steps=100)
    # NumPy's numbers are numbers (a sweep over np.arange, a value read from an array).
    import numpy as np

    checked = config_lib.check_values(dict(steps=np.int64(2000), lr_d=np.float32(0.5)))
    assert checked == dict(steps=2000, lr_d=0.5) and type(checked["steps"]) is int


def test_fresh_starts_over_a_folder_that_holds_another_model(tmp_path, mnist_dir):
    """Without fresh, another hidden size is refused (the folder holds a model); with
    fresh=True the old run is moved aside and the new model trains from step 0."""
    import json

    from gan_mnist.errors import GanError

    folder, out = str(tmp_path / "c"), str(tmp_path / "o")
    first = api.train(folder, out, arch="fc", hidden=32, steps=10, data_dir=mnist_dir)
    assert first.step == 10
    with pytest.raises(GanError, match="hidden=32 but you asked for hidden=16"):
        api.train(folder, out, arch="fc", hidden=16, steps=20, data_dir=mnist_dir)
    again = api.train(folder, out, arch="fc", hidden=16, steps=10, data_dir=mnist_dir,
                      fresh=True)
    assert again.step == 10
    with open(os.path.join(folder, "config.json")) as f:
        assert json.load(f)["hidden"] == 16
