"""Synthetic-to-real: statistics of real and synthetic sweeps side by side, and the report
that compares them (``perception3d sim2real-report``; docs/sim2real.md)."""
