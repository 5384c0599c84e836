"""Writing a synthetic dataset in the KITTI object layout, atomically, deterministically, in
parallel, in shards, resumably (``perception3d synth``).

Layout under ``out/`` (docs/synthetic.md)::

    synth_config.yaml                    the config used (load it with --config to rebuild)
    ImageSets/train.txt, val.txt         every frame of the dataset (all shards)
    training/velodyne/<id>.bin           float32 (N, 4), firing order
    training/image_2/<id>.png            8-bit sRGB
    training/calib/<id>.txt              KITTI calib (P2 at the image size)
    training/label_2/<id>.txt            KITTI labels (2 decimals)
    training/radiance_2/<id>.npy         float16 (3, H, W) linear radiance
    training/depth_2/<id>.npy            float16 (H, W) metres along the optical axis, inf = sky
    training/instance_2/<id>.png         uint16: k = label row k - 1; > 10000: unlabelled
    training/semantic_2/<id>.png         uint8 SEMANTIC_CLASSES ids
    training/meta/<id>.json              sun, night, exposure, beam table... (written last)
    synth_frame_ids.txt                  only in a subset root (``frame_ids``): its frames

``frame_ids`` writes only the chosen frames of the dataset, byte-identical to the same frames of
the full set (``perception3d.sim.subset``).

Every file goes through ``perception3d.atomic``; a frame is complete when its ``meta`` file
exists (written after all others), so an interrupted run leaves no half-written frame and
``resume`` regenerates exactly the incomplete ones. Every file is listed in the manifest
(``.synth_manifest/``, ``perception3d.sim.manifest``) before it is written: ``overwrite``
removes only listed files, and a folder holding unlisted files where the generator writes
is refused.
"""

from __future__ import annotations

import io
import json
import time
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import yaml
from tqdm import tqdm

from perception3d.atomic import atomic_write_bytes, atomic_write_text
from perception3d.config import to_dict
from perception3d.data.kitti import write_label_file, write_velodyne
from perception3d.errors import MissingFrameError
from perception3d.sim.config import SynthConfig
from perception3d.sim.disk import space_warning
from perception3d.sim.frame import SynthFrame, frame_id, frame_split, generate_frame
from perception3d.sim.half import to_float16
from perception3d.sim.manifest import (
    CONFIG_NAME,
    DATASET_ENTRY,
    DATASET_FILES,
    FRAME_FILES,
    frame_paths,
    listed_files,
    record,
)
from perception3d.sim.out_dir import (
    DatasetExistsError,
    check_out_dir,
    frame_done,
    remove_temporaries,
)
from perception3d.sim.stage_clock import mean_stage_seconds
from perception3d.sim.subset import SUBSET_NAME, read_subset, write_subset
from perception3d.sim.workers import run_in_workers

__all__ = [
    "FRAME_FILES",
    "DatasetExistsError",
    "generate_dataset",
    "listed_files",
    "npy_bytes",
    "parse_shard",
    "png_bytes",
    "write_frame",
]

_PNG_LEVEL = 3  # zlib level: level 6 (PIL's default) costs ~2x the time for ~5 % smaller files


def png_bytes(array: np.ndarray) -> bytes:
    """``array`` (H, W[, C], uint8 or uint16) as PNG file bytes (zlib level 3)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=_PNG_LEVEL)
    return buf.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` as ``.npy`` file bytes (no pickled objects)."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def write_frame(root: Path, frame: SynthFrame, raw_camera: bool = True) -> None:
    """Write every file of ``frame`` under ``root/training`` (meta last, each atomically),
    after listing them in the dataset's manifest (``perception3d.sim.manifest``);
    ``radiance_2`` and ``depth_2`` only when ``raw_camera``."""
    d = Path(root) / "training"
    fid = frame.frame_id
    record(Path(root), fid, frame_paths(fid, raw_camera))
    write_velodyne(d / "velodyne" / f"{fid}.bin", frame.sweep.points)
    atomic_write_bytes(d / "image_2" / f"{fid}.png", png_bytes(frame.image_srgb))
    frame.calib.write(d / "calib" / f"{fid}.txt")
    write_label_file(d / "label_2" / f"{fid}.txt", frame.labels.objects)
    if raw_camera:
        radiance = npy_bytes(to_float16(frame.camera.radiance))
        atomic_write_bytes(d / "radiance_2" / f"{fid}.npy", radiance)
        depth = npy_bytes(to_float16(frame.camera.depth_m))
        atomic_write_bytes(d / "depth_2" / f"{fid}.npy", depth)
    atomic_write_bytes(d / "instance_2" / f"{fid}.png", png_bytes(frame.labels.instance_map))
    atomic_write_bytes(d / "semantic_2" / f"{fid}.png", png_bytes(frame.camera.semantic))
    atomic_write_text(
        d / "meta" / f"{fid}.json", json.dumps(frame.meta(), indent=1, sort_keys=True) + "\n"
    )


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 0 <= i < n.

    Example:
        >>> parse_shard("1/4")
        (1, 4)
    """
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ValueError(f"shard must look like i/n (e.g. 0/4), got {text!r}") from None
    if not 0 <= i < n:
        raise ValueError(f"shard i/n needs 0 <= i < n, got {text!r}")
    return i, n


