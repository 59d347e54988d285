"""Grids of runs as Ray tasks: the grid and its driver, one trial, Ray's side, halving, each
trial's record and the report."""
