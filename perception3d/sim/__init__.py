"""Synthetic driving scenes in the exact KITTI object layout (``perception3d synth``).

See docs/synthetic.md. Entry points: :func:`perception3d.sim.writer.generate_dataset`
(a dataset on disk) and :func:`perception3d.sim.frame.generate_frame` (one frame in
memory); configuration in :mod:`perception3d.sim.config`.
"""
