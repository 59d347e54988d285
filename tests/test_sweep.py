"""scripts/sweep.py: grids of train.py flags x seeds on a real local Ray, resumable, with a report.

The sweep tests start real Ray clusters and train real (tiny) trials; they are skipped only where
Ray is not installed (CI installs it: requirements-sweep.txt).
"""
import csv
from fractions import Fraction
import json
import os
import re
import subprocess
import sys
import time

import pytest

from gan_mnist.errors import GanError
from gan_mnist.files import process_alive
from gan_mnist.sweeps import halving, grid as sweep, rank, report as sweep_report, records as trials
from gan_mnist.sweeps import records as records_lib, trial as trial_lib
from gan_mnist.training import config as config_lib
from gan_mnist.commands.sweep import main as sweep_main
from tests.conftest import REPO, exit_code_of

FLAGS = config_lib.flags()  # from the Config field declarations


def test_sets_are_parsed_and_bad_ones_refused_with_one_line():
    assert sweep.parse_sets(["arch=fc,fast", "--lr_d=1e-4", "spectral-norm=on,off"], FLAGS) == [
        ("arch", ["fc", "fast"]), ("lr-d", ["1e-4"]), ("spectral-norm", ["on", "off"])]
    for spec, message in [("lr=1", "train.py has no flag --lr"),
                          ("seed=1,2", "use --seeds"),
                          ("checkpoint-dir=x", "each trial has its own"),
                          ("arch", "expected KEY=V1,V2"),
                          ("arch=fc,", "expected KEY=V1,V2"),
                          ("spectral-norm=maybe", "on/off switch")]:
        with pytest.raises(GanError, match=message):
            sweep.parse_sets([spec], FLAGS)
    with pytest.raises(GanError, match="appears twice"):
        sweep.parse_sets(["arch=fc", "arch=fast"], FLAGS)


def test_grid_names_and_train_flags_of_each_trial():
    sets = sweep.parse_sets(["arch=fc,fast", "spectral-norm=on,off"], FLAGS)
    trials = sweep.grid(sets, [0, 1])
    assert len(trials) == 8
    names = [sweep.trial_name(settings, seed) for settings, seed in trials]
    assert names[0] == "arch=fc,spectral-norm=on,seed=0" and len(set(names)) == 8
    on, off = trials[0][0], trials[2][0]
    # The api's values, read from the --set text as train.py reads it.
    values = trial_lib.train_values(on, 0, "/s/t", {"steps": 50})
    assert values == dict(arch="fc", spectral_norm=True, seed=0, checkpoint_dir="/s/t/checkpoints",
                          output_dir="/s/t/output", steps=50)
    assert trial_lib.command_line(values) == (
        "train.py --arch fc --spectral-norm --seed 0 --checkpoint-dir /s/t/checkpoints "
        "--output-dir /s/t/output --steps 50")
    # off is False, so it turns off what a recipe (best) turns on
    off_values = trial_lib.train_values(off, 0, "/s/t", {"steps": 50})
    assert off_values["spectral_norm"] is False
    assert "--no-spectral-norm" in trial_lib.command_line(off_values)
    # A --minutes trial resumed after a crash gets only what is left of its time.
    values = trial_lib.train_values(off, 1, "/s/t", {"minutes": 2}, trained_seconds=30)
    assert values["minutes"] == 1.5 and "steps" not in values
    # Numbers and choices are checked as train.py checks them.
    assert trial_lib.train_values((("lr-d", "1e-3"), ("loss", "hinge")), 0, "/s/t",
                                  {"steps": 5})["lr_d"] == 1e-3
    with pytest.raises(ValueError, match="^argument --lr-d: must be greater than 0.0, got -1$"):
        trial_lib.train_values((("lr-d", "-1"),), 0, "/s/t", {"steps": 5})
    with pytest.raises(ValueError, match="^argument --loss: invalid choice: 'wgan'"):
        trial_lib.train_values((("loss", "wgan"),), 0, "/s/t", {"steps": 5})


def sweep_command(out, *args):
    return [sys.executable, os.path.join(REPO, "scripts", "sweep.py"), "--out", str(out),
            "--eval-n", "100", *args]


def run_sweep(out, *args, timeout=600, env=()):
    return subprocess.run(sweep_command(out, *args), capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, PYTHONUNBUFFERED="1", **dict(env)))


def trial_records(out):
    return {name: trials.read_trial(os.path.join(out, name)) for name in os.listdir(out)
            if os.path.exists(os.path.join(out, name, trials.TRIAL_FILE))}


