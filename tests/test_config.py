"""Recipes, the field declarations and what they generate, config.json on resume, and a house
rule of the package: no import cycles."""
import ast
import json
import os
import re
import subprocess
import sys

import pytest

from gan_mnist.errors import GanError
from gan_mnist.training import config as config_lib
from gan_mnist.commands import flags_doc
from gan_mnist.commands import train as train_command
from gan_mnist.core.architectures import ARCHITECTURES
from gan_mnist.training.recipes import RECIPES
from tests.conftest import REPO, exit_code_of, says

TRAIN = os.path.join(REPO, "scripts", "train.py")
resolve = config_lib.resolve


def test_recipes_set_any_field_and_flags_win():
    best = resolve({"recipe": "best"})
    assert (best.recipe, best.arch, best.clusters, best.spectral_norm, best.beta1, best.lr_d,
            best.lr_g, best.ema, best.hidden, best.batch_size) == (
                "best", "fast", 160, True, 0.0, 8e-4, 8e-4, 0.999, 64, 64)
    conditional = resolve({"recipe": "best-conditional"})
    assert (conditional.conditional, conditional.clusters, conditional.beta1, conditional.lr_d,
            conditional.ema) == (True, 160, 0.0, 8e-4, 0.999)
    assert resolve({"recipe": "best", "beta1": 0.5, "clusters": 20}).beta1 == 0.5
    assert resolve({"recipe": "best", "arch": "fc"}).hidden == 128  # fc's presets, best's rest
    for arch in ARCHITECTURES:  # --arch X alone is the recipe X
        assert resolve({"arch": arch}) == resolve({"recipe": arch})
    assert resolve({}).recipe == "fc" and resolve({}).arch == "fc"


def test_config_json_wins_over_the_recipe_and_a_fitting_recipe_resumes():
    saved = json.loads(resolve({"recipe": "best", "beta1": 0.3}).to_json())
    assert resolve({}, saved).beta1 == 0.3 and resolve({"recipe": "best"}, saved).beta1 == 0.3
    assert resolve({}, saved).recipe == "best"
    with pytest.raises(GanError, match="holds a --recipe best run, not --recipe "
                       "best-conditional: a folder's recipe is fixed"):
        resolve({"recipe": "best-conditional"}, saved)
    with pytest.raises(GanError, match="trained with --spectral-norm"):
        resolve({"spectral_norm": False}, saved)
    with pytest.raises(GanError, match="holds a model with clusters=160 but you asked for "
                       "clusters=20"):
        resolve({"recipe": "best", "clusters": 20}, saved)


@pytest.mark.parametrize("trained", sorted(RECIPES))
def test_a_folder_refuses_every_other_recipe_typed_and_resumes_its_own(trained):
    """Every ordered pair of recipes: a folder made by one refuses each other one typed, as
    --recipe or as --arch alone (its spelling), naming both, whatever fields the two share
    (fast shares best's architecture and nothing else it names); its own, or none, resumes."""
    saved = json.loads(resolve({"recipe": trained, "checkpoint_dir": "C"}).to_json())
    for other in sorted(set(RECIPES) - {trained}):
        with pytest.raises(GanError) as refused:
            resolve({"recipe": other, "checkpoint_dir": "C"}, saved)
        assert str(refused.value) == (
            "C holds a --recipe %s run, not --recipe %s: a folder's recipe is fixed. Resume it "
            "with --recipe %s (or no --recipe); for %s, use another --checkpoint-dir or --fresh"
            % (trained, other, trained, other))
        if other in ARCHITECTURES:
            with pytest.raises(GanError, match="holds a --recipe %s run, not --arch %s: "
                               % (trained, other)):
                resolve({"arch": other, "checkpoint_dir": "C"}, saved)
    for typed in ({}, {"recipe": trained}, {"arch": RECIPES[trained]["arch"], "recipe": trained}):
        assert resolve(typed, saved) == resolve({"recipe": trained})


def test_a_folder_made_before_recipes_has_its_architecture_as_its_recipe():
    """config.json without "recipe" (0.1.0): the folder's recipe is its arch; --arch alone and
    --recipe of that name resume it, best (which shares fast's networks) is refused."""
    saved = {"arch": "fast", "hidden": 8, "clusters": 4}
    assert resolve({"arch": "fast"}, saved).recipe == "fast"
    assert resolve({"recipe": "fast"}, saved).clusters == 4
    with pytest.raises(GanError, match="holds a --recipe fast run, not --recipe best"):
        resolve({"recipe": "best"}, saved)
    # A folder whose --arch was typed beside its recipe says both.
    saved = json.loads(resolve({"recipe": "fc", "arch": "mlp256"}).to_json())
    with pytest.raises(GanError, match="holds a --recipe fc --arch mlp256 run, not --arch "
                       "mlp256: .* Resume it with --recipe fc --arch mlp256 "):
        resolve({"arch": "mlp256"}, saved)
    assert resolve({"recipe": "fc", "arch": "mlp256"}, saved).arch == "mlp256"


