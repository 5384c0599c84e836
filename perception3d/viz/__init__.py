"""Visualization: pictures of frames, boxes and results (docs/visualization.md).

Modules: ``bev`` (bird's-eye view), ``image`` (camera view), ``scene3d`` (3D: Open3D offscreen
or window, matplotlib fallback; helped by ``scene_geometry`` and ``open3d_offscreen``),
``range`` (range-image and before/after panels), ``sequence`` (GIF/MP4), ``report``
(self-contained HTML), ``frame`` (a KITTI frame with predictions, all views: ``perception3d
viz``), ``status`` (TP/FP/FN by the evaluator), ``style`` (colours), ``canvas`` (PNG writing),
``layout`` (panel sizes of a composite, the BEV zoom), ``web`` (the interactive browser view:
``perception3d view``). Each renderer returns an (H, W, 3) uint8 RGB array.
"""
