"""Datasets as ordered frame ids: ``ids`` and ``frame(frame_id)`` make the rest (``len``,
iteration, indexing) and the ``max_frames`` cut the same for every layout (the KITTI object
layout, a folder of point clouds, KITTI raw drives).

Example:
    >>> class Squares(FrameSequence[int]):
    ...     def __init__(self):
    ...         self.ids = first_frames(["1", "2", "3"], max_frames=2)
    ...     def frame(self, frame_id):
    ...         return int(frame_id) ** 2
    >>> len(Squares()), list(Squares()), Squares()[1]
    (2, [1, 4], 4)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["FrameSequence", "check_max_frames", "first_frames"]

FrameT = TypeVar("FrameT")


class FrameSequence(Generic[FrameT]):
    """A dataset whose ``ids`` (list of frame ids, in order) ``frame`` loads one by one."""

    ids: list[str]

    def frame(self, frame_id: str) -> FrameT:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[FrameT]:
        for frame_id in self.ids:
            yield self.frame(frame_id)

    def __getitem__(self, index: int) -> FrameT:
        return self.frame(self.ids[index])


def check_max_frames(max_frames: int | None) -> None:
    """Raise ValueError unless ``max_frames`` is None or >= 1."""
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")


def first_frames(ids: list[str], max_frames: int | None) -> list[str]:
    """The first ``max_frames`` ids (all of them for None); see :func:`check_max_frames`."""
    check_max_frames(max_frames)
    return ids if max_frames is None else ids[:max_frames]
