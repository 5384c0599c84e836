"""Semantic classes of the synthetic scenes (``training/semantic_2/*.png`` pixel values).

``SEMANTIC_CLASSES[k]`` is the name of class id ``k``; 0 is "unlabeled" (the sky and anything
without a surface). The names follow Cityscapes/SemanticKITTI where they overlap; new classes
are appended, so an id never changes meaning. People sitting are "pedestrian" pixels.

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
    # Added with the roadside clutter (issue 15); ids above stay as they were.
    "fence",  # fences, railings, guard rails
    "wall",  # free-standing walls (not buildings)
    "tram",  # KITTI "Tram"
    "other_vehicle",  # KITTI "Misc": trailers, caravans
    "bicycle",  # parked bicycles (not labelled: KITTI labels ridden ones as Cyclist)
    "other_object",  # bins, bollards, benches, street cabinets, planters
)

SEMANTIC_ID: dict[str, int] = {name: i for i, name in enumerate(SEMANTIC_CLASSES)}
