"""Training loop, checkpoints and batch inference."""
