"""Inference backends (perception3d.engine.backend): ``fused`` gives the detections of
``eager`` from the same checkpoint (the shipped PointPillars-lite weights, OpenPCDet's converted
PointPillars), through ``Detector``, ``detect`` and ``infer``; both take sweeps without a point
in range; a backend a model cannot use is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from perception3d.cli import main
from perception3d.data.pointcloud import read_point_cloud
from perception3d.engine.backend import inference_model
from perception3d.engine.checkpoint import save_checkpoint
from perception3d.engine.config import load_experiment
from perception3d.engine.detect import Detector
from perception3d.errors import ConfigError
from perception3d.models.detector import build_detector
from perception3d.models.fused import FusedPointPillars
from tests.models.conftest import CONFIGS, TINY_OVERRIDES, tiny_config

LITE = "configs/models/pointpillars_lite.yaml"
SHIPPED = "perception3d/assets/weights/pointpillars_lite_synth.pt"
VELODYNE = "tests/data/kitti_samples/training/velodyne"
# fused vs eager: the same boxes, up to float rounding (the order of a few sums changes)
BOX_ATOL, SCORE_ATOL = 5e-4, 3e-4


def assert_same_detections(fused, eager) -> None:
    """Per class, the same number of boxes, each eager box with its own fused box within the
    tolerances (boxes of near-equal scores may swap places in the order)."""
    assert len(fused) == len(eager)
    for label in range(len(eager.classes)):
        a, b = eager.labels == label, fused.labels == label
        assert a.sum() == b.sum()
        if not a.any():
            continue
        box_a, box_b = eager.boxes_lidar[a], fused.boxes_lidar[b]
        dist = np.abs(box_a[:, None, :] - box_b[None, :, :]).max(axis=2)
        pair = dist.argmin(axis=1)
        assert len(np.unique(pair)) == len(pair)  # one to one
        assert dist[np.arange(len(pair)), pair].max() <= BOX_ATOL
        np.testing.assert_allclose(fused.scores[b][pair], eager.scores[a], 0, SCORE_ATOL)


@pytest.fixture(scope="module")
def shipped():
    kw = {"config": LITE, "checkpoint": SHIPPED, "device": "cpu"}
    return Detector.from_checkpoint(**kw), Detector.from_checkpoint(**kw, backend="fused")


def test_fused_shipped_weights_give_the_eager_detections(shipped):
    eager, fused = shipped
    assert isinstance(fused.model, FusedPointPillars)
    total = 0
    for frame in ("000008", "004139"):
        points = read_point_cloud(f"{VELODYNE}/{frame}.bin")
        a, b = eager.run(points, decode_all=True), fused.run(points, decode_all=True)
        assert_same_detections(b.detections, a.detections)
        total += len(a.detections)
        for head_a, head_b in zip(a.heads, b.heads, strict=True):  # front and rear pass
            np.testing.assert_allclose(head_b.scores, head_a.scores, 0, SCORE_ATOL)
            # every anchor, also far from any point: float rounding of the head moves decoded
            # boxes by up to 6e-4 m there (the weights of 2026-12-05), and anchors of
            # kilometre-sized decoded boxes need a relative tolerance
            box_a, box_b = head_a.boxes_lidar, head_b.boxes_lidar
            np.testing.assert_allclose(box_b[:, :3], box_a[:, :3], 1e-4, 1e-3)
            # sizes are exp(delta) * anchor: a rounding of delta by 1e-4 is a relative 1e-4 of
            # the size (the weights of 2026-12-07: 1.06e-4 on 5 of 230,400 anchor sizes, heights
            # of 434-458 m decoded far from any point), so they are compared as logs
            np.testing.assert_allclose(np.log(box_b[:, 3:6]), np.log(box_a[:, 3:6]), 0, 2e-4)
            # where the direction classifier's two logits tie to float rounding (anchors far
            # from any point), the direction bin may turn a heading by pi: allow that on a
            # handful of anchors, and nothing else
            # (headings are wrapped to [-pi, pi): one at +pi and its twin at -pi are the same,
            # as on an anchor of the weights of 2026-12-07, so differences are taken mod 2 pi)
            diff = np.mod(box_b[:, 6].astype(np.float64) - box_a[:, 6] + np.pi, 2 * np.pi) - np.pi
            flipped = np.abs(np.abs(diff) - np.pi) <= 1e-3 + 1e-4 * np.pi
            assert flipped.sum() <= 3, f"{flipped.sum()} of {len(diff)} headings turned by pi"
            np.testing.assert_array_less(np.abs(diff[~flipped]), 1e-3 + 1e-4 * np.pi)
    assert total >= 20  # the shipped weights find objects on these real sweeps


@pytest.mark.parametrize("backend", ["eager", "fused"])
def test_sweeps_without_a_point_in_range_have_no_detections(shipped, backend):
    detector = shipped[backend == "fused"]
    # nothing; then points outside the grid (|y| > 25.6 m) in both passes (front, turned)
    far = np.array([[10.0, 60.0, -1.0, 0.5], [-10.0, -60.0, -1.0, 0.5]] * 50, np.float32)
    for points in (np.zeros((0, 4), np.float32), far):
        out = detector.run(points, decode_all=True)
        assert len(out.detections) == 0 and out.detections.boxes_lidar.shape == (0, 7)
        assert len(out.heads) == 2
        assert all(len(h.scores) == len(detector.model.anchors) for h in out.heads)
        assert len(detector(points[:, :3])) == 0


def test_empty_sweep_heads_agree(shipped):
    eager, fused = shipped
    empty = np.zeros((0, 4), np.float32)
    a, b = eager.run(empty, decode_all=True), fused.run(empty, decode_all=True)
    for head_a, head_b in zip(a.heads, b.heads, strict=True):
        np.testing.assert_allclose(head_b.scores, head_a.scores, 0, SCORE_ATOL)


def test_fused_converted_openpcdet_checkpoint(tmp_path):
    """OpenPCDet's PointPillars (reference random weights, converted) loaded from a
    perception3d checkpoint with ``backend="fused"``: the eager detections, front pass."""
    from tests.interop.conftest import compact, compact_state, config

    name = "openpcdet_pointpillar"
    from perception3d.interop.checkpoints import load_framework_model

    cfg = config(name)
    model = load_framework_model("openpcdet", compact_state(compact(name)), cfg, name)
    ckpt = save_checkpoint(tmp_path / "pp.pt", model, None, 0, cfg)
    points = read_point_cloud(f"{VELODYNE}/004139.bin")
    # (a threshold that keeps fewer boxes than max_detections: none at the cut)
    kw = {"device": "cpu", "full_circle": False, "score_threshold": 0.9}
    eager = Detector.from_checkpoint(cfg, ckpt, **kw)(points)
    fused = Detector.from_checkpoint(cfg, ckpt, backend="fused", **kw)(points)
    assert len(eager) > 10
    assert_same_detections(fused, eager)


def test_backends_a_model_cannot_use_are_refused():
    second = build_detector(load_experiment(CONFIGS / "second.yaml").model).eval()
    with pytest.raises(ConfigError, match="PointPillars family"):
        inference_model(second, "fused")
    assert inference_model(second, "eager") is second
    lite = build_detector(load_experiment(LITE).model).eval()
    with pytest.raises(ConfigError, match="eager, fused"):
        inference_model(lite, "tensorrt")


def test_detect_and_infer_cli_backend_fused(kitti_root, tmp_path, capsys):
    cfg = tiny_config(kitti_root)
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "m.pt", build_detector(cfg.model), None, 0, cfg)
    sets = [a for o in (*TINY_OVERRIDES, "model.postprocess.score_threshold=0.0")
            for a in ("--set", o)]  # fmt: skip
    sweep = str(kitti_root / "training/velodyne/004139.bin")
    common = [str(CONFIGS / "pointpillars_lite.yaml"), str(ckpt)]
    boxes = {}
    for backend in ("eager", "fused"):
        out = tmp_path / backend
        argv = ["detect", *common, sweep, "--out", str(out / "det"), "--backend", backend]
        assert main([*argv, "--device", "cpu", "--no-progress", *sets]) == 0
        boxes[backend] = json.loads((out / "det/004139.json").read_text())["boxes"]
        argv = ["infer", *common, "--data-root", str(kitti_root), "--split", "training"]
        argv += ["--out", str(out / "infer"), "--backend", backend, "--no-progress"]
        assert main([*argv, "--device", "cpu", *sets]) == 0
        boxes[backend + " infer"] = (out / "infer/004139.txt").read_text().splitlines()
    capsys.readouterr()
    assert len(boxes["fused"]) == len(boxes["eager"]) > 0
    for f, e in zip(boxes["fused"], boxes["eager"]):
        assert f["label"] == e["label"]
        np.testing.assert_allclose(f["center"] + f["size"], e["center"] + e["size"], 0, 1e-3)
    rows = [[r.split() for r in boxes[f"{b} infer"]] for b in ("fused", "eager")]
    assert len(rows[0]) == len(rows[1]) > 0
    for f, e in zip(*rows):
        assert f[0] == e[0]
        np.testing.assert_allclose(np.float64(f[1:]), np.float64(e[1:]), 0, 2e-2)
