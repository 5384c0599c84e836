"""Task modules: one per model family, each a :class:`perception3d.engine.task.Task` that
:func:`perception3d.engine.fit.fit` trains."""
