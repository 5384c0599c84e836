"""Build the generator's mesh templates ahead of time, once for all worker processes.

Vehicle bodies, people's poses, riders, trees, bushes, fence panels and street furniture are
built once per process and copied per object (see ``vehicles.py``, ``objects.py``,
``foliage.py``, ``fences.py``, ``furniture.py``). ``perception3d synth --workers W`` starts its
workers from a fork server that imports this module: :func:`warm_templates` runs there once
(about 2 CPU s), and every worker forked from it starts with the templates in memory instead
of building them again in its first frames. Templates are pure functions of their keys, so
warming changes no byte of the output. :func:`warm_kernels` likewise loads the numba kernels
there (numba's start-up costs about 0.25 CPU s in a fresh process, which every worker would
otherwise pay at its first frame).
"""

from __future__ import annotations

from perception3d.sim.config import ClutterConfig

__all__ = ["warm_kernels", "warm_templates"]


def warm_templates(clutter: ClutterConfig | None = None) -> None:
    """Build every template the default config can ask for (``clutter``: the foliage cover
    levels to warm; default: the embedded defaults)."""
    from perception3d.sim import fences, foliage, furniture, objects, vehicles

    vehicles.warm_templates()
    furniture.warm_templates()
    fences.warm_templates()
    foliage.warm_templates((clutter or ClutterConfig()).foliage_cover)
    objects.warm_templates()


def warm_kernels() -> None:
    """Load the numba kernels the generator calls on every frame (``sim.half``) from numba's
    cache, so that workers forked afterwards start with them."""
    import numpy as np

    from perception3d.sim.half import to_float16

    to_float16(np.zeros(1, np.float32))


warm_templates()
warm_kernels()