def runs_of(out, name):
    """How many times the trial was started, and the step each later start resumed from (a
    start may resume again within itself, after measuring a rung: not counted)."""
    with open(os.path.join(out, name, trial_lib.LOG_FILE)) as f:
        starts = f.read().split("=== ")[1:]
    resumed = [int(start.split("resumed from step ")[1].split()[0]) for start in starts[1:]
               if "resumed from step " in start]
    return len(starts), resumed


def newest_checkpoint(trial):
    """The step the trial's checkpoint index names, as the trainer would resume it."""
    text = open(os.path.join(trial, "checkpoints", "checkpoint")).read()
    return int(re.search(r'^model_checkpoint_path: "model\.ckpt-(\d+)"', text, re.M).group(1))


def _lock_owners(out, *names):
    """The pids the checkpoint locks of the trials ``names`` (default: every trial) name."""
    owners = []
    for name in names or os.listdir(out):
        lock = os.path.join(out, name, "checkpoints", "lock")
        try:
            owners.append(int(open(lock).read().split()[0]))
        except (OSError, ValueError, IndexError):
            pass
    return owners


def test_a_sweep_survives_a_killed_driver_and_finishes_only_what_is_missing(tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "sweep"
    # One trial at a time (2 CPUs each), so the kill finds one trial finished and one running.
    args = ["--set", "arch=fc,mlp256", "--seeds", "0", "--steps", "1500", "--cpus-per-trial",
            "2", "--set", "checkpoint-every=100", "--set", "eval-every=0", "--rungs", "none"]
    driver = subprocess.Popen(sweep_command(out, *args), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    checkpointed = {}
    while time.time() < deadline:
        records = trial_records(out) if out.exists() else {}
        finished = [n for n, r in records.items() if r and r["status"] == "finished"]
        checkpointed = {n: newest_checkpoint(out / n)
                        for n, r in records.items() if r and r["status"] == "running"
                        and (out / n / "checkpoints" / "checkpoint").exists()}
        if finished and checkpointed:
            break
        time.sleep(0.5)
    else:
        driver.kill()
        pytest.fail("the sweep never had a finished and a checkpointed trial at once")
    driver.kill()  # SIGKILL: no chance to clean up
    driver.wait()
    deadline = time.time() + 60  # Ray takes the driver's workers down with it
    while any(process_alive(pid) for pid in _lock_owners(out)) and time.time() < deadline:
        time.sleep(0.5)
    # A trial.json that still says "running" (nobody was left to say otherwise; a trial may also
    # have finished while Ray took its worker down): the report says "lost".
    stale = [name for name, r in trial_records(out).items() if r["status"] == "running"]
    assert exit_code_of(sweep_main, "--out", out, "--report") == 0
    with open(out / "results.csv") as f:
        states = {r["trial"]: (r["status"], r["error"]) for r in csv.DictReader(f)}
    assert "running" not in {status for status, _ in states.values()}, states
    for name in stale:
        assert states[name] == ("lost", "its process is gone; run the sweep again to resume it")

    result = run_sweep(out, *args)
    assert result.returncode == 0, result.stderr
    assert "2 trials in %s: %d finished already" % (out, len(finished)) in result.stdout
    records = trial_records(out)
    assert len(records) == 2 and all(r["status"] == "finished" for r in records.values())
    for name in records:
        starts, resumed = runs_of(out, name)
        if name in finished:
            assert (starts, resumed) == (1, []), name  # not run again
        elif name in checkpointed:  # from its newest checkpoint (or a later one saved while
            assert starts == 2 and resumed, name  # Ray took the worker down)
            assert resumed[0] >= max(checkpointed[name], 100), (name, resumed, checkpointed)
        evaluation = json.load(open(out / name / "evaluation.json"))
        assert evaluation["step"] == 1500 and evaluation["n"] == 100
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and {r["arch"] for r in rows} == {"fc", "mlp256"}
    assert {r["seed"] for r in rows} == {"0"}
    assert all(float(r["fid"]) > 0 and r["status"] == "finished" for r in rows)
    table = open(out / "results.md").read()
    assert "| arch=fc | 0 |" in table and "| arch=mlp256 | 0 |" in table
    assert "Same in every trial: checkpoint-every=100 eval-every=0." in table
    assert (out / "fid.png").stat().st_size > 1000

    again = run_sweep(out, *args)  # everything finished: nothing runs, not even Ray
    assert again.returncode == 0 and "2 finished already, 0 to run" in again.stdout
    assert "Ray:" not in again.stdout


OUR_LINES = (r"\d+ trials in ", r"Ray: ", r"started \S+ on node ", r"finished \S+ \(",
             r"retrying \S+ \(", r"results: ", r"FAILED \S+: ", r"\d+ trial\(s\) failed",
             r"halted \S+ at ", r"rung \d+ of \d+ ", r"\S+: quick FID ",
             r"stopping: the running trials", r"interrupted$",
             r"(step \d+|[\d.]+ min): (Spearman|too few|the winner)", r"warning: the first rung ")


def ray_noise(*texts):
    """Lines that are not the sweep's own (Ray's messages belong in OUT/ray.log)."""
    return [line for text in texts for line in text.splitlines()
            if not any(re.match(p, line) for p in OUR_LINES)]


def test_halving_rungs_and_who_goes_on():
    steps = lambda budget, *fractions: [r["steps"] for r in halving.rungs(  # noqa: E731
        {"steps": budget}, *fractions)]
    assert steps(900) == [100, 300] and steps(5400) == [600, 1800]
    assert steps(10) == [2, 4] and steps(2) == [1]  # rungs that round to one step are one
    assert steps(900, (Fraction(1, 6), Fraction(1, 2))) == [150, 450]
    minutes = halving.rungs({"minutes": 2.25})  # fractions of the time budget
    assert [r["minutes"] for r in minutes] == pytest.approx([0.25, 0.75])
    assert [halving.key(r) for r in minutes] == ["0.25min", "0.75min"]
    assert halving.key({"steps": 100}) == "100"
    assert halving.describe("0.25min") == "0.25 min" and halving.describe("100") == "step 100"
    assert halving.rungs({"minutes": 2}, ()) == []  # --rungs none
    assert [halving.keep(n) for n in (0, 1, 2, 3, 4, 16, 6)] == [0, 1, 1, 1, 2, 6, 2]
    assert [halving.keep(n, Fraction(1, 2)) for n in (1, 3, 16)] == [1, 2, 8]
    fids = {"a": 30.0, "b": 10.0, "c": 20.0, "d": 10.0, "e": 90.0}
    assert halving.survivors(fids) == ["b", "d"]  # the best third, rounded up; ties by name
    assert halving.survivors(fids, Fraction(1, 2)) == ["b", "d", "c"]


def _hand_made_sweep(out, trials, rung_keys=("100", "300"), budget=None):
    """Trial folders as a sweep leaves them: ``trials`` maps a learning rate to (the quick FIDs
    at ``rung_keys``, the final FID or None for a trial halted or unfinished)."""
    for lr, (rung_fids, fid) in trials.items():
        folder = out / sweep.trial_name((("lr-d", lr),), 0)
        os.makedirs(folder)
        rungs = {k: v for k, v in zip(rung_keys, rung_fids) if v is not None}
        records_lib.write_trial(str(folder), dict(
            settings={"lr-d": lr}, seed=0, budget=budget or {"steps": 900}, rungs=rungs,
            status="finished" if fid else "halted", trained_seconds=60.0,
            **({} if fid else {"halted_at": list(rungs)[-1]})))
        if fid:
            generated = dict(inception_score=9.0, fid=fid, modes_covered=10, precision=0.7,
                             recall=0.8)
            json.dump(dict(step=900, n=100, generated=generated),
                      open(folder / "evaluation.json", "w"))


def test_the_report_says_how_well_each_rung_ranks_the_finished_trials(tmp_path):
    """Five trials that reached the full budget, measured at two rungs. At step 100 the quick
    FIDs rank them 2,1,3,5,4 where the final FIDs rank them 1..5: Spearman
    1 - 6 * (1+1+0+1+1) / (5 * 24) = 0.8, and the winner (lr-d=1, final FID 10) has the second
    quick FID, so halving there (keeping 2 of 5) keeps it. At step 300 they rank 5,4,3,2,1:
    Spearman -1, the winner is 5th of 5 and would be halted; a sixth trial, halted at step 100,
    counts among those measured there but not in the correlations."""
    out = tmp_path / "sweep"
    _hand_made_sweep(out, {"1": ((21.0, 90.0), 10.0), "2": ((20.0, 80.0), 20.0),
                           "3": ((30.0, 70.0), 30.0), "4": ((50.0, 60.0), 40.0),
                           "5": ((40.0, 50.0), 50.0), "6": ((99.0, None), None)})
    rows = sweep_report.collect(str(out))
    by_rung = {e["rung"]: e for e in rank.rung_ranking(rows)}
    assert by_rung["100"]["rho"] == pytest.approx(0.8) and by_rung["100"]["trials"] == 5
    assert by_rung["100"]["winner"] == "lr-d=1,seed=0" and by_rung["100"]["winner_rank"] == 2
    assert by_rung["100"]["measured"] == 6 and by_rung["100"]["kept"] == 2
    assert by_rung["100"]["keeps_winner"] is True
    assert by_rung["300"]["rho"] == pytest.approx(-1.0) and by_rung["300"]["winner_rank"] == 5
    assert by_rung["300"]["keeps_winner"] is False
    lines = sweep_report.rank_lines(rows)
    assert lines == [
        "step 100: Spearman 0.80 over 5 finished trials; halving here would have kept the winner "
        "(lr-d=1,seed=0, quick FID rank 2 of 6, 2 kept).",
        "step 300: Spearman -1.00 over 5 finished trials; halving here would have HALTED the "
        "winner (lr-d=1,seed=0, quick FID rank 5 of 5, 2 kept)."]
    sweep_report.write(str(out))
    table = open(out / "results.md").read()
    assert "| step 100 | 5 | 0.80 | 2 of 6 | 2 | yes |" in table
    assert "| step 300 | 5 | -1.00 | 5 of 5 | 2 | no |" in table
    assert "warning" not in table  # the first rung ranks well
    assert "- lr-d=6,seed=0: halted at step 100 (quick FID 99.00)" in table


def test_the_report_warns_when_the_first_rung_would_halt_the_winner(tmp_path):
    """Time rungs: at 0.25 min the quick FIDs rank three finished trials backwards."""
    out = tmp_path / "sweep"
    _hand_made_sweep(out, {"1": ((30.0,), 10.0), "2": ((20.0,), 20.0), "3": ((10.0,), 30.0)},
                     rung_keys=("0.25min",), budget={"minutes": 2.25})
    lines = sweep_report.rank_lines(sweep_report.collect(str(out)))
    assert lines[0].startswith("0.25 min: Spearman -1.00 over 3 finished trials; halving here "
                               "would have HALTED the winner")
    assert lines[1] == ("warning: the first rung (0.25 min) ranks these trials loosely (Spearman "
                        "-1.00): --halving may stop the best setting here; put the first rung "
                        "later (--rungs).")
    sweep_report.write(str(out))
    assert lines[1] in open(out / "results.md").read()
    # Two finished trials say nothing about a ranking: no correlation, and no warning from it.
    out2 = tmp_path / "two"
    _hand_made_sweep(out2, {"1": ((10.0,), 10.0), "2": ((20.0,), 20.0)})
    (entry,) = rank.rung_ranking(sweep_report.collect(str(out2)))
    assert entry["rho"] is None and entry["keeps_winner"] is True
    assert rank.warnings([entry]) == []


def test_early_stopping_replayed_on_a_full_sweeps_records(tmp_path):
    """benchmarks/optuna_pruners.py on six hand-made trials, measured at steps 2 and 6 of 18
    (1/9 and 1/3), whose quick FIDs rank them 1..6 at both rungs while the final FIDs make the
    4th the winner. --halving keeps trials 1 and 2 at step 2, then trial 1: 6/9 + 2*2/9 + 2/3
    of a budget, 0.296 of the full sweep's, and its winner ranks 4th. Optuna's asynchronous
    SuccessiveHalvingPruner, asked in the grid's order, promotes a trial only while it is the
    best so far at the rung (fewer than 6 values there): trial 1 alone goes on, the others stop
    at step 2 (1 + 5 * 2/18 = 0.259)."""
    pytest.importorskip("optuna")
    from benchmarks import optuna_pruners

    out = tmp_path / "sweep"
    _hand_made_sweep(out, {str(i): ((10.0 * i, 10.0 * i), final) for i, final in
                           zip(range(1, 7), (40.0, 30.0, 20.0, 10.0, 50.0, 60.0))},
                     rung_keys=("2", "6"), budget={"steps": 18})
    rows = optuna_pruners.finished(str(out))
    assert optuna_pruners.synchronous(rows, [Fraction(1, 9), Fraction(1, 3)]) == dict(
        full_budget=1, winner="lr-d=1,seed=0", fid=40.0, rank=4, training=0.296)
    assert optuna_pruners.synchronous(rows, [Fraction(1, 3)]) == dict(
        full_budget=2, winner="lr-d=2,seed=0", fid=30.0, rank=3, training=0.556)
    import optuna

    asha = optuna.pruners.SuccessiveHalvingPruner(min_resource=2, reduction_factor=3)
    assert optuna_pruners.optuna_pruner(rows, asha) == dict(
        full_budget=1, winner="lr-d=1,seed=0", fid=40.0, rank=4, training=0.259)
    printed = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks",
                                                           "optuna_pruners.py"), str(out)],
                             capture_output=True, text=True, check=True).stdout
    printed = " ".join(printed.split())
    assert "--halving --rungs 1/9,1/3 1 of 6 trials to the full budget, 30% of the training; " \
           "best lr-d=1,seed=0 (FID 40.00), rank 4 in the full sweep" in printed
    assert "optuna HyperbandPruner" in printed


