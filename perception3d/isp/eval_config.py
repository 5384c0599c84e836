"""Config of ``perception3d isp eval`` (``configs/isp/eval.yaml``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

from perception3d.isp.pipeline import Weights


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Held-out evaluation of none / classical / learned in the three conditions.

    Attributes:
        weights: the learned stages' weight files.
        synth_root: a ``perception3d synth`` root; its ``synth_split`` frames (with
            radiance_2/depth_2) are the held-out scenes. Null: procedural scenes only.
        synth_split: ImageSets split of held-out frames (``val``; null: every frame of the
            root, for a root no stage trained on, e.g. a fresh seed).
        max_synth: at most this many synthetic frames.
        procedural: number of held-out procedural scenes (seeded by ``scene_seed``, which the
            training configs do not use).
        scene_seed: seed of the held-out procedural scenes.
        seed: seed of the degradations.
        denoise: the classical baseline's denoiser.
        conditions: which conditions to run.
        precision: the learned stages' compute precision (see
            :class:`perception3d.isp.pipeline.PipelineConfig`).
    """

    weights: Weights = dataclasses.field(default_factory=Weights)
    synth_root: Path | None = None
    synth_split: str | None = "val"
    max_synth: int = 20
    procedural: int = 0
    scene_seed: int = 1000
    seed: int = 1234
    denoise: Literal["bilateral", "nlmeans", "bm3d"] = "nlmeans"
    conditions: tuple[str, ...] = ("lowlight", "hdr", "haze")
    threads: int = 2
    precision: Literal["float32", "bfloat16"] = "float32"
