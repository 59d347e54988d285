"""The README's numbers are the results files' numbers: each generated block equals what
benchmarks/results_table.py makes from docs/results/, and each quick-start file says how, when
and where it was measured."""
import json
import os

import pytest

from benchmarks import results_table
from tests.conftest import REPO


def test_readme_blocks_are_made_from_the_results_files():
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    blocks = results_table.BLOCK.findall(text)
    assert sorted(name for _, name, _, _ in blocks) == sorted(results_table.BLOCKS)
    assert text == results_table.rendered(text), \
        "README.md's results blocks differ from docs/results/: run python benchmarks/results_table.py"


@pytest.mark.parametrize("recipe", ["best", "best-conditional"])
def test_quick_start_files_record_command_date_seed_and_machine(recipe):
    with open(os.path.join(REPO, "docs", "results", "quick_start_%s.json" % recipe)) as f:
        record = json.load(f)
    assert record["seed"] == 0 and record["recipe"] == recipe
    assert record["date"] and record["machine"] and record["lscpu_model_name"]
    from benchmarks.quick_start import COMMANDS

    for step in ("train", "sample", "evaluate"):
        assert record["commands"][step]["command"] == COMMANDS[recipe][step]
    # The commands it ran are the ones the docs show.
    docs = open(os.path.join(REPO, "README.md")).read() + open(
        os.path.join(REPO, "docs", "conditional.md")).read()
    for step in ("sample", "evaluate") if recipe == "best" else ("sample",):
        assert COMMANDS[recipe][step] in docs, COMMANDS[recipe][step]
    assert record["evaluation"]["n"] == 10000 and record["steps"] > 0


def test_a_changed_number_turns_the_test_red(tmp_path, monkeypatch):
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    source = os.path.join(results_table.RESULTS, "budget", "fc_15min.json")
    with open(source) as f:
        report = json.load(f)
    report["generated"]["fid"] += 1.0
    copy = tmp_path / "results"
    import shutil

    shutil.copytree(results_table.RESULTS, copy)
    with open(copy / "budget" / "fc_15min.json", "w") as f:
        json.dump(report, f)
    monkeypatch.setattr(results_table, "RESULTS", str(copy))
    assert results_table.rendered(text) != text
