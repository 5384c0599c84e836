"""The manifest of a synthetic dataset: every file ``perception3d synth`` wrote into its folder.

``--overwrite`` removes exactly the files listed here and nothing else, and every run refuses a
folder holding, where the generator writes, a file it did not write (a real KITTI root, say),
so no user file is ever replaced or deleted.

Layout under the dataset root::

    .synth_manifest/dataset.txt    synth_config.yaml, ImageSets/train.txt, ImageSets/val.txt
                                   (and synth_frame_ids.txt in a subset root)
    .synth_manifest/<id>.txt       the files of frame <id> (training/<folder>/<id>.<ext>)

one path per line, relative to the root, ``/``-separated. Each manifest file is written
atomically *before* the files it lists (an intent log), so a run killed at any point leaves
no file of ours unlisted; one file per frame keeps parallel workers and shard jobs writing
into one folder from racing on a shared file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from perception3d.atomic import atomic_write_text, temporary_target

__all__ = [
    "CONFIG_NAME",
    "DATASET_FILES",
    "FRAME_FILES",
    "MANIFEST_DIR",
    "RAW_CAMERA_FOLDERS",
    "foreign_files",
    "frame_paths",
    "listed_files",
    "record",
]

# (folder under training/, suffix) of every per-frame file, in writing order (meta last).
FRAME_FILES = (
    ("velodyne", ".bin"),
    ("image_2", ".png"),
    ("calib", ".txt"),
    ("label_2", ".txt"),
    ("radiance_2", ".npy"),
    ("depth_2", ".npy"),
    ("instance_2", ".png"),
    ("semantic_2", ".png"),
    ("meta", ".json"),
)
# the camera's linear radiance and depth (float16 ``.npy``): skipped when ``raw_camera`` is false
RAW_CAMERA_FOLDERS = ("radiance_2", "depth_2")
CONFIG_NAME = "synth_config.yaml"
SUBSET_NAME = "synth_frame_ids.txt"  # only in a subset root (perception3d.sim.subset)
DATASET_FILES = (CONFIG_NAME, "ImageSets/train.txt", "ImageSets/val.txt")
MANIFEST_DIR = ".synth_manifest"
DATASET_ENTRY = "dataset"


def frame_paths(frame_id: str, raw_camera: bool = True) -> list[str]:
    """Root-relative paths of the files of one frame (without ``radiance_2`` and ``depth_2``
    when not ``raw_camera``).

    Example:
        >>> frame_paths("000003")[:2]
        ['training/velodyne/000003.bin', 'training/image_2/000003.png']
    """
    return [
        f"training/{sub}/{frame_id}{ext}"
        for sub, ext in FRAME_FILES
        if raw_camera or sub not in RAW_CAMERA_FOLDERS
    ]


def record(root: Path, entry: str, paths: Iterable[str]) -> Path:
    """List ``paths`` under manifest entry ``entry`` (``dataset`` or a frame id), atomically;
    call it before writing them."""
    return atomic_write_text(
        Path(root) / MANIFEST_DIR / f"{entry}.txt", "".join(f"{p}\n" for p in paths)
    )


def listed_files(root: Path) -> dict[str, list[str]]:
    """Manifest entry -> the root-relative paths it lists ({} without a manifest)."""
    folder = Path(root) / MANIFEST_DIR
    if not folder.is_dir():
        return {}
    out = {}
    for p in sorted(folder.glob("*.txt")):
        try:
            lines = p.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            continue  # not ours: it lists nothing
        out[p.stem] = [line for line in lines if _is_plain_relative(line)]
    return out


def _is_plain_relative(line: str) -> bool:
    """A listed path must stay inside the root (no absolute path, no ``..``)."""
    parts = line.split("/")
    return bool(line) and not line.startswith("/") and ".." not in parts and "" not in parts


def _generator_folders(root: Path) -> list[Path]:
    return [root / "training" / sub for sub, _ in FRAME_FILES] + [root / "ImageSets"]


def foreign_files(root: Path) -> list[str]:
    """Files where the generator writes (``training/<its folders>/``, ``ImageSets/``,
    ``synth_config.yaml``, ``synth_frame_ids.txt``) that no manifest lists, root-relative and
    sorted. Temporaries of atomic writes (``.<name>.<...>.tmp``: in flight in another shard's
    job, or left by a killed one) are not user files and are not counted."""
    root = Path(root)
    owned = {p for paths in listed_files(root).values() for p in paths}
    candidates = [root / name for name in (CONFIG_NAME, SUBSET_NAME) if (root / name).exists()]
    for folder in _generator_folders(root):
        if folder.is_dir():
            candidates += [p for p in folder.rglob("*") if not p.is_dir()]
    foreign = []
    for p in candidates:
        rel = p.relative_to(root).as_posix()
        if rel not in owned and temporary_target(p.name) is None:
            foreign.append(rel)
    return sorted(foreign)