def test_another_recipe_on_a_trained_folder_is_refused_before_anything_is_written(
        tmp_path, mnist_dir, monkeypatch, capsys):
    """The reported reproduction, as typed (train.py's main in this process, default output
    folder): --recipe best for 30 steps, then --recipe fast on the same folder is refused in one
    line naming both, and the folder and output are byte for byte as they were; --recipe best
    then resumes, and a bare command says which recipe it carries on."""
    monkeypatch.setenv("MNIST_DATA_DIR", mnist_dir)
    monkeypatch.chdir(tmp_path)
    small = ("--clusters", "20", "--hidden", "8", "--batch-size", "16", "--eval-every", "0",
             "--precision", "float32", "--checkpoint-dir", "C")
    assert exit_code_of(train_command.main, "--recipe", "best", "--steps", "30", *small) == 0
    capsys.readouterr()

    def snapshot():
        return {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*")
                if p.is_file()}

    before = snapshot()
    for typed in (["--recipe", "fast"], ["--arch", "fast"], ["--recipe", "fc"]):
        assert exit_code_of(train_command.main, *typed, "--steps", "40",
                            "--checkpoint-dir", "C") == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(
            "error: C holds a --recipe best run, not %s %s: a folder's recipe is fixed" % tuple(
                typed)), err
        assert snapshot() == before
    assert exit_code_of(train_command.main, "--recipe", "best", "--steps", "40", *small) == 0
    assert says(capsys.readouterr().out, "resumed from step 30")
    assert exit_code_of(train_command.main, "--steps", "50", "--checkpoint-dir", "C") == 0
    assert "resumed from step 40 (recipe best, from %s)" % os.path.join("C", "config.json") in (
        capsys.readouterr().out)
    assert json.loads((tmp_path / "C" / "config.json").read_text())["recipe"] == "best"


def test_changing_the_loss_or_r1_on_resume_applies_from_then_on():
    """--loss and --r1 are carried: typed again on resume, the new value trains from the
    resumed step on (and is saved); not typed, the folder's value stays."""
    saved = json.loads(resolve({"arch": "fast", "r1": 1.0}).to_json())
    assert resolve({}, saved).loss == "ns" and resolve({}, saved).r1 == 1.0
    changed = resolve({"loss": "hinge", "r1": 0.0}, saved)
    assert changed.loss == "hinge" and changed.r1 == 0.0


def test_a_loss_typed_on_resume_is_saved_and_kept_by_the_next_resume(tmp_path, mnist_dir,
                                                                     monkeypatch, capsys):
    """As a user types it, default folders (train.py's main in this process, from the folder a
    user would be in): --loss/--r1 typed on resume go into config.json, and the run after that,
    with neither typed, keeps them."""
    monkeypatch.setenv("MNIST_DATA_DIR", mnist_dir)
    monkeypatch.chdir(tmp_path)

    def train(*flags):
        assert exit_code_of(train_command.main, "--log-every", "10", *flags) == 0
        return capsys.readouterr().out, json.loads(
            (tmp_path / "checkpoints" / "config.json").read_text())

    _, first = train("--steps", "20")
    assert (first["loss"], first["r1"]) == ("ns", 0.0)
    out, second = train("--steps", "40", "--loss", "hinge", "--r1", "0.5")
    assert says(out, "resumed from step 20") and (second["loss"], second["r1"]) == ("hinge", 0.5)
    out, third = train("--steps", "60")
    assert says(out, "resumed from step 40") and (third["loss"], third["r1"]) == ("hinge", 0.5)


def test_minutes_alone_has_no_step_limit():
    budget = resolve({"minutes": 15})
    assert budget.steps == 0 and budget.step_limit == float("inf")
    both = resolve({"minutes": 15, "steps": 500})
    assert both.steps == 500 and both.step_limit == 500
    assert resolve({}).step_limit == 100000


def test_minutes_alone_on_the_command_line_shows_the_time_left(tmp_path, mnist_dir):
    """As a user types it, default folders: the bar counts down the budget, not 10^8 steps."""
    result = subprocess.run([sys.executable, TRAIN, "--recipe", "fc", "--minutes", "0.05"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, MNIST_DATA_DIR=mnist_dir))
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"time budget of 0\.05 minutes used up at step \d+", result.stdout)
    assert re.search(r"of 00:03, 00:00 left", result.stderr), result.stderr[-500:]
    assert json.loads((tmp_path / "checkpoints" / "config.json").read_text())["recipe"] == "fc"


