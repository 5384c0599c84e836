"""Task of PointNet recognition of ObjectNet3D CAD models (``task: recognition``,
``configs/objectnet3d/recognition.yaml``).

The CAD models of each class are split by index: the last ``data.test_fraction`` of them (at
least one, when a class has two or more) are held-out shapes for testing, the others train.
Every epoch samples fresh clouds from the training meshes (uniform on the surface, centred,
scaled into the unit sphere, random anisotropic scale and jitter; with ``train_rotation: so3``
also a random rotation), drawn from ``(seed, epoch)``. The test clouds are sampled once with a
fixed seed and scored twice: aligned (the CAD frame, as the dataset aligns its models) and
under random rotations.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from perception3d.config import require_root
from perception3d.data.objectnet3d import ObjectNet3DDataset
from perception3d.data.off import TriangleMesh, sample_surface
from perception3d.engine.distributed import DistInfo
from perception3d.engine.objectnet3d_config import RecognitionData, RecognitionExperiment
from perception3d.engine.task import Task, count_index_batches, index_batches, model_device
from perception3d.models.pointnet_classifier import PointNetClassifier


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
    cfg: RecognitionData,
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


class RecognitionTask(Task):
    """PointNet recognition training (see the module docstring)."""

    def __init__(self, cfg: RecognitionExperiment) -> None:
        self.dataset = ObjectNet3DDataset(require_root(cfg.data, cfg.task), split=None)
        if cfg.model.classes is None:  # the checkpoint names the classes
            model = dataclasses.replace(cfg.model, classes=tuple(self.dataset.classes))
            cfg = dataclasses.replace(cfg, model=model)
        self.config = cfg
        self.train_items: list = []
        self.test: tuple = ()

    def build_model(self) -> PointNetClassifier:
        m = self.config.model
        return PointNetClassifier(len(m.classes), m.input_transform, m.widths)

    def prepare(self, progress: bool) -> None:
        data, seed = self.config.data, self.config.train.seed
        self.train_items, test_items = split_cads(self.dataset, data.test_fraction)
        if not self.train_items or not test_items:
            raise ValueError(f"{data.root}: need CAD models to train and to test (>= 2 per class)")
        test_rng = np.random.default_rng(seed + 1)
        clouds, labels = sample_clouds(test_items, data.test_clouds_per_mesh, data, test_rng,
                                       rotate=False, augment=False)  # fmt: skip
        rotations = Rotation.random(len(clouds), random_state=seed + 2).as_matrix()
        rotated = np.einsum("mij,mnj->mni", rotations, clouds).astype(np.float32)
        self.test = (clouds, rotated, labels, len(test_items))

    def _count(self) -> int:
        return len(self.train_items) * self.config.data.clouds_per_mesh

    def steps_per_epoch(self, shard: DistInfo) -> int:  # a batch of 1 breaks BatchNorm
        return count_index_batches(self._count(), self.config.train.batch_size, shard, 2)

    def batches(self, epoch: int, shard: DistInfo):
        tc, data = self.config.train, self.config.data
        rng = np.random.default_rng([tc.seed, epoch])
        rotate = data.train_rotation == "so3"
        clouds, labels = sample_clouds(self.train_items, data.clouds_per_mesh, data, rng,
                                       rotate=rotate, augment=True)  # fmt: skip
        for idx in index_batches(len(clouds), tc.batch_size, tc.seed, epoch, shard, 2):
            yield torch.from_numpy(clouds[idx]), torch.from_numpy(labels[idx])

    def loss(self, model, batch):
        clouds, labels = batch
        device = model_device(model)
        logits = model(clouds.to(device))
        return torch.nn.functional.cross_entropy(logits, labels.to(device)), {}

    def evaluate(self, model: PointNetClassifier, out_dir: Path, progress: bool) -> dict:
        clouds, rotated, labels, num_test_meshes = self.test
        device = model_device(model)
        return {
            "aligned": accuracy(model, clouds, labels, device),
            "rotated": accuracy(model, rotated, labels, device),
            "num_train_meshes": len(self.train_items),
            "num_test_meshes": num_test_meshes,
            "num_test_clouds": len(clouds),
        }