def test_a_trials_minutes_count_only_its_training_steps(tmp_path):
    """The heartbeat that spends a --minutes budget reads the trainer's loop clock: time spent
    outside the step loop (TensorFlow's start-up, the graph, k-means, a rung's quick FID) is
    not counted, time inside it is."""
    from gan_mnist.sweeps.trial import _Heartbeat
    from gan_mnist.training.trainer import LOOP_CLOCK

    record = dict(trained_seconds=10.0)
    with _Heartbeat(str(tmp_path), record):
        time.sleep(0.3)  # building, loading: not training
    assert record["trained_seconds"] == 10.0
    assert trials.read_trial(str(tmp_path))["trained_seconds"] == 10.0
    with _Heartbeat(str(tmp_path), record):
        with LOOP_CLOCK:  # what the trainer's step loop does
            time.sleep(0.3)
        time.sleep(1.0)
    assert 10.3 <= record["trained_seconds"] < 11.0  # the 0.3 s inside, not the 1 s after


def test_without_ray_the_sweep_says_how_to_install_it_and_makes_nothing(tmp_path):
    """scripts/sweep.py where `import ray` fails (a ray.py that raises ImportError comes first
    on PYTHONPATH): one line, exit status 1, and neither --out nor a trial folder made."""
    (tmp_path / "no_ray").mkdir()
    (tmp_path / "no_ray" / "ray.py").write_text("raise ImportError('No module named ray')\n")
    out = tmp_path / "deep" / "s"
    result = run_sweep(out, "--set", "arch=fc,mlp256", "--steps", "10", timeout=120,
                       env={"PYTHONPATH": str(tmp_path / "no_ray")})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: sweeps run on Ray, which is not installed; install it with pip install "
        "'ray>=2.9' (or pip install .[sweep])"]
    assert result.stdout == ""  # not even "2 trials in ...: 2 to run"
    assert not (tmp_path / "deep").exists()


