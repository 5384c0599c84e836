"""Task of the temporal ISP stage (``task: temporal_isp``, ``configs/isp/train_temporal.yaml``):
the recurrent raw denoise + demosaic network (:class:`perception3d.isp.temporal.TemporalRawUNet`)
on clips of synthetic drives captured in low light.

Each step draws ``batch_size`` clips (a drive, a start frame, a crop window), captures them
with one camera per clip at a random illuminance (:func:`perception3d.isp.temporal_data.
capture_frames`), unrolls the network over the clip with its previous output warped by the
ground-truth flow (inverted once per frame in :meth:`prepare`), and scores every frame's output
against the clean reference (the raw stage's loss). Step s of process r draws from
``default_rng([seed, r, s])``: the same config gives the same run (CPU).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from perception3d.checkpoint import read_checkpoint
from perception3d.config import require_root
from perception3d.engine.distributed import DistInfo
from perception3d.engine.task import Task, random_batch_steps
from perception3d.engine.temporal_isp_config import TemporalIspExperiment
from perception3d.isp.conditions import random_sensor
from perception3d.isp.losses import srgb_loss
from perception3d.isp.meta import RawMeta
from perception3d.isp.temporal import KIND, build_temporal_model, run_temporal
from perception3d.isp.temporal_data import Drive, alignment, capture_frames, find_drives, load_drive


class TemporalIspTask(Task):
    """Training of the temporal raw stage (see the module docstring)."""

    def __init__(self, cfg: TemporalIspExperiment) -> None:
        self.config = cfg
        self.drives: list[Drive] = []
        self.align: list[list[tuple[torch.Tensor, torch.Tensor] | None]] = []

    def build_model(self) -> torch.nn.Module:
        return build_temporal_model(self.config.model)

    def load_init(self, model: torch.nn.Module, path: Path) -> None:
        """Start from a temporal stage (``isp_temporal``) or the single-frame raw stage
        (``isp_raw``: its weights, the new inputs at zero weight)."""
        ckpt = read_checkpoint(path, (KIND, "isp_raw"))
        if ckpt["kind"] == "isp_raw":
            model.load_single_frame(ckpt["model"])
        else:
            model.load_state_dict(ckpt["model"])

    def prepare(self, progress: bool) -> None:
        d = self.config.data
        root = require_root(d, "temporal_isp")
        self.drives = [load_drive(p, d.max_train_frames) for p in find_drives(root)]
        self.align = []
        for drive in self.drives:  # backward flows, once (float16 / bool to save memory)
            rows: list = [None]
            for k in range(1, len(drive)):
                back, ok = alignment(drive.flow[k - 1], drive.depth[k])
                rows.append((back.half(), ok.bool()))
            self.align.append(rows)
        if progress:
            frames = sum(len(dr) for dr in self.drives)
            print(f"temporal_isp: {len(self.drives)} drives, {frames} frames")

    def describe(self) -> dict:
        return {"drives": [dr.name for dr in self.drives],
                "frames": sum(len(dr) for dr in self.drives)}  # fmt: skip

    def steps_per_epoch(self, shard: DistInfo) -> int:
        return random_batch_steps(self.config)

    def _clip(self, rng: np.random.Generator):
        d = self.config.data
        i = int(rng.integers(len(self.drives)))
        drive, n = self.drives[i], d.clip_length
        start = int(rng.integers(0, len(drive) - n + 1))
        h, w = drive.depth[0].shape
        c = min(d.crop, h // 2 * 2, w // 2 * 2)
        y = int(rng.integers(0, (h - c) // 2 + 1)) * 2
        x = int(rng.integers(0, (w - c) // 2 + 1)) * 2
        ids = list(range(start, start + n))
        rad = np.stack([np.asarray(drive.radiance[k][:, y : y + c, x : x + c], np.float32)
                        for k in ids])  # fmt: skip
        level = math.exp(rng.uniform(math.log(d.level[0]), math.log(d.level[1])))
        base = random_sensor(rng, "lowlight") if d.random_camera else None
        raw, meta, ref, _ = capture_frames(torch.from_numpy(rad), ids, drive.exposure[start],
                                           level, int(rng.integers(2**31)), i, base)  # fmt: skip
        back = torch.zeros(n, 2, c, c)
        ok = torch.zeros(n, 1, c, c)
        for t in range(1, n):
            b, v = self.align[i][start + t]
            back[t], ok[t] = b[:, y : y + c, x : x + c].float(), v[:, y : y + c, x : x + c].float()
        return raw, meta, ref, back, ok

    def batches(self, epoch: int, shard: DistInfo):
        tc = self.config.train
        steps = self.steps_per_epoch(shard)
        for s in range(steps):
            rng = np.random.default_rng([tc.seed, shard.rank, epoch * steps + s])
            clips = [self._clip(rng) for _ in range(tc.batch_size)]
            n = self.config.data.clip_length
            raws = [torch.cat([c[0][t : t + 1] for c in clips]) for t in range(n)]
            metas = [RawMeta.cat([c[1].select(t) for c in clips]) for t in range(n)]
            refs = [torch.cat([c[2][t : t + 1] for c in clips]) for t in range(n)]
            back = [torch.cat([c[3][t : t + 1] for c in clips]) for t in range(n)]
            ok = [torch.cat([c[4][t : t + 1] for c in clips]) for t in range(n)]
            yield raws, metas, refs, back, ok

    def loss(self, model, batch):
        raws, metas, refs, back, ok = batch
        outs = run_temporal(model, raws, metas, back, ok)
        parts = [srgb_loss(o, r) for o, r in zip(outs, refs)]
        first, last = float(parts[0].detach()), float(parts[-1].detach())
        return torch.stack(parts).mean(), {"first": first, "last": last}
