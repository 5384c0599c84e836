"""``perception3d synth-objectnet3d``: a synthetic ObjectNet3D in the real dataset's layout.

Writes under ``out_dir``::

    Annotations/<id>.mat        record (filename, imgsize, objects(j): class, bbox, cad_index,
                                viewpoint, truncated, occluded, difficult, shapenet)
    CAD/off/<class>/<nn>.off    the CAD models (0-based faces); CAD/cads.mat for the toolbox
    Image_sets/classes.txt, train.txt, val.txt, trainval.txt
    Images/<id>.JPEG
    synth_objectnet3d_config.yaml

Every object is a CAD model of ``shapes.py`` rendered with its annotated viewpoint camera, so
the annotation is exact: ``bbox`` is the tight box of the object's visible pixels (1-based,
inclusive), ``occluded`` is set when another object hides part of it, ``truncated`` when it
leaves the image. Same config and seed -> same bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from perception3d.atomic import atomic_write_bytes, atomic_write_text
from perception3d.config import to_dict
from perception3d.data.matfile import save_mat
from perception3d.data.objectnet3d import ObjectNet3DObject, ObjectNet3DRecord, Viewpoint
from perception3d.data.objectnet3d_write import write_annotation
from perception3d.data.off import TriangleMesh, write_off
from perception3d.geometry.iou import iou_2d
from perception3d.sim.objectnet3d.render import Placed, coverage, render
from perception3d.sim.objectnet3d.shapes import CLASSES, build_cad


@dataclass(frozen=True)
class SynthObjectNet3DConfig:
    """Options of the synthetic ObjectNet3D (``configs/datasets/synth_objectnet3d.yaml``).

    Attributes:
        num_images: images to render. val_fraction: share of them in ``val.txt``.
        seed: the randomness. image_width, image_height: pixels.
        classes: categories (from ``shapes.CLASSES``). cads_per_class: CAD models of each.
        max_objects: objects per image, 1..max_objects.
        object_size_px: range of the object's largest projected side (sets the distance).
        elevation_deg: range of the elevation. theta_std_deg: in-plane rotation spread.
        focal, viewport: the camera (focal length in pixels = focal * viewport).
        max_box_iou: objects whose boxes overlap more are re-sampled.
        min_visible_fraction: objects hidden more than this are dropped.
        noise_std: Gaussian pixel noise (sRGB, 0..1). jpeg_quality: 1..95.
    """

    num_images: int = 2000
    val_fraction: float = 0.25
    seed: int = 0
    image_width: int = 320
    image_height: int = 240
    classes: tuple[str, ...] = CLASSES
    cads_per_class: int = 8
    max_objects: int = 3
    object_size_px: tuple[float, float] = (60.0, 130.0)
    elevation_deg: tuple[float, float] = (-5.0, 40.0)
    theta_std_deg: float = 8.0
    focal: float = 1.0
    viewport: float = 2000.0
    max_box_iou: float = 0.3
    min_visible_fraction: float = 0.3
    noise_std: float = 0.02
    jpeg_quality: int = 92

    def __post_init__(self) -> None:
        unknown = sorted(set(self.classes) - set(CLASSES))
        if unknown or not self.classes:
            raise ValueError(
                f"classes must be a non-empty subset of {list(CLASSES)}, got {unknown}"
            )
        if self.num_images < 1 or self.cads_per_class < 1 or self.max_objects < 1:
            raise ValueError("num_images, cads_per_class and max_objects must be >= 1")
        if not 0.0 <= self.val_fraction <= 1.0:
            raise ValueError(f"val_fraction must be in [0, 1], got {self.val_fraction}")
        if not 0 < self.object_size_px[0] <= self.object_size_px[1]:
            raise ValueError(f"object_size_px must be 0 < lo <= hi, got {self.object_size_px}")
        if not 1 <= self.jpeg_quality <= 95:
            raise ValueError(f"jpeg_quality must be in 1..95, got {self.jpeg_quality}")


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """(H, W, 3) sRGB clutter: a colour gradient, soft waves and random rectangles."""
    ys, xs = np.mgrid[0:height, 0:width] / max(height, width)
    phi = rng.uniform(0, 2 * np.pi)
    ramp = np.clip(0.5 + (np.cos(phi) * (xs - 0.5) + np.sin(phi) * (ys - 0.5)), 0, 1)[..., None]
    img = rng.uniform(0.05, 0.9, 3) * (1 - ramp) + rng.uniform(0.05, 0.9, 3) * ramp
    for _ in range(3):
        freq, angle = rng.uniform(2, 12), rng.uniform(0, np.pi)
        wave = np.sin(
            2 * np.pi * freq * (np.cos(angle) * xs + np.sin(angle) * ys) + rng.uniform(0, 6)
        )
        img += 0.08 * wave[..., None] * rng.uniform(-1, 1, 3)
    for _ in range(int(rng.integers(3, 10))):
        h, w = rng.integers(8, height // 2), rng.integers(8, width // 2)
        r, c = rng.integers(0, height - h), rng.integers(0, width - w)
        alpha = rng.uniform(0.4, 1.0)
        img[r : r + h, c : c + w] = (1 - alpha) * img[r : r + h, c : c + w] + alpha * rng.uniform(
            0, 1, 3
        )
    return np.clip(img, 0, 1)


def _box_of(mask: np.ndarray) -> tuple[float, float, float, float]:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return float(cols[0] + 1), float(rows[0] + 1), float(cols[-1] + 1), float(rows[-1] + 1)


def _sample_objects(rng, cfg: SynthObjectNet3DConfig, cads: dict[str, list[TriangleMesh]]):
    height, width = cfg.image_height, cfg.image_width
    wanted = int(rng.integers(1, cfg.max_objects + 1))
    placed, labels, boxes, masks = [], [], [], []
    for _ in range(10 * wanted):
        if len(placed) == wanted:
            break
        class_name = str(rng.choice(cfg.classes))
        cad_index = int(rng.integers(1, cfg.cads_per_class + 1))
        size = rng.uniform(*cfg.object_size_px)
        vp = Viewpoint(
            azimuth_deg=float(rng.uniform(0.0, 360.0)),
            elevation_deg=float(rng.uniform(*cfg.elevation_deg)),
            theta_deg=float(np.clip(rng.normal(0.0, cfg.theta_std_deg), -25.0, 25.0)),
            distance=float(cfg.focal * cfg.viewport / size),  # CAD models are 1 unit at most
            focal=cfg.focal,
            viewport=cfg.viewport,
            px=float(rng.uniform(0.4 * size, width - 0.4 * size)),
            py=float(rng.uniform(0.4 * size, height - 0.4 * size)),
        )
        item = Placed(cads[class_name][cad_index - 1], vp, rng.uniform(0.1, 1.0, 3))
        mask = coverage(item, height, width)
        if mask.sum() < 100:
            continue
        box = _box_of(mask)
        if boxes and iou_2d(np.array([box]), np.array(boxes)).max() > cfg.max_box_iou:
            continue
        placed.append(item), labels.append((class_name, cad_index)), boxes.append(box)
        masks.append(mask)
    return placed, labels, masks


def _render_image(rng, cfg: SynthObjectNet3DConfig, cads, image_id: str):
    height, width = cfg.image_height, cfg.image_width
    placed, labels, masks = _sample_objects(rng, cfg, cads)
    background = _background(rng, height, width)
    while True:
        rgb, ids = render(placed, height, width, background)
        visible = [ids == k + 1 for k in range(len(placed))]
        keep = [v.sum() >= cfg.min_visible_fraction * m.sum() for v, m in zip(visible, masks)]
        if all(keep):
            break
        placed = [p for p, k in zip(placed, keep) if k]
        labels = [x for x, k in zip(labels, keep) if k]
        masks = [m for m, k in zip(masks, keep) if k]
    objects = []
    for item, (class_name, cad_index), vis, full in zip(placed, labels, visible, masks):
        uv = item.viewpoint.project(item.mesh.vertices)
        outside = uv.min() < 0.5 or uv[:, 0].max() > width + 0.5 or uv[:, 1].max() > height + 0.5
        objects.append(
            ObjectNet3DObject(
                class_name,
                _box_of(vis),
                cad_index,
                item.viewpoint,
                truncated=bool(outside),
                occluded=bool(vis.sum() < full.sum()),
            )
        )
    rgb = rgb + rng.normal(0.0, cfg.noise_std, rgb.shape)
    image = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    record = ObjectNet3DRecord(image_id, f"{image_id}.JPEG", (width, height), tuple(objects))
    return image, record


def _write_jpeg(path: Path, image: np.ndarray, quality: int) -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    atomic_write_bytes(path, buf.getvalue())


def _write_cads(out: Path, cads: dict[str, list[TriangleMesh]]) -> None:
    for class_name, meshes in cads.items():
        for k, mesh in enumerate(meshes, start=1):
            write_off(out / "CAD" / "off" / class_name / f"{k:02d}.off", mesh)
    # CAD/cads.mat as the toolbox's show_pose_annotations.m loads it: cads{c}(k).vertices/faces
    cells = np.empty((1, len(cads)), dtype=object)
    for c, meshes in enumerate(cads.values()):
        arr = np.empty((1, len(meshes)), dtype=[("vertices", object), ("faces", object)])
        for k, mesh in enumerate(meshes):
            arr[0, k] = (mesh.vertices, (mesh.faces + 1).astype(np.float64))
        cells[0, c] = arr
    names = np.empty((1, len(cads)), dtype=object)
    names[0, :] = list(cads)
    save_mat(out / "CAD" / "cads.mat", {"cads": cells, "class_names": names})


def generate_synthetic_objectnet3d(
    out_dir: str | Path, cfg: SynthObjectNet3DConfig, progress: bool = True
) -> dict:
    """Render the dataset into ``out_dir``; return a summary (counts per split and class)."""
    from tqdm import tqdm

    out = Path(out_dir)
    cad_seq, image_seq, split_seq = np.random.SeedSequence(cfg.seed).spawn(3)
    cad_rng = np.random.default_rng(cad_seq)
    cads = {c: [build_cad(c, cad_rng) for _ in range(cfg.cads_per_class)] for c in cfg.classes}
    _write_cads(out, cads)
    ids = [f"synth_{i:06d}" for i in range(cfg.num_images)]
    counts = dict.fromkeys(cfg.classes, 0)
    seeds = image_seq.spawn(cfg.num_images)
    for image_id, seed in tqdm(
        list(zip(ids, seeds)), desc="synth-objectnet3d", disable=not progress
    ):
        image, record = _render_image(np.random.default_rng(seed), cfg, cads, image_id)
        _write_jpeg(out / "Images" / record.filename, image, cfg.jpeg_quality)
        write_annotation(out / "Annotations" / f"{image_id}.mat", record)
        for obj in record.objects:
            counts[obj.class_name] += 1
    order = np.random.default_rng(split_seq).permutation(cfg.num_images)
    num_val = round(cfg.val_fraction * cfg.num_images)
    val = sorted(ids[i] for i in order[:num_val])
    train = sorted(ids[i] for i in order[num_val:])
    sets = out / "Image_sets"
    for name, items in (
        ("classes", cfg.classes),
        ("train", train),
        ("val", val),
        ("trainval", ids),
    ):
        atomic_write_text(sets / f"{name}.txt", "".join(f"{x}\n" for x in items))
    config_text = yaml.safe_dump(to_dict(cfg), sort_keys=False)
    atomic_write_text(out / "synth_objectnet3d_config.yaml", config_text)
    return {"out_dir": str(out), "num_train": len(train), "num_val": len(val), "objects": counts}


def load_synth_objectnet3d_config(
    path: str | Path | None = None, overrides: tuple[str, ...] | list[str] = ()
) -> SynthObjectNet3DConfig:
    """The config of ``path`` (YAML), or the defaults when None, with ``key=value`` overrides."""
    from perception3d.config import load_config_or_defaults

    return load_config_or_defaults(path, SynthObjectNet3DConfig, overrides)
