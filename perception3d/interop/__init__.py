"""Interoperability with the field's frameworks: OpenPCDet and mmdetection3d checkpoints
converted to perception3d checkpoints (:mod:`.checkpoints`, key names in :mod:`.keymap`), and
the PointPillars family exported to ONNX (:mod:`.onnx_export`). docs/interop.md is the guide.
"""