@pytest.mark.parametrize("content, message", [
    ('{"arch": "fc", "z_d', "cannot read .*config.json"),
    ("not json at all", "cannot read .*config.json"),
    ('["fc"]', "is not a JSON object"),
    ('{"arch": "fast", "minibatch_std": true}', "turns on settings this version does not know "
                                                 r"\(minibatch_std=true\)"),
])
def test_a_damaged_config_json_gets_one_line_and_nothing_is_touched(tmp_path, content, message,
                                                                     monkeypatch, capsys):
    """The first case as a user meets it, train.py in a process of its own (stderr: that one line,
    no TensorFlow chatter); the others through train's main in this process."""
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / "config.json").write_text(content)
    (folder / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-5"\n')
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    if content.startswith('{"arch": "fc"'):
        result = subprocess.run([sys.executable, TRAIN, "--steps", "10"], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
        code, stderr = result.returncode, result.stderr
    else:
        monkeypatch.chdir(tmp_path)
        code, stderr = exit_code_of(train_command.main, "--steps", 10), capsys.readouterr().err
    assert code == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(message, lines[0]), stderr
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()} == before
    assert not (tmp_path / "output").exists() or not os.listdir(tmp_path / "output")


def test_an_old_unknown_field_that_is_off_is_ignored(tmp_path):
    (tmp_path / "config.json").write_text('{"arch": "fast", "minibatch_std": false}')
    assert config_lib.load_saved(tmp_path) == {"arch": "fast"}


def test_every_field_is_a_train_flag_with_its_declared_check():
    parser = train_command.parser()
    parsed = parser.parse_args(["--recipe", "best", "--lr-d", "1e-3", "--spectral-norm"])
    assert vars(parsed) == {"recipe": "best", "lr_d": 1e-3, "spectral_norm": True}
    flags = config_lib.flags()
    assert set(flags) == {f.name.replace("_", "-") for f in config_lib.FIELDS}
    assert flags["lr-d"] and not flags["spectral-norm"]
    # Every switch can be turned off, so a recipe's on is not the last word (best has it on).
    assert vars(parser.parse_args(["--recipe", "best", "--no-spectral-norm"])) == {
        "recipe": "best", "spectral_norm": False}
    assert not config_lib.resolve({"recipe": "best", "spectral_norm": False}).spectral_norm
    # --no-X exists only for a switch some recipe turns on: --no-fresh would turn off nothing.
    switches = {config_lib.flag_name(f.name)[2:]: train_command.turned_on_by_a_recipe(f)
                for f in config_lib.FIELDS if f.type is bool}
    assert switches == {"fresh": False, "spectral-norm": True, "conditional": True}
    for name, off in switches.items():
        if off:
            assert vars(parser.parse_args(["--no-" + name])) == {name.replace("-", "_"): False}
        else:
            assert exit_code_of(train_command.main, "--no-" + name) == 2, name
    for field in config_lib.FIELDS:
        assert field.metadata["kind"] in config_lib.KINDS and field.metadata["help"], field.name
    assert set(RECIPES) >= set(ARCHITECTURES) | {"best", "best-conditional"}


def test_docs_flags_md_is_generated_and_current():
    with open(flags_doc.PATH) as f:
        written = f.read()
    assert written == flags_doc.markdown(), (
        "docs/flags.md is stale: run python -m gan_mnist.commands.flags_doc")
    for field in config_lib.FIELDS:
        assert "`%s" % config_lib.flag_name(field.name) in written


# ---- the house ---------------------------------------------------------------------------------

PACKAGE = os.path.join(REPO, "gan_mnist")


def _modules():
    """Module name -> path of every module in the package."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, REPO)[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                found[".".join(parts)] = path
    return found


def _imports(path, modules):
    """The package modules a file imports, at any depth (function-level imports included)."""
    tree = ast.parse(open(path).read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update("%s.%s" % (node.module, a.name) for a in node.names)
    return {n for n in names if n in modules}


def test_no_import_cycles():
    modules = _modules()
    graph = {m: _imports(p, modules) - {m} for m, p in modules.items()}
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for dep in graph[node]:
            if state.get(dep) == "open":
                cycles.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: %s" % [" -> ".join(c) for c in cycles]


def test_a_folder_trained_by_an_earlier_recipe_resumes_as_it_was_trained():
    """best had 40 clusters and learning rates 2e-4 until 2026-11-30 (then 80, then 160 and
    8e-4): its folders, resumed by the same command (--recipe best typed again), keep their 40
    and 2e-4; another recipe typed is refused."""
    saved = json.loads(resolve({"recipe": "best", "clusters": 40, "lr_d": 2e-4,
                                "lr_g": 2e-4}).to_json())
    resumed = resolve({"recipe": "best", "minutes": 15}, saved)
    assert (resumed.recipe, resumed.clusters, resumed.spectral_norm, resumed.lr_d,
            resumed.lr_g) == ("best", 40, True, 2e-4, 2e-4)
    new = resolve({"recipe": "best"})  # a new folder gets today's recipe
    assert (new.clusters, new.lr_d, new.lr_g) == (160, 8e-4, 8e-4)
    with pytest.raises(GanError, match="holds a model with clusters=40 but you asked for "
                                       "clusters=160"):
        resolve({"recipe": "best", "clusters": 160}, saved)
    with pytest.raises(GanError, match="holds a --recipe best run, not --recipe best-conditional"):
        resolve({"recipe": "best-conditional"}, saved)
    # best-conditional had labels alone and fast's optimiser until 2026-11-30.
    saved = json.loads(resolve({"recipe": "best-conditional", "clusters": 0, "beta1": 0.5,
                                "lr_d": 2e-4, "lr_g": 2e-4}).to_json())
    resumed = resolve({"recipe": "best-conditional", "minutes": 15}, saved)
    assert (resumed.conditional, resumed.clusters, resumed.beta1, resumed.lr_d) == (
        True, 0, 0.5, 2e-4)


def test_typed_values_are_checked_against_their_bounds_with_a_message_that_names_them():
    """training/checks.py, called as a parser calls a flag's type: text in, a number within the
    bounds out, or one message naming the bounds and what was typed (hand-written below)."""
    import argparse

    from gan_mnist.training import checks

    def refusal(check, text):
        with pytest.raises(argparse.ArgumentTypeError) as refused:
            check(text)
        return str(refused.value)

    count = checks.number(int, 1)
    assert count("1") == 1 and type(count("7")) is int
    assert refusal(count, "0") == "must be at least 1, got 0"
    assert refusal(count, "1.5") == "expected an integer, got '1.5'"
    assert refusal(count, "x") == "expected an integer, got 'x'"
    rate = checks.number(float, 0.0, inclusive=False)
    assert rate("1e-9") == 1e-9 and type(rate("2")) is float
    assert refusal(rate, "0") == "must be greater than 0.0, got 0"
    assert refusal(rate, "-1") == "must be greater than 0.0, got -1"
    assert refusal(rate, "x") == "expected a number, got 'x'"
    assert refusal(rate, "nan") == "must be greater than 0.0, got nan"
    share = checks.between(0, 1)
    assert share("0") == 0.0 and share("0.999") == 0.999
    assert refusal(share, "1") == "must be at least 0 and less than 1, got 1"
    assert refusal(share, "-0.5") == "must be at least 0 and less than 1, got -0.5"
    assert refusal(share, "nan") == "must be at least 0 and less than 1, got nan"
    below_ten = checks.between(2, 10, kind=int)
    assert below_ten("2") == 2 and below_ten("9") == 9 and type(below_ten("9")) is int
    assert refusal(below_ten, "10") == "must be at least 2 and less than 10, got 10"
    assert refusal(below_ten, "2.5") == "expected an integer, got '2.5'"
    gamma = checks.at_least(0.5)
    assert gamma("0.5") == 0.5 and type(gamma("3")) is float
    assert refusal(gamma, "0.25") == "must be at least 0.5, got 0.25"
    assert gamma("inf") == float("inf")
    steps = checks.at_least(3, kind=int)
    assert steps("3") == 3 and refusal(steps, "2") == "must be at least 3, got 2"


def test_the_recipes_are_one_table_whose_rows_name_every_value_they_set():
    """Each row names its architecture and every value its tutorial or its study set (the
    fields the recipe decides, ``preset``, at least); a recipe on another architecture
    (--recipe best --arch fc) takes that architecture's row and what the recipe sets beyond its
    own architecture's (best's optimiser and techniques, not fast's sizes)."""
    from gan_mnist.training.recipes import recipe_values

    decided = {f.name for f in config_lib.FIELDS if f.metadata["preset"]}
    for name, row in RECIPES.items():
        assert row["arch"] in ARCHITECTURES and decided <= set(row), name
        assert recipe_values(name) == row and resolve({"recipe": name}).arch == row["arch"]
    best_on_fc = recipe_values("best", "fc")
    assert best_on_fc == dict(RECIPES["fc"], lr_d=8e-4, lr_g=8e-4, beta1=0.0, clusters=160,
                              spectral_norm=True, ema=0.999, precision="auto")
    assert recipe_values("fast", "fc") == RECIPES["fc"]
