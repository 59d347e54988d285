"""--lr-decay: both learning rates fall linearly to zero over the last part of the run's budget.

The budget is known before the first step (``--minutes``, ``--steps``, or both: whichever ends
first), so the run can end on small steps instead of stopping mid-stride. The scale is fed to
the train ops' ``lr_scale`` placeholder; without --lr-decay the ops have no placeholder at all
and train exactly as before.
"""


def progress(config, step, elapsed_seconds):
    """How far through its budget a run is, 0 to 1: its time budget for --minutes (this
    invocation's, so a resumed --minutes run decays again over its own minutes), its step
    budget for --steps (counted from step 0, so a resumed run continues the same schedule)."""
    done = 0.0
    if config.minutes:
        done = elapsed_seconds / (config.minutes * 60.0)
    if config.steps:
        done = max(done, step / float(config.steps))
    return min(max(done, 0.0), 1.0)


def lr_scale(config, step, elapsed_seconds):
    """The factor on both learning rates: 1 until the last ``lr_decay`` of the budget, then
    linearly down to 0 at its end."""
    if not config.lr_decay:
        return 1.0
    left = 1.0 - progress(config, step, elapsed_seconds)
    return min(1.0, left / config.lr_decay)
