"""Config of ``perception3d isp eval`` (``configs/isp/eval.yaml``)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from perception3d.config import DataSection
from perception3d.isp.pipeline import Weights
from perception3d.isp.temporal_eval import TemporalEval


@dataclasses.dataclass(frozen=True)
class EvalData(DataSection):
    """``data:``: the held-out scenes.

    Attributes:
        root: a ``perception3d synth`` root; its ``val_split`` frames (with radiance_2 and
            depth_2), the first ``max_val_frames``, are held-out scenes. Null: procedural
            scenes only.
        val_split: the ImageSets split of those frames (null: every frame of the root, for a
            root no stage trained on, e.g. a fresh seed).
        procedural: number of held-out procedural scenes (seeded by ``scene_seed``, which the
            training configs do not use).
        scene_seed: seed of the held-out procedural scenes.
    """

    val_split: str | None = "val"
    max_val_frames: int | None = 20
    procedural: int = 0
    scene_seed: int = 1000


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Held-out evaluation of none / classical / learned in the three conditions.

    Attributes:
        weights: the learned stages' weight files.
        data: the held-out scenes (:class:`EvalData`).
        seed: seed of the degradations.
        denoise: the classical baseline's denoiser.
        conditions: which conditions to run.
        precision: the learned stages' compute precision (see
            :class:`perception3d.isp.pipeline.PipelineConfig`).
        temporal: clips of synthetic drives in low light (:class:`TemporalEval`; null: none).
            With ``conditions: []`` only this section runs.
    """

    weights: Weights = dataclasses.field(default_factory=Weights)
    data: EvalData = dataclasses.field(default_factory=EvalData)
    seed: int = 1234
    denoise: Literal["bilateral", "nlmeans", "bm3d"] = "nlmeans"
    conditions: tuple[str, ...] = ("lowlight", "hdr", "haze")
    threads: int = 2
    precision: Literal["float32", "bfloat16"] = "float32"
    temporal: TemporalEval | None = None
