"""A run: its Config and recipes, the step loop, checkpoints and the run folder, logs, grids."""