def test_a_cluster_that_does_not_answer_is_refused_at_once_and_nothing_is_made(tmp_path):
    """--address where nothing listens: Ray alone retries for more than ten minutes, saying
    nothing. The sweep tries the port first: one line on stderr, exit status 1 within a minute
    (the subprocess timeout), no --out made, and an --out that existed left as it was. The same
    for --address auto when Ray's session file names a head that is gone."""
    pytest.importorskip("ray")
    out = tmp_path / "s"
    result = run_sweep(out, "--set", "arch=fc,mlp256", "--steps", "10", "--address",
                       "127.0.0.1:1", timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: cannot connect to Ray at 127.0.0.1:1: nothing answers at 127.0.0.1:1 "
        "(Connection refused); start the cluster first (ray start --head, docs/sweeps.md) or "
        "correct --address"]
    assert not out.exists()
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    ray_tmp = tmp_path / "rt"  # a dead head's session file, in a private RAY_TMPDIR
    (ray_tmp / "ray").mkdir(parents=True)
    (ray_tmp / "ray" / "ray_current_cluster").write_text("127.0.0.1:1\n")
    result = run_sweep(out, "--set", "arch=fc,mlp256", "--steps", "10", "--address", "auto",
                       timeout=60, env={"RAY_TMPDIR": str(ray_tmp), "RAY_ADDRESS": ""})
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: cannot connect to Ray at auto: nothing answers at 127.0.0.1:1 "), lines
    assert os.listdir(out) == ["notes.txt"]


