"""Models and data UnlearnScope did not make: safe readers for users' checkpoints and
BackdoorBench results."""