class _Dumper(yaml.SafeDumper):
    """Block mappings, flow lists (``[1.0, 2.0]``), like the files in configs/."""


_Dumper.add_representer(
    list,
    lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True),
)


def _config_text(cfg: SynthConfig) -> str:
    return yaml.dump(to_dict(cfg), Dumper=_Dumper, sort_keys=False, width=100)


def _stats(frame: SynthFrame, index: int, seconds: dict) -> dict:
    return {
        "index": index,
        "seconds": seconds,
        "points": len(frame.sweep.points),
        "labels": sum(not o.is_dontcare for o in frame.labels.objects),
    }


def _run_frames(cfg: SynthConfig, root: str, indices: list[int], on_done=None) -> list[dict]:
    """Generate and write ``indices`` in order, each frame's files written by a helper thread
    while the next frame is generated (the writes wait mostly on the disk's fsync)."""
    results: list[dict] = []
    pending = None

    def write(frame: SynthFrame, index: int, seconds: dict) -> dict:
        start, cpu = time.perf_counter(), time.thread_time()
        write_frame(Path(root), frame, cfg.raw_camera)
        seconds = {**seconds, "write": time.perf_counter() - start}
        return _stats(frame, index, {**seconds, "cpu_write": time.thread_time() - cpu})

    def finish(future) -> None:
        results.append(future.result())
        if on_done is not None:
            on_done()

    with ThreadPoolExecutor(1) as writer:
        for index in indices:
            frame = generate_frame(cfg, index)
            seconds = dict(frame.seconds)
            if pending is not None:
                finish(pending)
            pending = writer.submit(write, frame, index, seconds)
        if pending is not None:
            finish(pending)
    return results