def test_sweep_flags_are_checked_before_anything_starts(tmp_path):
    for args, message in [(["--set", "arch=fc"], "--minutes M or --steps N"),
                          (["--set", "lr=1", "--steps", "5"], "train.py has no flag --lr"),
                          (["--seeds", "0,0", "--steps", "5"], "expected distinct seeds"),
                          (["--set", "arch=fc", "--minutes", "1", "--halving", "--rungs",
                            "none"], "give --rungs F1,F2, not none"),
                          (["--set", "arch=fc", "--minutes", "1", "--rungs", "1/3,1/9"],
                           "expected increasing fractions between 0 and 1"),
                          (["--set", "arch=fc", "--minutes", "1", "--keep", "1"],
                           "expected a share between 0 and 1"),
                          (["--set", "arch=fc", "--steps", "5", "--max-failures", "-1"],
                           "--max-failures: must be at least 0")]:
        result = run_sweep(tmp_path / "s", *args)
        assert result.returncode in (1, 2) and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists() or not os.listdir(tmp_path / "s")
    (tmp_path / "a_file").write_text("")  # an --out that cannot be made: refused before Ray
    result = run_sweep(tmp_path / "a_file" / "s", "--set", "arch=fc", "--steps", "5")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == ["error: cannot make the sweep folder %s: %s is "
                                                  "not a folder" % (tmp_path / "a_file" / "s",
                                                                    tmp_path / "a_file")]


