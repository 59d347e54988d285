"""Sweeps that lose a trial's process, halt trials early, or are stopped by Ctrl-C, on a real
local Ray. Apart from tests/test_sweep.py so that the two processes of CI (-n 2 --dist loadfile)
share the sweep tests, the slowest of the suite.
"""
import csv
import json
import os
import re
import signal
import subprocess
import time

import pytest

from gan_mnist.files import process_alive
from gan_mnist.commands.sweep import main as sweep_main
from tests.conftest import exit_code_of
from tests.test_sweep import (_lock_owners, newest_checkpoint, ray_noise, run_sweep, runs_of,
                              sweep_command, trial_records)


def _kill_the_trial_once(out, name, driver, resumed, spare=()):
    """SIGKILL the worker of trial ``name`` (its checkpoint lock's owner, other than ``spare``)
    once the trial has a checkpoint and its train.log says it resumed ``resumed`` times; return
    the worker's pid and the newest checkpoint's step at the kill."""
    deadline = time.time() + 300
    while time.time() < deadline and driver.poll() is None:
        owners = [pid for pid in _lock_owners(out, name) if pid not in spare
                  and process_alive(pid)] if (out / name).exists() else []
        if ((out / name / "checkpoints" / "checkpoint").exists() and owners
                and len(runs_of(out, name)[1]) >= resumed):
            os.kill(owners[0], signal.SIGKILL)
            return owners[0], newest_checkpoint(out / name)
        time.sleep(0.1)
    driver.kill()
    pytest.fail("the trial never ran with a checkpoint: %s" % (driver.communicate(),))


