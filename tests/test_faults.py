"""Fault injection: kills at random moments, damaged checkpoints, divergence, full disks, a second
trainer, broken mirrors. Each checks the exit, the message, and that good files are untouched."""
import gzip
import hashlib
import http.server
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from gan_mnist.errors import GanError
from gan_mnist.training import checkpoints, config as config_lib, trainer
from gan_mnist.commands import train as train_command
from gan_mnist.core import data
from gan_mnist.tf_compat import tf
from tests.conftest import REPO, exit_code_of, says, wait_for_training

TRAIN = os.path.join(REPO, "scripts", "train.py")


def checkpoint_values(path):
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(path)}


def digest(folder, skip=("config.json", "lock")):
    result = {}
    for name in sorted(os.listdir(folder)):
        full = os.path.join(folder, name)
        if os.path.isfile(full) and name not in skip:
            with open(full, "rb") as f:
                result[name] = hashlib.sha256(f.read()).hexdigest()
    return result


def train_args(tmp_path, mnist_dir, *extra):
    return ["--data-dir", mnist_dir, "--checkpoint-dir", str(tmp_path / "c"),
            "--output-dir", str(tmp_path / "o"), "--eval-every", "0"] + list(extra)


def test_sigkill_at_random_moments_never_loses_a_complete_checkpoint(tmp_path, mnist_dir):
    """5 real training processes, each killed with SIGKILL after a random delay (during start-up,
    training, grid writing or a save). After every kill the newest published checkpoint must be
    complete, the next process must resume from exactly it, and the run that finally finishes
    must hold the weights of a run that was never interrupted."""
    rng = random.Random(20261124)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    folder = str(tmp_path / "c")
    published = 0
    for attempt in range(5):
        args = train_args(tmp_path, mnist_dir, "--steps", str(published + 1500),
                          "--checkpoint-every", "20", "--sample-every", "20", "--log-every", "10")
        log = tmp_path / "o" / "log.csv"
        started = time.time()
        proc = subprocess.Popen([sys.executable, TRAIN] + args, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, env=env)
        if attempt % 4 == 0:  # during start-up: imports, data loading, restoring
            time.sleep(rng.uniform(0.5, 3.0))
        else:  # once the loop runs (it rewrites log.csv first): mid-step, mid-grid, mid-save
            while proc.poll() is None and not (log.exists() and log.stat().st_mtime > started):
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 2.5))
        proc.kill()
        out, _ = proc.communicate(timeout=60)
        if "resumed from step" in out:
            assert says(out, "resumed from step %d" % published), (attempt, out)
        newest = checkpoints.latest(folder)
        if newest is None:
            assert published == 0
            continue
        values = checkpoint_values(newest)  # every tensor of the newest one reads back
        assert values["global_step"] == checkpoints.step_in_path(newest)
        assert checkpoints.step_in_path(newest) >= published
        published = checkpoints.step_in_path(newest)
    assert published > 0, "no kill happened after the first checkpoint"

    target = str(published + 40)
    result = subprocess.run([sys.executable, TRAIN] + train_args(tmp_path, mnist_dir,
                            "--steps", target, "--checkpoint-every", "20"),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert says(result.stdout, "resumed from step %d" % published)
    straight = tmp_path / "straight"  # in this process: only its weights matter
    assert exit_code_of(train_command.main, *train_args(straight, mnist_dir, "--steps", target,
                                                          "--checkpoint-every", "100000")) == 0
    killed = checkpoint_values(checkpoints.latest(folder))
    uninterrupted = checkpoint_values(checkpoints.latest(str(straight / "c")))
    assert sorted(killed) == sorted(uninterrupted)
    for name in killed:
        np.testing.assert_array_equal(killed[name], uninterrupted[name], err_msg=name)


@pytest.fixture
def trained(run_config):
    """Checkpoints at steps 20, 40 and 60 of a real run."""
    config = run_config(steps=60, checkpoint_every=20, log_every=10)
    assert trainer.train(config) == 0
    return config


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty_index"])
def test_damaged_newest_checkpoint_falls_back_and_is_kept(trained, capsys, damage):
    folder = trained.checkpoint_dir
    newest = os.path.join(folder, "model.ckpt-60")
    target = newest + (".index" if damage == "empty_index" else ".data-00000-of-00001")
    raw = open(target, "rb").read()
    if damage == "flip":
        raw = raw[:1000] + bytes(b ^ 0xFF for b in raw[1000:1100]) + raw[1100:]
    elif damage == "truncate":
        raw = raw[:len(raw) // 2]
    else:
        raw = b""
    open(target, "wb").write(raw)
    capsys.readouterr()
    assert trainer.train(config_lib.resolve(dict(vars(trained), steps=80))) == 0
    captured = capsys.readouterr()
    warnings = [l for l in captured.err.splitlines() if l.startswith("warning:")]
    assert len(warnings) == 1 and says(warnings[0], "model.ckpt-60"), captured.err
    assert says(captured.out, "resumed from step 40")
    assert os.path.exists(target + ".damaged")  # renamed, not deleted
    assert open(target + ".damaged", "rb").read() == raw
    assert checkpoints.step_in_path(checkpoints.latest(folder)) == 80


def test_divergence_stops_with_the_step_and_saves_nothing(trained):
    folder = trained.checkpoint_dir
    before = digest(folder)
    wild = config_lib.resolve(dict(vars(trained), steps=200, lr_d=1e30, lr_g=1e30))
    with pytest.raises(GanError) as error:
        trainer.train(wild)
    message = str(error.value)
    assert message.startswith("training diverged at step ") and "NaN or Inf" in message
    assert "the last good checkpoint (step 60) is intact" in message
    step = int(message.split()[4])
    assert 60 < step < 200
    assert digest(folder) == before
    assert not os.path.exists(os.path.join(folder, "lock"))


def test_divergence_rollback_restores_halves_and_finally_gives_up(trained, capsys):
    wild = config_lib.resolve(dict(vars(trained), steps=200, lr_d=1e30, lr_g=1e30,
                                   on_nan="rollback"))
    before = digest(trained.checkpoint_dir)
    capsys.readouterr()
    with pytest.raises(GanError, match="again after 5 rollbacks; giving up"):
        trainer.train(wild)
    out = capsys.readouterr().out
    assert out.count("rolling back (the last good checkpoint (step 60))") == 5
    assert says(out, "resumed from step 60") == 6
    assert "lr_d=3.125e+28 lr_g=3.125e+28" in out  # halved five times
    assert digest(trained.checkpoint_dir) == before


def test_failed_save_leaves_earlier_checkpoints_intact(trained, monkeypatch):
    """A full disk, simulated by a writer that fails half-way through writing."""
    original = tf.train.Saver.save

    def failing_save(self, sess, save_path, global_step=None, **kwargs):
        if global_step == 80:
            with open("%s-%d.data-00000-of-00001" % (save_path, global_step), "wb") as f:
                f.write(b"partial")
            raise tf.errors.ResourceExhaustedError(None, None, "No space left on device")
        return original(self, sess, save_path, global_step=global_step, **kwargs)

    monkeypatch.setattr(tf.train.Saver, "save", failing_save)
    folder = trained.checkpoint_dir
    before = digest(folder)
    with pytest.raises(GanError) as error:
        trainer.train(config_lib.resolve(dict(vars(trained), steps=100)))
    assert str(error.value) == (
        "could not save the checkpoint of step 80 in %s (No space left on device); the "
        "checkpoint of step 60 is intact" % folder)
    assert digest(folder) == before  # the partial file is gone, the rest unchanged


def test_really_full_disk(run_config, tmp_path):
    """The same on a real 4 MiB tmpfs: room for one checkpoint (2.6 MB) but not two."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        config = run_config(steps=60, checkpoint_every=20, checkpoint_dir=str(mount))
        with pytest.raises(GanError) as error:
            trainer.train(config)
        assert says(str(error.value), "could not save the checkpoint of step 40")
        assert "the checkpoint of step 20 is intact" in str(error.value)
        assert checkpoints.step_in_path(checkpoints.latest(str(mount))) == 20
        assert checkpoint_values(checkpoints.latest(str(mount)))["global_step"] == 20
        assert not [n for n in os.listdir(mount) if re.search(r"ckpt-40(?!\d)", n)]  # _temp too
    finally:
        subprocess.run(["umount", str(mount)])


def test_atomic_write_replaces_whole_files_and_keeps_the_old_one_on_failure(tmp_path):
    """Every small file we write (config.json, grids, results) goes through atomic_write."""
    from gan_mnist.files import atomic_write
    path = str(tmp_path / "config.json")
    with atomic_write(path) as f:
        f.write("old")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as f:
            f.write("half of the new")
            assert open(path).read() == "old"       # nothing visible before the block ends
            raise RuntimeError("stopped half-way")
    assert open(path).read() == "old"
    assert os.listdir(tmp_path) == ["config.json"]    # no temporary file left behind
    with atomic_write(path, "wb") as f:
        np.save(f, np.arange(3, dtype=np.uint8))
    assert np.load(path).tolist() == [0, 1, 2]


def test_second_trainer_on_the_same_folder_is_refused(tmp_path, mnist_dir, capsys):
    """A trainer in a process of its own holds the folder; a second one (train.py's main in
    this process, as the script calls it) is refused with one line."""
    from gan_mnist.commands import train

    args = train_args(tmp_path, mnist_dir, "--log-every", "10")
    first = subprocess.Popen([sys.executable, TRAIN, "--steps", "100000"] + args,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lock = tmp_path / "c" / "lock"
        deadline = time.time() + 60
        while not lock.exists() and time.time() < deadline:
            time.sleep(0.1)
        capsys.readouterr()
        assert exit_code_of(train.main, "--steps", "100", *args) == 1
        errors = [l for l in capsys.readouterr().err.splitlines() if l.startswith("error:")]
        assert errors == ["error: another trainer (process %d) is using %s; stop it first or "
                          "choose another --checkpoint-dir" % (first.pid, tmp_path / "c")]
    finally:
        wait_for_training(first, tmp_path / "o" / "log.csv")  # its stop is then a clean one
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
    assert first.returncode == 128 + signal.SIGTERM
    assert not lock.exists()  # released on a clean stop


def test_stale_lock_of_a_dead_process_is_taken_over(run_config, capsys):
    config = run_config(steps=10)
    os.makedirs(config.checkpoint_dir)
    dead = subprocess.Popen(["true"])
    dead.wait()
    with open(os.path.join(config.checkpoint_dir, "lock"), "w") as f:
        f.write("%d\n" % dead.pid)
    assert trainer.train(config) == 0
    assert says(capsys.readouterr().err, "taking over the lock of process %d" % dead.pid)


def test_truncated_training_file_is_one_line(tmp_path, mnist_dir, capsys):
    """In this process (train.py's refusals run as processes in test_cli and test_config)."""
    broken = tmp_path / "data"
    broken.mkdir()
    for stem in data.MNIST_FILES:
        shutil.copy(os.path.join(mnist_dir, stem + ".gz"), broken)
    path = broken / "train-images-idx3-ubyte.gz"
    cut = path.read_bytes()[:100000]
    path.write_bytes(cut)
    assert exit_code_of(train_command.main, "--steps", "10", "--data-dir", broken,
                        "--checkpoint-dir", tmp_path / "c", "--output-dir", tmp_path / "o") == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: %s is truncated (its compressed data ends early): delete it and run again to "
        "download it, or copy an intact train-images-idx3-ubyte.gz into %s" % (path, broken)]
    assert path.read_bytes() == cut and len(os.listdir(broken)) == 4  # untouched, nothing added


# ---------------------------------------------------------------- broken mirrors

STEM = "train-labels-idx1-ubyte"


class BrokenMirror(http.server.SimpleHTTPRequestHandler):
    """/good/ serves the real file; /reset/ cuts the connection half-way; /hang/ never answers
    in time; /wrong/ serves other bytes."""

    def do_GET(self):
        kind = self.path.strip("/").split("/")[0]
        with open(os.path.join(self.server.mnist_dir, STEM + ".gz"), "rb") as f:
            body = f.read()
        if kind == "hang":
            time.sleep(3)
        if kind == "wrong":
            body = gzip.compress(b"not the MNIST labels")
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "reset":
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(mnist_dir):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BrokenMirror)
    httpd.mnist_dir = mnist_dir
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d/" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("broken", ["reset", "hang", "wrong"])
def test_broken_mirror_falls_through_to_the_next(mirror, tmp_path, broken):
    target = tmp_path / "data"
    path = data.download(STEM, str(target), mirrors=[mirror + broken + "/", mirror + "good/"],
                         timeout=1)
    assert os.listdir(target) == [STEM + ".gz"]
    assert data.load_file(str(target), STEM, download_missing=False).shape == (60000,)
    assert path.endswith(STEM + ".gz")


def test_all_mirrors_broken_lists_each_and_leaves_nothing(mirror, tmp_path):
    target = tmp_path / "data"
    with pytest.raises(GanError) as error:
        data.download(STEM, str(target), timeout=1,
                      mirrors=[mirror + "reset/", mirror + "hang/", mirror + "wrong/"])
    message = str(error.value)
    for kind in ("reset", "hang", "wrong"):
        assert mirror + kind + "/" + STEM + ".gz" in message
    assert "connection closed after" in message and "timed out" in message
    assert "wrong content" in message and "by hand" in message
    assert not target.exists()  # no partial file, and the folder this call made is gone


def test_a_lock_held_by_another_users_live_process_is_refused(tmp_path):
    """pid 1 is alive but belongs to root: a trainer run by another user cannot signal it
    (PermissionError) and must still treat the folder as taken. The check runs as user nobody,
    in the system's Python (the virtual environment may sit where nobody cannot read);
    the package's top level needs nothing but the standard library."""
    import pwd

    system_python = "/usr/bin/python3"
    if os.getuid() != 0 or not os.path.exists(system_python):
        pytest.skip("needs root and %s to run a process as another user" % system_python)
    nobody = pwd.getpwnam("nobody")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from gan_mnist import files\n"
            "print(files.process_alive(1), files.process_alive(%d))" % 2 ** 22)
    result = subprocess.run([system_python, "-c", code, REPO], cwd="/", capture_output=True,
                            text=True, timeout=120,
                            preexec_fn=lambda: (os.setgid(nobody.pw_gid),
                                                os.setuid(nobody.pw_uid)),
                            env={"PATH": os.environ.get("PATH", ""), "HOME": "/"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False"]  # 2**22: above Linux's largest pid


def test_an_empty_lock_file_left_by_a_kill_is_taken_over(run_config, capsys):
    """Killed between creating the lock and writing its pid: the file is empty."""
    config = run_config(steps=10)
    os.makedirs(config.checkpoint_dir)
    open(os.path.join(config.checkpoint_dir, "lock"), "w").close()
    assert trainer.train(config) == 0
    assert says(capsys.readouterr().err, "taking over the lock of process unknown")
    assert not os.path.exists(os.path.join(config.checkpoint_dir, "lock"))


def test_a_lock_another_process_took_over_is_not_removed_by_us(tmp_path):
    from gan_mnist.training.run_folder import Lock

    other = subprocess.Popen(["sleep", "60"])
    try:
        with Lock(str(tmp_path)):
            (tmp_path / "lock").write_text("%d\n" % other.pid)  # taken over, wrongly or not
        assert (tmp_path / "lock").read_text() == "%d\n" % other.pid
    finally:
        other.kill()
        other.wait()


def test_the_lock_of_a_process_killed_with_sigkill_is_taken_and_released(tmp_path):
    from gan_mnist.training.run_folder import Lock

    killed = subprocess.Popen(["sleep", "60"])
    (tmp_path / "lock").write_text("%d\n" % killed.pid)
    killed.kill()
    killed.wait()
    said = []
    with Lock(str(tmp_path), log=said.append):
        assert (tmp_path / "lock").read_text() == "%d\n" % os.getpid()
    assert said == ["taking over the lock of process %d, which is no longer running"
                    % killed.pid]
    assert not (tmp_path / "lock").exists()