def test_report_of_hand_made_trials(tmp_path):
    """Mean and spread per setting over seeds, best FID first, unfinished trials listed."""
    out = tmp_path / "sweep"
    for lr, seed, fid in [("1e-4", 0, 30.0), ("1e-4", 1, 34.0), ("2e-4", 0, 20.0),
                          ("2e-4", 1, None)]:
        folder = out / sweep.trial_name((("lr-d", lr),), seed)
        os.makedirs(folder)
        records_lib.write_trial(str(folder), dict(settings={"lr-d": lr}, seed=seed, budget={"steps": 9},
                                            status="finished" if fid else "stopped",
                                            trained_seconds=60.0))
        if fid:
            generated = dict(inception_score=9.0, fid=fid, modes_covered=10, precision=0.7,
                             recall=0.8)
            json.dump(dict(step=9, n=100, generated=generated), open(folder / "evaluation.json", "w"))
    paths = sweep_report.write(str(out), {"steps": 9})
    assert [os.path.basename(p) for p in paths] == ["results.csv", "results.md", "fid.png"]
    lines = open(out / "results.md").read().splitlines()
    rows = [line for line in lines if line.startswith("| lr-d")]
    assert rows[0].startswith("| lr-d=2e-4 | 0 (1 of 2 finished) | 9.00 ± 0.00 | 20.00 ± 0.00")
    assert rows[1].startswith("| lr-d=1e-4 | 0,1 | 9.00 ± 0.00 | 32.00 ± 2.83")
    assert "- lr-d=2e-4,seed=1: stopped" in lines
    assert "Budget per trial: steps 9." in lines
    sweep_report.write(str(out))  # --report: the trials' records say the budget
    assert "Budget per trial: steps 9." in open(out / "results.md").read().splitlines()


def test_gan_mnist_threads_caps_every_session(monkeypatch):
    """What --cpus-per-trial gives each trial: GAN_MNIST_THREADS caps both thread pools."""
    from gan_mnist import tf_compat
    from gan_mnist.core.architectures import ARCHITECTURES

    monkeypatch.setattr(tf_compat, "THREADS", 0)
    default = tf_compat.session_config()
    assert (default.intra_op_parallelism_threads, default.inter_op_parallelism_threads) == (0, 0)
    monkeypatch.setattr(tf_compat, "THREADS", 2)
    for intra, expected in ((0, 2), (1, 1), (8, 2)):
        capped = tf_compat.session_config(intra)
        assert (capped.intra_op_parallelism_threads,
                capped.inter_op_parallelism_threads) == (expected, 2)
    fc_threads = ARCHITECTURES["fc"].intra_op_threads  # what the trainer asks for fc
    assert tf_compat.session_config(fc_threads).intra_op_parallelism_threads == 1


