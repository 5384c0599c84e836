"""Run an exported PointPillars (:mod:`perception3d.interop.onnx_export`) with ONNX Runtime on
the CPU: pillar feature net (ONNX) -> scatter (torch) -> BEV network (ONNX) -> decoding and NMS
(:func:`perception3d.models.postprocess.select_detections`). Needs the ``onnx`` extra
(``pip install 'perception3d[onnx]'``)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from perception3d.engine.config import experiment_from_dict
from perception3d.models.anchors import make_anchors
from perception3d.models.box_coder import ResidualBoxCoder
from perception3d.models.detector import Detections, VoxelBatch
from perception3d.models.heads import HeadOutput
from perception3d.models.pillars import scatter_to_bev
from perception3d.models.postprocess import select_detections


def session(path: str | Path, threads: int | None = None):
    """An ``onnxruntime.InferenceSession`` on the CPU (``threads``: intra-op threads, default
    torch's current count, so both runtimes are compared on the same cores)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class OnnxPointPillars:
    """An exported PointPillars with the interface of
    :class:`~perception3d.models.detector.VoxelDetector` for inference:
    ``head_out = runner(batch)``, ``runner.postprocess(head_out)``.

    Args:
        meta: the export's ``OUT.json`` (the graphs are found beside it).
        threads: ONNX Runtime intra-op threads (default: torch's current count).
    """

    def __init__(self, meta: str | Path, threads: int | None = None) -> None:
        meta = Path(meta)
        info = json.loads(meta.read_text())
        self.cfg = experiment_from_dict(info["config"], source=str(meta)).model
        self.pfe = session(meta.parent / info["pfe"]["file"], threads)
        self.rpn = session(meta.parent / info["rpn"]["file"], threads)
        nx, ny, _ = self.cfg.voxel.grid_size_xyz
        self.grid_hw = (ny, nx)
        self.anchors = torch.from_numpy(make_anchors(self.cfg)[0])
        self.box_coder = ResidualBoxCoder(
            self.cfg.dir_offset_rad, wrap_heading=self.cfg.wrap_heading
        )

    def __call__(self, batch: VoxelBatch) -> HeadOutput:
        if batch.batch_size != 1:
            raise ValueError(
                f"the exported graphs take one frame, got batch_size {batch.batch_size}"
            )
        feed = {
            "points": batch.points.numpy(),
            "num_points": batch.num_points.int().numpy(),
            "coords": batch.coords.int().numpy(),
        }
        (features,) = self.pfe.run(None, feed)
        bev = scatter_to_bev(torch.from_numpy(features), batch.coords, 1, self.grid_hw)
        cls_logits, box_deltas, dir_logits = self.rpn.run(None, {"bev": bev.numpy()})
        return HeadOutput(*(torch.from_numpy(t) for t in (cls_logits, box_deltas, dir_logits)))

    def postprocess(self, head_out: HeadOutput) -> list[Detections]:
        out = []
        for cls_logits, deltas, dir_logits in zip(*head_out):
            det = select_detections(
                cls_logits, deltas, dir_logits, self.anchors, self.box_coder, self.cfg.postprocess
            )
            out.append(Detections(det.boxes_lidar, det.scores, det.labels))
        return out
