"""Synthetic stand-in for ObjectNet3D: CAD-like meshes rendered at known viewpoints, written
in the real dataset's layout (``perception3d synth-objectnet3d``)."""
