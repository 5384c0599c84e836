"""``perception3d isp run``: an ISP config over a dataset's captures -> ``image_2/*.png``.

Where a frame's raw comes from, in order: ``training/raw_2/<id>.npz`` (``raw`` (1, H, W)
float32 + ``meta`` JSON string, written by :func:`save_raw`); else a capture simulated by the
sensor model from ``radiance_2`` (+ ``depth_2`` for haze) under the config's ``capture``
section; else the frame's ``image_2`` unprocessed to raw (Brooks et al. 2019) with the noise of
the capture condition.
"""

from __future__ import annotations

import dataclasses
import io
import json
import time
from pathlib import Path

import numpy as np
import torch

from perception3d.atomic import atomic_write, atomic_write_text
from perception3d.data.kitti import read_image, read_split_file
from perception3d.errors import MissingFrameError
from perception3d.isp import conditions as cond
from perception3d.isp.evaluate import save_png
from perception3d.isp.meta import RawMeta
from perception3d.isp.pipeline import IspPipeline, PipelineConfig
from perception3d.isp.scenes import load_radiance_frame
from perception3d.isp.sensor import apply_haze
from perception3d.isp.unprocess import add_noise, random_unprocess_params, unprocess, unprocess_meta
from perception3d.runtime import torch_threads


def save_raw(path: Path, raw: torch.Tensor, meta: RawMeta) -> Path:
    """Write one raw frame (1, 1, H, W) and its metadata as ``.npz``, atomically."""
    buf = io.BytesIO()
    np.savez_compressed(
        buf, raw=raw[0].numpy().astype(np.float32), meta=json.dumps(meta.to_json(0))
    )
    return atomic_write(path, lambda f: f.write(buf.getvalue()))


def load_raw(path: Path) -> tuple[torch.Tensor, RawMeta]:
    """Inverse of :func:`save_raw`: raw (1, 1, H, W) and a batch-of-one RawMeta."""
    with np.load(path, allow_pickle=False) as z:
        raw = torch.from_numpy(z["raw"].astype(np.float32))[None]
        meta = RawMeta.from_json(json.loads(str(z["meta"])), source=str(path))
    return raw, meta


def frame_capture(root: Path, fid: str, index: int, cfg: PipelineConfig):
    """(raw (1, 1, H, W), meta, source) of frame ``fid``."""
    base = root / "training"
    c = cfg.capture
    rng = np.random.default_rng([c.seed, index])
    if (base / "raw_2" / f"{fid}.npz").is_file():
        raw, meta = load_raw(base / "raw_2" / f"{fid}.npz")
        return raw, meta, "raw_2"
    if (base / "radiance_2" / f"{fid}.npy").is_file():
        rad, depth = load_radiance_frame(root, fid)
        radiance = torch.from_numpy(rad)[None]
        if c.condition == "haze":
            lum = radiance.mean(1).flatten()[::7]
            airlight = float(torch.quantile(lum, 0.9))
            radiance = apply_haze(radiance, torch.from_numpy(depth)[None, None], c.mor_m, airlight)
        s = cond.make_raw_sample(
            radiance, rng, "lowlight" if c.condition == "lowlight" else "normal"
        )
        return s.raw, s.meta, "radiance_2"
    image = base / "image_2" / f"{fid}.png"
    if image.is_file():
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**63)))
        p = random_unprocess_params(gen)
        if c.condition == "lowlight":  # the noisy end of Brooks et al.'s range
            p = dataclasses.replace(p, shot_noise=0.01, read_noise=2e-4)
        clean, _ = unprocess(torch.from_numpy(read_image(image))[None], p)
        return add_noise(clean, p.shot_noise, p.read_noise, gen), unprocess_meta(p), "image_2"
    raise MissingFrameError(f"frame {fid}: no raw_2, radiance_2 or image_2 under {base}")


def frame_ids(root: Path, split: str | None) -> list[str]:
    """Frame ids of ``split`` (ImageSets) or of every raw_2/radiance_2/image_2 file."""
    if split:
        path = root / "ImageSets" / f"{split}.txt"
        if not path.is_file():
            raise MissingFrameError(f"{path}: split file not found")
        return read_split_file(path)
    for folder, ext in (("raw_2", "npz"), ("radiance_2", "npy"), ("image_2", "png")):
        d = root / "training" / folder
        if d.is_dir():
            return sorted(p.stem for p in d.glob(f"*.{ext}"))
    raise MissingFrameError(f"{root}/training: no raw_2, radiance_2 or image_2 folder")


def run_isp(
    cfg: PipelineConfig, data_root: Path, out_dir: Path, split: str | None = None, log=print
) -> dict:
    """Process every frame; write ``out_dir/image_2/<id>.png`` and ``out_dir/isp_run.json``."""
    with torch_threads(cfg.threads):
        return _run_isp(cfg, data_root, out_dir, split, log)


def _run_isp(
    cfg: PipelineConfig, data_root: Path, out_dir: Path, split: str | None = None, log=print
) -> dict:
    data_root, out_dir = Path(data_root), Path(out_dir)
    ids = frame_ids(data_root, split)
    pipeline = IspPipeline(cfg)
    sources: dict[str, int] = {}
    t0 = time.time()
    for i, fid in enumerate(ids):
        raw, meta, source = frame_capture(data_root, fid, i, cfg)
        sources[source] = sources.get(source, 0) + 1
        save_png(out_dir / "image_2" / f"{fid}.png", pipeline(raw, meta)[0])
    summary = {
        "frames": len(ids),
        "sources": sources,
        "stages": dataclasses.asdict(cfg.stages),
        "capture": dataclasses.asdict(cfg.capture),
        "time_s": time.time() - t0,
    }
    atomic_write_text(out_dir / "isp_run.json", json.dumps(summary, indent=2, default=str))
    log(f"perception3d isp run: {len(ids)} frames -> {out_dir / 'image_2'} ({sources})")
    return summary
