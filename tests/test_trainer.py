"""Short real training runs on real MNIST (a few hundred steps each)."""
import csv
import hashlib
import json
import os
import time

import numpy as np
import pytest
from PIL import Image

from gan_mnist.training import graph as training_graph
from gan_mnist.errors import GanError
from gan_mnist.training import checkpoints, config as config_lib, trainer
from gan_mnist.tf_compat import tf
from tests.conftest import says


def checkpoint_values(checkpoint_dir):
    path = tf.train.latest_checkpoint(checkpoint_dir)
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(path)}


def assert_same(a, b):
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def folder_digest(folder):
    digest = {}
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                digest[os.path.relpath(os.path.join(root, name), folder)] = (
                    hashlib.sha256(f.read()).hexdigest())
    return digest


def test_short_run_writes_grids_checkpoint_and_logs(run_config):
    config = run_config(steps=300, sample_every=200, checkpoint_every=1000)
    assert trainer.train(config) == 0
    out = config.output_dir
    grids = sorted(n for n in os.listdir(out) if n.startswith("samples_step_"))
    assert grids == ["samples_step_000000.png", "samples_step_000200.png",
                     "samples_step_000300.png"]
    grid = np.array(Image.open(os.path.join(out, "samples_step_000200.png")))
    assert grid.shape == (8 * 30 + 2, 8 * 30 + 2) and grid.dtype == np.uint8
    assert grid.max() > 100  # digits, not an empty picture

    assert tf.train.latest_checkpoint(config.checkpoint_dir).endswith("model.ckpt-300")
    names = [name for name, _ in tf.train.list_variables(config.checkpoint_dir)]
    assert "global_step" in names
    assert any("/Adam" in n for n in names) and any("beta1_power" in n for n in names)
    for name in names:
        assert name == "global_step" or name.split("/")[0] in ("generator", "discriminator")
    saved = json.load(open(os.path.join(config.checkpoint_dir, "config.json")))
    assert saved["arch"] == "fc" and saved["z_dim"] == 100 and saved["hidden"] == 128

    with open(os.path.join(out, "log.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [50, 100, 150, 200, 250, 300]
    for row in rows:
        assert 0 < float(row["d_real"]) < 1 and 0 < float(row["d_fake"]) < 1
        assert np.isfinite(float(row["d_loss"])) and np.isfinite(float(row["g_loss"]))
    assert any(n.startswith("events.out.tfevents") for n in os.listdir(out))


def test_resumed_run_equals_uninterrupted_run(run_config, tmp_path, capsys):
    straight = run_config(steps=300, checkpoint_dir=str(tmp_path / "a"),
                          output_dir=str(tmp_path / "a_out"))
    assert trainer.train(straight) == 0

    first = run_config(steps=200, checkpoint_dir=str(tmp_path / "b"),
                       output_dir=str(tmp_path / "b_out"))
    assert trainer.train(first) == 0
    at_200 = checkpoint_values(first.checkpoint_dir)
    assert at_200["global_step"] == 200

    # The restored session holds exactly the saved values.
    tg = training_graph.build_training_graph(first, 10)
    with training_graph.start_session(tg, np.zeros((10, 28, 28), np.uint8)) as s:
        assert checkpoints.restore(s, tg.saver, first.checkpoint_dir) == 200
        with tg.graph.as_default():
            restored = {v.op.name: s.run(v) for v in tf.global_variables()}
    assert_same(restored, at_200)

    capsys.readouterr()
    assert trainer.train(config_lib.resolve(dict(vars(first), steps=300))) == 0
    assert says(capsys.readouterr().out, "resumed from step 200")
    assert_same(checkpoint_values(first.checkpoint_dir),
                checkpoint_values(straight.checkpoint_dir))
    with open(os.path.join(first.output_dir, "log.csv")) as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == [50, 100, 150, 200, 250, 300]


def test_tensorboard_reads_both_legs_of_a_resumed_run(run_config):
    """TensorBoard's own reader keeps every grid and scalar of a run stopped and resumed, the
    stop's grid included (the resumed leg's SessionLog START comes one step after it)."""
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    first = run_config(steps=100)
    assert trainer.train(first) == 0
    assert trainer.train(config_lib.resolve(dict(vars(first), steps=150))) == 0
    events = accumulator.EventAccumulator(first.output_dir, size_guidance={"images": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("d_loss")] == [50, 100, 150]
    on_disk = sorted(int(n[len("samples_step_"):-4]) for n in os.listdir(first.output_dir)
                     if n.startswith("samples_step_"))
    assert on_disk == [0, 100, 150] and [e.step for e in events.Images("samples")] == on_disk


def test_seed_makes_runs_repeatable(run_config, tmp_path):
    runs = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        config = run_config(steps=60, seed=seed, checkpoint_dir=str(tmp_path / name),
                            output_dir=str(tmp_path / (name + "_out")))
        assert trainer.train(config) == 0
        runs[name] = checkpoint_values(config.checkpoint_dir)
    assert_same(runs["a"], runs["b"])
    assert not np.array_equal(runs["a"]["generator/output/weights"],
                              runs["c"]["generator/output/weights"])


def test_other_architecture_is_refused_and_checkpoint_untouched(run_config):
    config = run_config(steps=20)
    assert trainer.train(config) == 0
    before = folder_digest(config.checkpoint_dir)
    saved = config_lib.load_saved(config.checkpoint_dir)
    with pytest.raises(GanError, match="hidden=128 but you asked for hidden=64"):
        config_lib.resolve({"hidden": 64, "checkpoint_dir": config.checkpoint_dir}, saved)

    # Without config.json to warn, the restore itself refuses.
    os.remove(os.path.join(config.checkpoint_dir, "config.json"))
    before.pop("config.json")
    bigger = config_lib.resolve(dict(vars(config), hidden=64, steps=40))
    with pytest.raises(GanError, match="does not fit this model"):
        trainer.train(bigger)
    assert folder_digest(config.checkpoint_dir) == before


def test_fresh_moves_the_old_run_aside(run_config, capsys):
    """--fresh moves the old checkpoints and the old run's output (grids, log.csv, TensorBoard
    events, evaluation.json) aside, so each folder holds only the new run; a file of the user's
    in the output folder stays where it is."""
    config = run_config(steps=20, sample_every=10, log_every=5)
    assert trainer.train(config) == 0
    old = folder_digest(config.checkpoint_dir)
    old_output = folder_digest(config.output_dir)
    with open(os.path.join(config.output_dir, "evaluation.json"), "w") as f:
        f.write("{}")
    with open(os.path.join(config.output_dir, "notes.txt"), "w") as f:
        f.write("mine")
    assert trainer.train(config_lib.resolve(dict(vars(config), steps=10, fresh=True))) == 0
    out = capsys.readouterr().out
    assert "resumed" not in out.split("--fresh")[-1] and "moved the previous checkpoint" in out
    assert "moved the previous output to %s" % os.path.join(config.output_dir, "replaced-") in out
    assert checkpoint_values(config.checkpoint_dir)["global_step"] == 10
    aside = [n for n in os.listdir(config.checkpoint_dir) if n.startswith("replaced-")]
    assert len(aside) == 1
    assert folder_digest(os.path.join(config.checkpoint_dir, aside[0])) == old
    aside = [n for n in os.listdir(config.output_dir) if n.startswith("replaced-")]
    assert len(aside) == 1
    moved = folder_digest(os.path.join(config.output_dir, aside[0]))
    assert moved.pop("evaluation.json") and moved == old_output
    new = sorted(set(os.listdir(config.output_dir)) - {aside[0], "notes.txt"})
    assert [n for n in new if n.startswith("samples_")] == [
        "samples_step_000000.png", "samples_step_000010.png"]
    with open(os.path.join(config.output_dir, "log.csv")) as f:
        assert [row["step"] for row in csv.DictReader(f)] == ["5", "10"]
    events = [n for n in new if n.startswith("events.out.tfevents")]
    assert len(events) == 1  # TensorBoard reads the new run alone


def test_a_default_run_writes_a_grid_every_500_steps_and_at_its_last_step(run_config):
    """The user's default: --sample-every untouched. Grids at exactly 0, 500, 1000 and the last
    step, no others; the trained generator draws light digits on a black page (its tanh output
    reaches -1: a generator ending in a sigmoid could not draw below mid-grey)."""
    config = run_config(steps=1001, eval_every=0)
    assert config.sample_every == config_lib.Config.sample_every == 500
    assert trainer.train(config) == 0
    grids = sorted(n for n in os.listdir(config.output_dir) if n.startswith("samples_step_"))
    assert grids == ["samples_step_%06d.png" % s for s in (0, 500, 1000, 1001)]
    with Image.open(os.path.join(config.output_dir, grids[-1])) as image:
        pixels = np.asarray(image)
    # Below mid-grey (127.5) is below 0 in G's output: a sigmoid could not draw it.
    assert np.median(pixels) < 120 and pixels.max() > 200, (np.median(pixels), pixels.max())


def test_nothing_to_do_when_already_at_target(run_config, capsys):
    config = run_config(steps=20)
    assert trainer.train(config) == 0
    assert trainer.train(config) == 0
    assert says(capsys.readouterr().out, "already at step 20")


def test_time_budget_stops_saves_and_is_not_carried_over(run_config, capsys):
    config = run_config(steps=10 ** 7, minutes=0.05, log_every=10 ** 6, sample_every=10 ** 6,
                        checkpoint_every=10 ** 6, eval_every=0)
    clock, started = trainer.LOOP_CLOCK.seconds(), time.time()
    assert trainer.train(config) == 0
    # The loop clock, by which a sweep trial spends its --minutes, counts the budget's 3 s of
    # steps and not the data loading and graph building before them.
    looped = trainer.LOOP_CLOCK.seconds() - clock
    assert 2.99 <= looped < time.time() - started
    out = capsys.readouterr().out
    step = checkpoints.step_in_path(checkpoints.latest(config.checkpoint_dir))
    assert 0 < step < config.steps
    assert says(out, "time budget of 0.05 minutes used up at step %d" % step)
    assert os.path.exists(os.path.join(config.output_dir, "samples_step_%06d.png" % step))
    saved = config_lib.load_saved(config.checkpoint_dir)
    resumed = config_lib.resolve({"steps": step + 5, "checkpoint_dir": config.checkpoint_dir,
                                  "output_dir": config.output_dir, "data_dir": config.data_dir},
                                 saved)
    assert resumed.minutes == 0  # a budget belongs to one invocation
    assert trainer.train(resumed) == 0
    assert says(capsys.readouterr().out, "resumed from step %d" % step)
    assert checkpoints.step_in_path(checkpoints.latest(config.checkpoint_dir)) == step + 5


def test_a_killed_runs_log_past_its_checkpoint_is_undone_on_resume(run_config):
    """A run killed after its checkpoint at step 100 had logged step 150 (CSV row and
    TensorBoard scalar) and was cut off half-way through the next row ("15", the start of
    "150,..."). Resumed to 150, log.csv and TensorBoard hold steps 50, 100 and 150 once each,
    150's values the resumed leg's own."""
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    first = run_config(steps=100)
    assert trainer.train(first) == 0
    log = os.path.join(first.output_dir, "log.csv")
    with open(log, newline="") as f:
        header = next(csv.reader(f))
    killed = dict.fromkeys(header, "")
    killed.update(step="150", d_loss="99.0", g_loss="99.0", wall_time="%.3f" % time.time())
    with open(log, "a", newline="") as f:
        csv.DictWriter(f, header).writerow(killed)
        f.write("15")  # the kill: the next row cut short
    time.sleep(1.1)  # the killed leg's event file is named by the second it started
    writer = tf.summary.FileWriter(first.output_dir)
    writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="d_loss", simple_value=99.0)]),
                       150)
    writer.close()
    time.sleep(1.1)
    assert trainer.train(config_lib.resolve(dict(vars(first), steps=150))) == 0
    with open(log, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["50", "100", "150"]
    assert float(rows[-1]["d_loss"]) != 99.0
    events = accumulator.EventAccumulator(first.output_dir)
    events.Reload()
    scalars = events.Scalars("d_loss")
    assert [e.step for e in scalars] == [50, 100, 150]
    assert scalars[-1].value != 99.0
    assert scalars[1].value == pytest.approx(float(rows[1]["d_loss"]), rel=1e-5)
