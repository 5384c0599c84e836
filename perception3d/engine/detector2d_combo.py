"""A 2D detector for the frustum pipeline made of a trained :class:`CenterNet2D` checkpoint
and a pretrained person detector from an installed package
(:class:`perception3d.models.ssdlite_person.SSDLitePerson`), described by a small YAML file
(``configs/frustum/detector2d_ssdlite_person.yaml``) that ``--det2d`` accepts in place of a
checkpoint (:func:`perception3d.engine.frustum_infer.load_detector2d`).

The checkpoint's detections of the classes in ``pretrained_classes`` are dropped and replaced
by the pretrained detector's person boxes, labelled with the first of them (``Pedestrian``);
the other classes (Car, Cyclist) stay the checkpoint's. The pretrained detector has one class,
person: it cannot tell a cyclist (a person on a bicycle) from a pedestrian, so its boxes on
cyclists count as pedestrian false positives in KITTI's evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from perception3d.config import load_config
from perception3d.models.detector2d import CenterNet2D, Detections2D, detect_2d
from perception3d.models.ssdlite_person import SSDLitePerson

__all__ = ["ComboDetector2D", "Detector2DComboConfig", "load_combo_detector2d"]


@dataclass(frozen=True)
class Detector2DComboConfig:
    """``task: detector2d_combo`` YAML.

    Attributes:
        base: ``detector2d`` checkpoint (relative paths: to the YAML file's folder).
        pretrained: the pretrained detector (``ssdlite_person``).
        pretrained_classes: the base's classes the pretrained detector's boxes replace; they
            get the first one as label.
        score_threshold: minimum score of the pretrained detector's boxes.
        max_detections: most pretrained boxes per image.
    """

    base: Path
    task: Literal["detector2d_combo"] = "detector2d_combo"
    pretrained: Literal["ssdlite_person"] = "ssdlite_person"
    pretrained_classes: tuple[str, ...] = ("Pedestrian",)
    score_threshold: float = 0.05
    max_detections: int = 50


class ComboDetector2D:
    """Base detections outside ``replaced`` plus the pretrained person boxes (module
    docstring). ``classes`` are the base's; :meth:`detect` returns :class:`Detections2D`."""

    def __init__(self, base: CenterNet2D, person: SSDLitePerson, replaced: tuple[str, ...]):
        unknown = [c for c in replaced if c not in base.classes]
        if not replaced or unknown:
            raise ValueError(f"pretrained_classes {replaced} must be classes of {base.classes}")
        self.base, self.person = base, person
        self.classes = tuple(base.classes)
        self.replaced = [self.classes.index(c) for c in replaced]
        self.person.label = self.replaced[0]

    def eval(self) -> ComboDetector2D:
        self.base.eval()
        return self

    def detect(self, image_srgb: np.ndarray) -> Detections2D:
        """Detections of one (3, H, W) sRGB image in [0, 1], image pixels."""
        a = detect_2d(self.base, image_srgb)
        keep = ~np.isin(a.labels, self.replaced)
        b = self.person.detect(image_srgb)
        return Detections2D(
            np.concatenate([a.boxes_img[keep], b.boxes_img]).astype(np.float32),
            np.concatenate([a.scores[keep], b.scores]).astype(np.float32),
            np.concatenate([a.labels[keep], b.labels]).astype(np.int64),
        )


def load_combo_detector2d(path: str | Path) -> ComboDetector2D:
    """The detector a ``task: detector2d_combo`` YAML describes, in eval mode."""
    from perception3d.engine.frustum_infer import load_detector2d

    cfg = load_config(path, Detector2DComboConfig)
    base, _ = load_detector2d(cfg.base)
    person = SSDLitePerson(score_threshold=cfg.score_threshold,
                           max_detections=cfg.max_detections)  # fmt: skip
    return ComboDetector2D(base, person, tuple(cfg.pretrained_classes)).eval()
