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
import os
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import yaml
from tqdm import tqdm

from perception3d.atomic import atomic_write_bytes, atomic_write_text, temporary_target
from perception3d.config import to_dict
from perception3d.data.kitti import write_label_file, write_velodyne
from perception3d.errors import DataFormatError, Perception3DError
from perception3d.sim.config import SynthConfig
from perception3d.sim.frame import SynthFrame, frame_id, frame_split, generate_frame
from perception3d.sim.manifest import (
    CONFIG_NAME,
    DATASET_ENTRY,
    DATASET_FILES,
    FRAME_FILES,
    MANIFEST_DIR,
    foreign_files,
    frame_paths,
    listed_files,
    record,
)

__all__ = ["FRAME_FILES", "generate_dataset", "listed_files", "parse_shard", "write_frame"]

_PNG_LEVEL = 3  # zlib level: level 6 (PIL's default) costs ~2x the time for ~5 % smaller files


class DatasetExistsError(Perception3DError, FileExistsError):
    """The output folder holds something this run must not overwrite."""


def _png(array: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=_PNG_LEVEL)
    return buf.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def write_frame(root: Path, frame: SynthFrame) -> None:
    """Write every file of ``frame`` under ``root/training`` (meta last, each atomically),
    after listing them in the dataset's manifest (``perception3d.sim.manifest``)."""
    d = Path(root) / "training"
    fid = frame.frame_id
    record(Path(root), fid, frame_paths(fid))
    write_velodyne(d / "velodyne" / f"{fid}.bin", frame.sweep.points)
    atomic_write_bytes(d / "image_2" / f"{fid}.png", _png(frame.image_srgb))
    frame.calib.write(d / "calib" / f"{fid}.txt")
    write_label_file(d / "label_2" / f"{fid}.txt", frame.labels.objects)
    atomic_write_bytes(
        d / "radiance_2" / f"{fid}.npy", _npy(frame.camera.radiance.astype(np.float16))
    )
    atomic_write_bytes(d / "depth_2" / f"{fid}.npy", _npy(frame.camera.depth_m.astype(np.float16)))
    atomic_write_bytes(d / "instance_2" / f"{fid}.png", _png(frame.labels.instance_map))
    atomic_write_bytes(d / "semantic_2" / f"{fid}.png", _png(frame.camera.semantic))
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


def _frame_done(root: Path, fid: str) -> bool:
    return (root / "training" / "meta" / f"{fid}.json").is_file()


def _frame_started(root: Path, fid: str) -> bool:
    return any((root / "training" / sub / f"{fid}{ext}").exists() for sub, ext in FRAME_FILES)


def _frame_index(name: str) -> int | None:
    """Frame index of a per-frame file name (``000012.png``, ``.000012.png.x1y2.tmp``)."""
    stem = name.lstrip(".").split(".")[0]
    return int(stem) if stem.isdigit() else None


def _shard_files(root: Path, shard: tuple[int, int], pattern: str):
    """Per-frame files (matching ``pattern``) of frames that belong to ``shard``."""
    i, n = shard
    for sub, _ in FRAME_FILES:
        folder = root / "training" / sub
        if folder.is_dir():
            for p in folder.glob(pattern):
                index = _frame_index(p.name)
                if index is not None and index % n == i:
                    yield p


def _in_shard(entry: str, shard: tuple[int, int]) -> bool:
    """Whether manifest entry ``entry`` (a frame id, or ``dataset``) belongs to ``shard``."""
    if entry == DATASET_ENTRY:
        return True
    return entry.isdigit() and int(entry) % shard[1] == shard[0]


def _clear(root: Path, shard: tuple[int, int]) -> None:
    """Remove the files the manifest lists for this shard's frames and the dataset files, the
    temporaries of their interrupted writes, and the folders this leaves empty. Nothing
    unlisted is touched; the other shards' frames stay, so every job of an array can pass
    --overwrite."""
    removed: set[str] = set()
    for entry, paths in listed_files(root).items():
        if not _in_shard(entry, shard):
            continue
        for rel in paths:
            (root / rel).unlink(missing_ok=True)
            removed.add(rel)
        (root / MANIFEST_DIR / f"{entry}.txt").unlink(missing_ok=True)
    for folder in {(root / rel).parent for rel in removed}:
        if folder.is_dir():
            for p in folder.glob(".*.tmp"):
                target = temporary_target(p.name)
                if target and (folder / target).relative_to(root).as_posix() in removed:
                    p.unlink(missing_ok=True)
    for folder in [root / "training" / sub for sub, _ in FRAME_FILES] + [
        root / "training",
        root / "ImageSets",
        root / MANIFEST_DIR,
    ]:
        try:
            folder.rmdir()  # only if empty
        except OSError:
            pass


def _remove_temporaries(root: Path, shard: tuple[int, int]) -> None:
    """Temporary files of atomic writes killed mid-way (``.<name>.<random>.tmp``) of this
    shard's frames (another shard may be writing its own right now)."""
    for p in list(_shard_files(root, shard, ".*.tmp")):
        p.unlink(missing_ok=True)


def _refuse_foreign(root: Path) -> None:
    foreign = foreign_files(root)
    if not foreign:
        return
    shown = ", ".join(foreign[:5]) + (f", ... ({len(foreign)} files)" if len(foreign) > 5 else "")
    legacy = (root / CONFIG_NAME).is_file() and not (root / MANIFEST_DIR).is_dir()
    raise DatasetExistsError(
        f"{root} holds files that perception3d synth did not write, where it writes ({shown}): "
        "refusing to write into it (nothing was changed); choose an empty or new folder"
        + (
            f" (a dataset written by a version without {MANIFEST_DIR}/: remove it yourself)"
            if legacy
            else ""
        )
    )


