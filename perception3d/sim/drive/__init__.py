"""Synthetic driving sequences: one static world, moving traffic, a sensor rig driving through
it at 10 Hz, written in the KITTI raw layout (``perception3d synth-drive``, docs/synthetic.md)."""
