"""--lr-decay's schedule: a function of the budget only (gan_mnist.schedules)."""
import pytest

from gan_mnist import schedules
from gan_mnist.commands import train
from gan_mnist.config import resolve


def test_steps_budget_decays_over_its_last_fraction_by_the_step_alone():
    config = resolve({"steps": 1000, "lr_decay": 0.25})
    scale = [schedules.lr_scale(config, step, elapsed_seconds=5.0)
             for step in (0, 500, 750, 800, 900, 1000)]
    assert scale == pytest.approx([1.0, 1.0, 1.0, 0.8, 0.4, 0.0])


def test_minutes_budget_decays_by_the_time_of_this_run():
    config = resolve({"minutes": 10, "lr_decay": 0.5})
    assert schedules.lr_scale(config, 10 ** 6, 0.0) == 1.0  # no --steps: steps do not count
    assert schedules.lr_scale(config, 0, 300.0) == pytest.approx(1.0)
    assert schedules.lr_scale(config, 0, 450.0) == pytest.approx(0.5)
    assert schedules.lr_scale(config, 0, 900.0) == 0.0  # never below zero


def test_with_both_budgets_the_one_that_ends_first_decides():
    config = resolve({"minutes": 10, "steps": 1000, "lr_decay": 0.5})
    assert schedules.lr_scale(config, 750, 60.0) == pytest.approx(0.5)  # the steps
    assert schedules.lr_scale(config, 100, 450.0) == pytest.approx(0.5)  # the time


def test_off_by_default_and_checked_on_the_command_line(capsys):
    assert schedules.lr_scale(resolve({"steps": 10}), 9, 1e9) == 1.0
    for typed in ("1", "-0.1", "soon"):
        with pytest.raises(SystemExit) as stop:
            train.parser().parse_args(["--lr-decay", typed])
        assert stop.value.code == 2
        assert "argument --lr-decay: " in capsys.readouterr().err