def test_lost_processes_are_retried_failing_trials_are_not_and_the_same_command_resumes(
        tmp_path):
    """A trial's worker killed mid-run (out of memory, a lost machine) is started again from its
    newest checkpoint, at most --max-failures times; then the sweep says so and trial.json says
    failed (not running). A trial's own failure, at the start (a flag train.py refuses) or
    mid-run (a divergence), is reported once, recorded, and never retried within the sweep.
    The same command runs all three again, the killed one from its newest checkpoint."""
    pytest.importorskip("ray")
    out = tmp_path / "sweep"
    args = ["--set", "arch=fc", "--set", "lr-d=2e-4,-1,1e30", "--steps", "600",
            "--set", "eval-every=0", "--set", "checkpoint-every=100", "--max-failures", "1",
            "--rungs", "none"]
    killed, refused, wild = ("arch=fc,lr-d=%s,eval-every=0,checkpoint-every=100,seed=0" % lr
                             for lr in ("2e-4", "-1", "1e30"))
    driver = subprocess.Popen(sweep_command(out, *args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    first, seen_first = _kill_the_trial_once(out, killed, driver, resumed=0)
    _, seen = _kill_the_trial_once(out, killed, driver, resumed=1, spare={first})
    stdout, stderr = driver.communicate(timeout=120)
    assert driver.returncode == 1
    assert re.search(r"^retrying %s \(1 of 1 retries\): its process died \(The worker died "
                     r"unexpectedly while executing this task\)$" % re.escape(killed), stdout,
                     re.M), stdout
    assert stdout.count("retrying") == 1, stdout  # the failing trials are not retried
    assert "FAILED %s: its process died" % killed in stderr, stderr
    message = "argument --lr-d: must be greater than 0.0, got -1"
    assert "FAILED %s: error: %s" % (refused, message) in stderr, stderr
    assert re.search(r"FAILED %s: error: training diverged at step \d+" % re.escape(wild),
                     stderr), stderr
    assert stderr.count("FAILED") == 3, stderr
    assert not ray_noise(stdout, stderr)
    records = trial_records(out)
    assert records[killed]["status"] == "failed" and records[killed]["lost"] == 2
    assert "its process died" in records[killed]["error"]
    assert records[refused]["status"] == "failed" and message in records[refused]["error"]
    assert records[wild]["status"] == "failed" and "diverged" in records[wild]["error"]
    starts, resumed = runs_of(out, killed)
    assert starts == 2 and resumed[0] >= seen_first  # the retry resumed from its checkpoint
    assert [runs_of(out, name)[0] for name in (refused, wild)] == [1, 1]
    assert message in open(out / "results.md").read()
    # --report rewrites the results from the folders alone, Ray or not.
    os.remove(out / "results.csv")
    assert exit_code_of(sweep_main, "--out", out, "--report") == 0
    with open(out / "results.csv") as f:
        rows = {r["lr-d"]: r for r in csv.DictReader(f)}
    assert sorted(rows) == ["-1", "1e30", "2e-4"]
    assert all(r["status"] == "failed" and r["fid"] == "" for r in rows.values()), rows
    assert message in rows["-1"]["error"] and "diverged" in rows["1e30"]["error"]

    again = run_sweep(out, *args)
    assert again.returncode == 1  # the refused and the diverging trial fail again
    assert "3 trials in %s: 0 finished already, 3 to run" % out in again.stdout
    starts, resumed = runs_of(out, killed)
    assert starts == 3 and resumed[-1] >= seen
    assert trial_records(out)[killed]["status"] == "finished"
    assert [runs_of(out, name)[0] for name in (refused, wild)] == [2, 2]
    with open(out / "results.csv") as f:
        rows = {r["lr-d"]: r for r in csv.DictReader(f)}
    assert rows["2e-4"]["status"] == "finished" and float(rows["2e-4"]["fid"]) > 0
    assert rows["2e-4"]["step"] == "600" and rows["2e-4"]["arch"] == "fc"


def test_halving_stops_the_worse_trial_and_a_later_sweep_resumes_it(tmp_path):
    """Two trials, rungs at 100 and 300 of 900 steps: the one whose G barely learns (lr-g 1e-7)
    is halted at step 100 with its checkpoint; the other goes on to 900 and the full evaluation.
    The same sweep again runs nothing; without --halving it resumes the halted one from step
    100 to the full budget."""
    pytest.importorskip("ray")
    out = tmp_path / "sweep"
    base = ["--set", "arch=fc", "--steps", "900", "--set", "eval-every=0",
            "--set", "checkpoint-every=100", "--set", "lr-g=2e-4,1e-7"]
    first = run_sweep(out, *base, "--halving")
    assert first.returncode == 0, first.stderr
    assert not ray_noise(first.stdout, first.stderr)
    good = "arch=fc,eval-every=0,checkpoint-every=100,lr-g=2e-4,seed=0"
    slow = "arch=fc,eval-every=0,checkpoint-every=100,lr-g=1e-7,seed=0"
    records = trial_records(out)
    assert records[good]["status"] == "finished" and records[slow]["status"] == "halted", records
    assert sorted(records[good]["rungs"]) == ["100", "300"]
    assert records[slow]["halted_at"] == "100" and list(records[slow]["rungs"]) == ["100"]
    assert records[slow]["rungs"]["100"] > records[good]["rungs"]["100"]
    assert newest_checkpoint(out / slow) == 100 and runs_of(out, slow)[0] == 1
    assert re.search(r"^halted %s at step 100 \(quick FID " % re.escape(slow), first.stdout, re.M)
    assert "rung 1 of 3 (step 100): 1 of 2 trials go on" in first.stdout
    assert "rung 2 of 3 (step 300): 1 of 1 trials go on" in first.stdout
    assert json.load(open(out / good / "evaluation.json"))["step"] == 900
    assert not (out / slow / "evaluation.json").exists()
    with open(out / "results.csv") as f:
        rows = {r["trial"]: r for r in csv.DictReader(f)}
    assert rows[slow]["halted_at"] == "100" and rows[slow]["status"] == "halted"
    assert rows[slow]["rungs"] == "100:%.2f" % records[slow]["rungs"]["100"]
    assert rows[good]["halted_at"] == "" and rows[good]["rungs"].startswith("100:")
    assert "- %s: halted at step 100 (quick FID " % slow in open(out / "results.md").read()

    again = run_sweep(out, *base, "--halving")
    assert again.returncode == 0 and "1 finished already, 1 halted, 0 to run" in again.stdout

    full = run_sweep(out, *base)
    assert full.returncode == 0, full.stderr
    assert "2 trials in %s: 1 finished already, 1 to run" % out in full.stdout
    assert runs_of(out, slow) == (2, [100])
    assert trial_records(out)[slow]["status"] == "finished"
    assert json.load(open(out / slow / "evaluation.json"))["step"] == 900
    assert runs_of(out, good)[0] == 3  # rung 1, rung 2, the full budget; not run again


def test_ctrl_c_stops_every_trial_with_a_checkpoint_and_the_same_command_resumes(tmp_path):
    """Ctrl-C in a terminal signals the whole foreground process group: the driver and the
    trials stop within seconds with checkpoints saved, exit 130, trial.json says stopped; the
    same command then resumes each trial from its checkpoint and finishes."""
    pytest.importorskip("ray")
    out = tmp_path / "sweep"
    args = ["--set", "arch=fc", "--set", "lr-d=1e-4,2e-4", "--steps", "800",
            "--set", "eval-every=0", "--set", "checkpoint-every=100", "--rungs", "none"]
    driver = subprocess.Popen(sweep_command(out, *args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True,
                              env=dict(os.environ, PYTHONUNBUFFERED="1"))
    deadline = time.time() + 300
    while time.time() < deadline and driver.poll() is None:
        indexes = list(out.glob("*/checkpoints/checkpoint")) if out.exists() else []
        if len(indexes) == 2:
            break
        time.sleep(0.1)
    assert driver.poll() is None, driver.communicate()
    os.killpg(driver.pid, signal.SIGINT)
    stdout, stderr = driver.communicate(timeout=90)
    assert driver.returncode == 130, (stdout, stderr)
    assert "stopping: the running trials save a checkpoint" in stderr, (stdout, stderr)
    assert not ray_noise(stdout, stderr)
    records = trial_records(out)
    assert sorted(r["status"] for r in records.values()) == ["stopped", "stopped"], records
    saved = {name: newest_checkpoint(out / name) for name in records}
    assert all(0 < step < 800 for step in saved.values()), saved

    result = run_sweep(out, *args)
    assert result.returncode == 0, result.stderr
    for name, step in saved.items():
        starts, resumed = runs_of(out, name)
        assert starts == 2 and resumed == [step], (name, starts, resumed, step)
        assert trial_records(out)[name]["status"] == "finished"