def _chunks(todo: list[int], workers: int) -> list[list[int]]:
    """Contiguous chunks: about 4 per worker (load balance), at most 16 frames each."""
    size = max(1, min(16, len(todo) // (4 * workers)))
    return [todo[k : k + size] for k in range(0, len(todo), size)]


def generate_dataset(
    out: str | Path,
    cfg: SynthConfig,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    frame_ids: Sequence[int] | None = None,
) -> dict:
    """Generate ``cfg.frames`` frames (seed ``cfg.seed``) into ``out`` in the KITTI layout.

    Args:
        out: output root (created).
        cfg: the dataset config.
        workers: parallel processes (1: in this process). The output does not depend on it.
            Workers start from a fork server, so a script calling this with ``workers > 1``
            needs the usual ``if __name__ == "__main__":`` guard.
        shard: (i, n): write only frames with index % n == i (ImageSets list all frames).
        overwrite: replace a previous synth run in ``out``: remove the files its manifest lists
            (``perception3d.sim.manifest``; with a shard, that shard's frames), nothing else.
        resume: complete a previous run of the same config (frames whose meta file exists are
            kept; the config may ask for more frames).
        progress: show a progress bar.
        frame_ids: write only these frame indices (each < ``cfg.frames``): the same bytes as
            these frames of the full set. ``ImageSets`` then list these frames (with those of
            earlier subset runs into ``out``), each in its split of the full set, and
            ``synth_frame_ids.txt`` names them; into a full set's root they are simply its
            frames (completed or regenerated as the flags say).

    Returns:
        Summary: frames written and skipped, mean seconds per stage, points, labels.

    Raises:
        DatasetExistsError: ``out`` is not empty and neither flag allows writing into it; it
            holds files this generator did not write where it writes (any flag); or
            ``resume`` would shrink the dataset (fewer frames than its config).
        DataFormatError: its ``synth_config.yaml`` is not a readable config.
        ValueError: bad shard or worker count.
        MissingFrameError: a frame id >= ``cfg.frames``.
    """
    root = Path(out)
    i_shard, n_shard = shard
    if not 0 <= i_shard < n_shard or workers < 1:
        raise ValueError(f"need 0 <= shard i < n and workers >= 1, got {shard}, {workers}")
    selection = _selection(cfg, frame_ids)
    mine = [i for i in selection if i % n_shard == i_shard]
    check_out_dir(root, cfg, shard, overwrite, resume, mine)
    listed = _listed_indices(root, cfg, frame_ids)
    root.mkdir(parents=True, exist_ok=True)
    remove_temporaries(root, shard)
    _write_dataset_files(root, cfg, listed)
    todo = [i for i in mine if not (resume and frame_done(root, frame_id(i)))]
    shortfall = space_warning(root, cfg, len(todo))
    if shortfall is not None:
        warnings.warn(shortfall, stacklevel=2)
    bar = tqdm(total=len(todo), desc="synth", unit="frame", disable=not progress)
    if workers == 1 or len(todo) <= 1:
        results = _run_frames(cfg, str(root), todo, on_done=bar.update)
    else:  # the fork server also builds the mesh templates once (sim/warmup.py)
        preload = ["perception3d.sim.writer", "open3d", "perception3d.sim.warmup"]
        tasks = [(cfg, str(root), chunk) for chunk in _chunks(todo, workers)]
        results = run_in_workers(_run_frames, tasks, workers, preload, bar.update)
    bar.close()
    return _summary(results, len(mine) - len(todo))


def _selection(cfg: SynthConfig, frame_ids: Sequence[int] | None) -> list[int]:
    if frame_ids is None:
        return list(range(cfg.frames))
    selection = sorted({int(i) for i in frame_ids})
    bad = [i for i in selection if not 0 <= i < cfg.frames]
    if bad:
        raise MissingFrameError(
            f"frame ids {', '.join(frame_id(i) for i in bad[:5])} are outside the dataset of "
            f"{cfg.frames} frames (config frames={cfg.frames}): pass --frames N with N above "
            "the largest id (the frames' bytes do not depend on N)"
        )
    return selection


def _listed_indices(root: Path, cfg: SynthConfig, frame_ids: Sequence[int] | None):
    """The frames the root's ImageSets list after this run: None = all of ``cfg.frames`` (a
    full set, or chosen frames written into a full set's root), else the subset: the chosen
    frames and those of an earlier subset run into the same root (read after check_out_dir,
    so an --overwrite has already cleared them)."""
    if frame_ids is None:
        return None
    earlier_full = (root / CONFIG_NAME).is_file() and read_subset(root) is None
    if earlier_full:
        return None
    return sorted(set(_selection(cfg, frame_ids)) | set(read_subset(root) or ()))


def _write_dataset_files(root: Path, cfg: SynthConfig, listed: list[int] | None) -> None:
    """synth_config.yaml, ImageSets (and a subset's frame list), listed in the manifest first."""
    if listed is None:
        (root / SUBSET_NAME).unlink(missing_ok=True)  # a subset completed into the full set
        record(root, DATASET_ENTRY, DATASET_FILES)
    else:
        record(root, DATASET_ENTRY, (*DATASET_FILES, SUBSET_NAME))
        write_subset(root, listed)
    atomic_write_text(root / CONFIG_NAME, _config_text(cfg))
    splits = {"train": [], "val": []}
    for i in range(cfg.frames) if listed is None else listed:
        splits[frame_split(cfg.seed, i, cfg.val_fraction)].append(frame_id(i))
    for name, ids in splits.items():
        atomic_write_text(root / "ImageSets" / f"{name}.txt", "".join(f"{x}\n" for x in ids))


def _summary(results: Iterable[dict], skipped: int) -> dict:
    results = sorted(results, key=lambda r: r["index"])
    n = max(len(results), 1)
    return {
        "frames_written": len(results),
        "frames_skipped": skipped,
        "mean_seconds": mean_stage_seconds(results),
        "mean_points": sum(r["points"] for r in results) / n,
        "labels": sum(r["labels"] for r in results),
    }