def test_halving_runs_rung_by_rung_halts_the_worse_and_a_second_run_redoes_only_the_failed(
        tmp_path):
    """halving.run without Ray: ``run_jobs`` is a trial runner in this process that records the
    quick FIDs below, as a trial does in its trial.json. Budget 900 steps: rungs 100 and 300."""
    budget = {"steps": 900}
    quick = {"100": dict(a=30.0, b=10.0, c=20.0, d=10.0, e=90.0), "300": dict(b=15.0, d=12.0)}
    calls, said = [], []

    def run_jobs(jobs, rung):
        calls.append(([os.path.basename(job[2]) for job in jobs], rung and halving.key(rung)))
        failed = []
        for _, _, folder in jobs:
            name = os.path.basename(folder)
            if name == "f":  # fails before it measures anything
                failed.append(name)
                continue
            record = trials.read_trial(folder) or {"budget": budget, "rungs": {}}
            if rung is None:
                record["status"] = "finished"
            else:
                record["rungs"][halving.key(rung)] = quick[halving.key(rung)][name]
            trials.write_trial(folder, record)
        return failed

    jobs = []
    for name in "abcdefg":
        os.makedirs(tmp_path / name)
        jobs.append(({"lr-d": 1e-4}, 0, str(tmp_path / name)))
    # g finished in an earlier sweep, with a poor FID: it goes on whatever its FID.
    trials.write_trial(jobs[-1][2], {"budget": budget, "status": "finished",
                                     "rungs": {"100": 95.0, "300": 50.0}})
    assert halving.run(jobs, budget, run_jobs, said.append) == ["f"]
    assert calls == [(["a", "b", "c", "d", "e", "f"], "100"), (["b", "d"], "300"), (["d"], None)]
    assert said == ["halted c at step 100 (quick FID 20.00)",
                    "halted a at step 100 (quick FID 30.00)",
                    "halted e at step 100 (quick FID 90.00)",
                    "rung 1 of 3 (step 100): 3 of 6 trials go on",
                    "halted b at step 300 (quick FID 15.00)",
                    "rung 2 of 3 (step 300): 2 of 3 trials go on"]
    read = {name: trials.read_trial(str(tmp_path / name)) for name in "abcdefg"}
    assert {n: (r or {}).get("status") for n, r in read.items()} == dict(
        a="halted", b="halted", c="halted", d="finished", e="halted", f=None, g="finished")
    assert [read[n]["halted_at"] for n in "abce"] == ["100", "300", "100", "100"]
    assert all(read[n]["error"] is None for n in "abce")
    assert halving.is_halted(read["a"], budget) and not halving.is_halted(read["d"], budget)
    assert not halving.is_halted(read["a"], {"steps": 1800}) and not halving.is_halted(None, budget)
    assert halving.rung_fid(read["a"], "100") == 30.0
    assert halving.rung_fid(read["a"], "300") is None
    assert halving.rung_fid(None, "100") is None and halving.rung_fid({"rungs": None}, "1") is None
    # The same sweep again: only the trial that failed runs, nothing is halted twice.
    calls.clear(), said.clear()
    assert halving.run(jobs, budget, run_jobs, said.append) == ["f"]
    assert calls == [(["f"], "100")]
    assert said == ["rung 1 of 3 (step 100): 3 of 6 trials go on",
                    "rung 2 of 3 (step 300): 2 of 3 trials go on"]


def test_a_trial_is_finished_only_with_its_budget_and_evaluation_and_lost_when_its_process_died(
        tmp_path):
    folder = str(tmp_path)
    budget = {"steps": 900}
    assert trials.read_trial(folder) is None and not trials.is_finished(folder, budget)
    trials.write_trial(folder, {"status": "finished", "budget": budget})
    assert trials.read_trial(folder) == {"status": "finished", "budget": budget}
    assert not trials.is_finished(folder, budget)  # no evaluation.json yet
    (tmp_path / "evaluation.json").write_text("{}")
    assert trials.is_finished(folder, budget)
    assert not trials.is_finished(folder, {"steps": 1800})  # finished a smaller budget
    trials.write_trial(folder, {"status": "halted", "budget": budget})
    assert not trials.is_finished(folder, budget)
    (tmp_path / "trial.json").write_text("{not json")
    assert trials.read_trial(folder) is None
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    here = os.uname().nodename
    assert trials.status_of({"status": "running", "pid": gone.pid, "host": here}) == "lost"
    assert trials.status_of({"status": "running", "pid": os.getpid(), "host": here}) == "running"
    elsewhere = {"status": "running", "pid": gone.pid, "host": "elsewhere"}
    assert trials.status_of(elsewhere) == "running"
    assert trials.status_of({"status": "running", "host": here}) == "running"
    assert trials.status_of({"status": "halted", "pid": gone.pid, "host": here}) == "halted"
    assert trials.status_of(None) is None and trials.status_of({}) is None


