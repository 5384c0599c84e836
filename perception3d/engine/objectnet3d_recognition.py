"""3D recognition on ObjectNet3D CAD models: PointNet on points sampled from the meshes.

The CAD models of each class are split by index: the last ``test_fraction`` of them (at least
one, when a class has two or more) are held-out shapes for testing, the others train. Every
epoch samples fresh clouds from the training meshes (uniform on the surface, centred, scaled
into the unit sphere, random anisotropic scale and jitter; with ``train_rotation: so3`` also
a random rotation). The test clouds are sampled once with a fixed seed and scored twice:
aligned (the CAD frame, as the dataset aligns its models) and under random rotations.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from perception3d.atomic import atomic_write_bytes, atomic_write_text
from perception3d.config import to_dict
from perception3d.data.objectnet3d import ObjectNet3DDataset
from perception3d.data.off import TriangleMesh, sample_surface
from perception3d.models.pointnet_classifier import PointNetClassifier
from perception3d.runtime import resolve_device, seed_everything, torch_threads


@dataclass(frozen=True)
class RecognitionConfig:
    """Options of ``perception3d objectnet3d train-recognition``
    (``configs/objectnet3d/recognition.yaml`` lists them with their meaning)."""

    num_points: int = 256
    clouds_per_mesh: int = 32
    test_clouds_per_mesh: int = 16
    test_fraction: float = 0.25
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    input_transform: bool = True
    train_rotation: Literal["none", "so3"] = "none"
    widths: tuple[int, ...] = (64, 128, 256)
    jitter_std: float = 0.01
    scale_range: tuple[float, float] = (0.85, 1.15)
    seed: int = 0
    device: str = "cpu"
    num_threads: int = 0

    def __post_init__(self) -> None:
        if self.num_points < 1 or self.epochs < 0 or self.batch_size < 1:
            raise ValueError("num_points and batch_size must be >= 1, epochs >= 0")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in [0, 1), got {self.test_fraction}")


def split_cads(
    dataset: ObjectNet3DDataset, test_fraction: float
) -> tuple[list[tuple[int, TriangleMesh]], list[tuple[int, TriangleMesh]]]:
    """(label, mesh) pairs for training and held-out testing, classes of ``classes.txt``."""
    train, test = [], []
    for label, name in enumerate(dataset.classes):
        indices = dataset.cad_indices(name)
        num_test = 0 if len(indices) < 2 else max(1, round(test_fraction * len(indices)))
        for i, index in enumerate(indices):
            target = test if i >= len(indices) - num_test else train
            target.append((label, dataset.cad(name, index)))
    return train, test


def sample_clouds(
    items: list[tuple[int, TriangleMesh]],
    per_mesh: int,
    cfg: RecognitionConfig,
    rng: np.random.Generator,
    rotate: bool,
    augment: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Clouds (M, num_points, 3) float32 in the unit sphere and labels (M,) int64."""
    clouds, labels = [], []
    for label, mesh in items:
        for _ in range(per_mesh):
            pts = sample_surface(mesh, cfg.num_points, rng)
            pts -= pts.mean(0)
            pts /= np.linalg.norm(pts, axis=1).max()
            if augment:
                pts *= rng.uniform(*cfg.scale_range, size=3)
                pts += np.clip(rng.normal(0, cfg.jitter_std, pts.shape), -0.05, 0.05)
            clouds.append(pts)
            labels.append(label)
    out = np.stack(clouds)
    if rotate:
        rot = Rotation.random(len(out), random_state=int(rng.integers(2**31))).as_matrix()
        out = np.einsum("mij,mnj->mni", rot, out)
    return out.astype(np.float32), np.array(labels, dtype=np.int64)


@torch.no_grad()
def accuracy(model: torch.nn.Module, clouds: np.ndarray, labels: np.ndarray, device) -> dict:
    """Overall and class-mean accuracy in percent."""
    model.eval()
    pred = torch.cat([model(torch.from_numpy(clouds[i : i + 256]).to(device)).argmax(1).cpu()
                      for i in range(0, len(clouds), 256)]).numpy()  # fmt: skip
    per_class = [float(np.mean(pred[labels == c] == c)) for c in np.unique(labels)]
    return {"accuracy": 100.0 * float(np.mean(pred == labels)),
            "class_mean_accuracy": 100.0 * float(np.mean(per_class))}  # fmt: skip


def train_recognition(data_root: str | Path, out_dir: str | Path, cfg: RecognitionConfig) -> dict:
    """Train PointNet on the CAD models of ``data_root``; write ``model.pt`` and
    ``metrics.json`` into ``out_dir``; return the metrics."""
    with torch_threads(cfg.num_threads):
        return _train_recognition(data_root, out_dir, cfg)


def _train_recognition(data_root: str | Path, out_dir: str | Path, cfg: RecognitionConfig) -> dict:
    rng = seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    dataset = ObjectNet3DDataset(data_root, split=None)
    train_items, test_items = split_cads(dataset, cfg.test_fraction)
    if not train_items or not test_items:
        raise ValueError(f"{data_root}: need CAD models to train and to test (>= 2 per class)")
    test_rng = np.random.default_rng(cfg.seed + 1)
    test_clouds, test_labels = sample_clouds(test_items, cfg.test_clouds_per_mesh, cfg, test_rng,
                                             rotate=False, augment=False)  # fmt: skip
    rotations = Rotation.random(len(test_clouds), random_state=cfg.seed + 2).as_matrix()
    test_rotated = np.einsum("mij,mnj->mni", rotations, test_clouds).astype(np.float32)

    model = PointNetClassifier(len(dataset.classes), cfg.input_transform, cfg.widths).to(device)
    optim = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(optim, T_max=max(cfg.epochs, 1))
    history, start = [], time.time()
    for epoch in range(cfg.epochs):
        rotate = cfg.train_rotation == "so3"
        clouds, labels = sample_clouds(
            train_items, cfg.clouds_per_mesh, cfg, rng, rotate=rotate, augment=True
        )
        model.train()
        order = rng.permutation(len(clouds))
        total = 0.0
        for i in range(0, len(order) - 1, cfg.batch_size):  # a batch of 1 breaks BatchNorm
            idx = order[i : i + cfg.batch_size]
            logits = model(torch.from_numpy(clouds[idx]).to(device))
            loss = torch.nn.functional.cross_entropy(
                logits, torch.from_numpy(labels[idx]).to(device)
            )
            optim.zero_grad()
            loss.backward()
            optim.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        history.append({"epoch": epoch + 1, "loss": total / len(order)})
        print(f"epoch {epoch + 1}/{cfg.epochs} loss {total / len(order):.4f}", flush=True)
    metrics = {
        "aligned": accuracy(model, test_clouds, test_labels, device),
        "rotated": accuracy(model, test_rotated, test_labels, device),
        "num_train_meshes": len(train_items),
        "num_test_meshes": len(test_items),
        "num_test_clouds": len(test_clouds),
        "train_seconds": time.time() - start,
        "config": to_dict(cfg),
        "history": history,
    }
    out = Path(out_dir)
    buf = io.BytesIO()
    torch.save({"state_dict": model.state_dict(), "config": to_dict(cfg),
                "classes": list(dataset.classes)}, buf)  # fmt: skip
    atomic_write_bytes(out / "model.pt", buf.getvalue())
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return metrics
