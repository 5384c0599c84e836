"""Semantic classes of the synthetic scenes (``training/semantic_2/*.png`` pixel values).

``SEMANTIC_CLASSES[k]`` is the name of class id ``k``; 0 is "unlabeled" (the sky and anything
without a surface). The names follow Cityscapes/SemanticKITTI where they overlap.

Example:
    >>> SEMANTIC_CLASSES[0], SEMANTIC_CLASSES[SEMANTIC_ID["car"]]
    ('unlabeled', 'car')
"""

from __future__ import annotations

SEMANTIC_CLASSES: tuple[str, ...] = (
    "unlabeled",  # 0: sky, no surface
    "road",
    "lane_marking",
    "sidewalk",
    "terrain",
    "building",
    "pole",
    "traffic_sign",
    "vegetation",
    "car",  # sedan, hatchback, SUV (KITTI "Car")
    "van",  # KITTI "Van"
    "truck",  # KITTI "Truck"
    "pedestrian",
    "cyclist",  # rider and bicycle (one KITTI "Cyclist" box)
)

SEMANTIC_ID: dict[str, int] = {name: i for i, name in enumerate(SEMANTIC_CLASSES)}