def _old_config(path: Path) -> dict:
    try:
        old = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"not a readable synth config ({exc})") from None
    if not isinstance(old, dict):
        raise DataFormatError(path, f"expected a mapping of config keys, got {type(old).__name__}")
    return old


def _check_out_dir(
    root: Path, cfg: SynthConfig, shard: tuple[int, int], overwrite: bool, resume: bool
) -> None:
    if not root.exists() or not any(root.iterdir()):
        return
    _refuse_foreign(root)
    if overwrite:
        _clear(root, shard)
        return
    existing = root / CONFIG_NAME
    if not existing.is_file():
        raise DatasetExistsError(
            f"{root} is not empty and holds no synthetic dataset ({CONFIG_NAME}): refusing to "
            "write into it; choose an empty or new folder"
        )
    old = _old_config(existing)
    new = to_dict(cfg)
    differs = sorted(k for k in set(old) | set(new) if k != "frames" and old.get(k) != new.get(k))
    if differs:
        raise DatasetExistsError(
            f"{root} holds a dataset made with a different config ({existing}: {differs} differ); "
            "pass --overwrite to replace it"
        )
    old_frames = old.get("frames")
    if old_frames != cfg.frames and not (resume and _at_least(cfg.frames, old_frames)):
        raise DatasetExistsError(
            f"{root} holds a dataset of {old_frames} frames ({existing}) and this run asks for "
            f"{cfg.frames}: --resume completes a run or grows it (--frames {old_frames} or "
            "more), it never shrinks one (its config and splits would leave frames on disk "
            "unlisted); pass --overwrite to replace it"
        )
    mine = range(shard[0], cfg.frames, shard[1])
    if not resume and any(_frame_started(root, frame_id(i)) for i in mine):
        raise DatasetExistsError(
            f"{root} already holds frames of this run: pass --resume to complete it or "
            "--overwrite to start over"
        )


def _at_least(frames: int, old_frames: object) -> bool:
    return isinstance(old_frames, int) and frames >= old_frames


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
        write_frame(Path(root), frame)
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


def _init_worker() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def generate_dataset(
    out: str | Path,
    cfg: SynthConfig,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
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

    Returns:
        Summary: frames written and skipped, mean seconds per stage, points, labels.

    Raises:
        DatasetExistsError: ``out`` is not empty and neither flag allows writing into it; it
            holds files this generator did not write where it writes (any flag); or
            ``resume`` would shrink the dataset (fewer frames than its config).
        DataFormatError: its ``synth_config.yaml`` is not a readable config.
        ValueError: bad shard or worker count.
    """
    root = Path(out)
    i_shard, n_shard = shard
    if not 0 <= i_shard < n_shard or workers < 1:
        raise ValueError(f"need 0 <= shard i < n and workers >= 1, got {shard}, {workers}")
    mine = list(range(i_shard, cfg.frames, n_shard))
    _check_out_dir(root, cfg, shard, overwrite, resume)
    root.mkdir(parents=True, exist_ok=True)
    _remove_temporaries(root, shard)
    record(root, DATASET_ENTRY, DATASET_FILES)
    atomic_write_text(root / CONFIG_NAME, _config_text(cfg))
    splits = {"train": [], "val": []}
    for i in range(cfg.frames):
        splits[frame_split(cfg.seed, i, cfg.val_fraction)].append(frame_id(i))
    for name, ids in splits.items():
        atomic_write_text(root / "ImageSets" / f"{name}.txt", "".join(f"{x}\n" for x in ids))
    todo = [i for i in mine if not (resume and _frame_done(root, frame_id(i)))]
    results: list[dict] = []
    bar = tqdm(total=len(todo), desc="synth", unit="frame", disable=not progress)
    if workers == 1 or len(todo) <= 1:
        results = _run_frames(cfg, str(root), todo, on_done=bar.update)
    else:
        # Forkserver: workers fork from a clean server that imported the generator once (plain
        # fork could inherit Open3D thread pools mid-use; spawn re-imports torch per worker).
        ctx = get_context("forkserver")
        ctx.set_forkserver_preload(["perception3d.sim.writer", "open3d"])
        chunks = _chunks(todo, workers)
        with ProcessPoolExecutor(
            min(workers, len(chunks)), mp_context=ctx, initializer=_init_worker
        ) as pool:
            futures = [pool.submit(_run_frames, cfg, str(root), chunk) for chunk in chunks]
            for fut in as_completed(futures):
                done = fut.result()
                results += done
                bar.update(len(done))
    bar.close()
    return _summary(results, len(mine) - len(todo))


def _summary(results: Iterable[dict], skipped: int) -> dict:
    results = sorted(results, key=lambda r: r["index"])
    stages = sorted({k for r in results for k in r["seconds"]})
    n = max(len(results), 1)
    return {
        "frames_written": len(results),
        "frames_skipped": skipped,
        "mean_seconds": {k: sum(r["seconds"].get(k, 0.0) for r in results) / n for k in stages},
        "mean_points": sum(r["points"] for r in results) / n,
        "labels": sum(r["labels"] for r in results),
    }