def test_rungs_are_ranked_in_budget_order_and_a_rung_without_the_winner_says_so():
    """rank.py on hand-made rows (as report.collect gives them). Winner a (final FID 10). Step
    300: every quick FID 5, no correlation (rho None), a is first by name. Step 1000: quick
    ranks 2,1,3 against final 1,2,3, Spearman 1 - 6 * 2 / (3 * 8) = 0.5; a is second and
    halving keeps 1 of 3 (2 with --keep 1/2). Step 3000: a was halted before it."""
    rows = [{"trial": "a", "fid": 10.0, "rung_fids": {"300": 5.0, "1000": 7.0}},
            {"trial": "b", "fid": 20.0, "rung_fids": {"300": 5.0, "1000": 6.0, "3000": 1.0}},
            {"trial": "c", "fid": 30.0, "rung_fids": {"300": 5.0, "1000": 8.0, "3000": 2.0}}]
    ranking = rank.rung_ranking(rows)
    assert [e["rung"] for e in ranking] == ["300", "1000", "3000"]  # not "1000" < "300"
    assert ranking[1].pop("rho") == pytest.approx(0.5)
    assert ranking == [
        dict(rung="300", trials=3, measured=3, rho=None, winner="a", winner_rank=1, kept=1,
             keeps_winner=True),
        dict(rung="1000", trials=3, measured=3, winner="a", winner_rank=2, kept=1,
             keeps_winner=False),
        dict(rung="3000", trials=2, measured=2, rho=None, winner="a", winner_rank=None, kept=1,
             keeps_winner=None)]
    assert [e["kept"] for e in rank.rung_ranking(rows, Fraction(1, 2))] == [2, 2, 1]
    assert rank.rung_ranking(rows, Fraction(1, 2))[1]["keeps_winner"] is True
    assert [rank.order(r) for r in ("100", "0.25min", "12.5min")] == [100.0, 0.25, 12.5]
    assert rank.verdict(ranking[2]) == "step 3000: the winner was not measured there."
    assert rank.verdict(ranking[0]) == (
        "step 300: too few finished trials for a correlation; halving here would have kept the "
        "winner (a, quick FID rank 1 of 3, 1 kept).")
    tail = ": --halving may stop the best setting here; put the first rung later (--rungs)."
    assert rank.warnings(ranking) == [] and rank.warnings([]) == []
    assert rank.warnings([dict(ranking[1], rho=0.5)]) == [
        "warning: the first rung (step 1000) ranks these trials so that the winner would be "
        "halted" + tail]
    assert rank.warnings([dict(ranking[0], rho=0.4)]) == [
        "warning: the first rung (step 300) ranks these trials loosely (Spearman 0.40)" + tail]
    assert rank.warnings([dict(ranking[0], rho=0.5)]) == []  # LOW itself is not loose


def test_rungs_of_one_step_or_of_a_time_budget_and_trial_json_as_a_person_reads_it(tmp_path):
    assert halving.rungs({"steps": 1}) == []  # a rung at the full budget is no rung
    assert halving.rungs({"steps": 3}) == [{"steps": 1}]
    # A time budget with a step limit: the rungs are fractions of the time.
    assert halving.rungs({"steps": 900, "minutes": 2.25}) == [{"minutes": 0.25},
                                                              {"minutes": 0.75}]
    trials.write_trial(str(tmp_path), {"status": "finished", "budget": {"steps": 900}})
    assert (tmp_path / "trial.json").read_text() == (
        '{\n  "budget": {\n    "steps": 900\n  },\n  "status": "finished"\n}')


def test_halving_with_its_own_rungs_and_share_never_reruns_a_finished_trial(tmp_path):
    """--rungs 1/3 --keep 1/2 on 900 steps: one rung, at step 300. p finished in an earlier
    sweep without halving (no quick FIDs): it is not run again, and goes on. Of q, r, s (quick
    FIDs 5, 6, 7) half, rounded up, go on: q and r."""
    budget, calls, said = {"steps": 900}, [], []

    def run_jobs(jobs, rung):
        calls.append(([os.path.basename(job[2]) for job in jobs], rung))
        for _, _, folder in jobs:
            record = trials.read_trial(folder) or {"budget": budget, "rungs": {}}
            if rung is None:
                record["status"] = "finished"
            else:
                record["rungs"]["300"] = dict(p=1.0, q=5.0, r=6.0, s=7.0)[os.path.basename(folder)]
            trials.write_trial(folder, record)
        return []

    jobs = [({}, 0, str(tmp_path / name)) for name in "pqrs"]
    for job in jobs:
        os.makedirs(job[2])
    trials.write_trial(jobs[0][2], {"budget": budget, "status": "finished", "rungs": {}})
    assert halving.run(jobs, budget, run_jobs, said.append, fractions=(Fraction(1, 3),),
                       share=Fraction(1, 2)) == []
    assert calls == [(["q", "r", "s"], {"steps": 300}), (["q", "r"], None)]
    assert said == ["halted s at step 300 (quick FID 7.00)",
                    "rung 1 of 2 (step 300): 3 of 4 trials go on"]
