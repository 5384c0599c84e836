"""Camera sensor model and ISP front ends (classical and learned).

Modules, in the order light meets them: ``sensor`` (forward camera model, ``SensorParams``,
``capture``, haze), ``meta`` (``RawMeta``), ``bayer``, ``color``, ``unprocess`` (Brooks et al.
2019); the classical ISP: ``demosaic``, ``denoise``, ``dehaze``, ``classic``; learned:
``models``, ``losses``, ``metrics``, ``train``; data: ``scenes``, ``data``, ``conditions``;
composition: ``pipeline``, ``run``, ``evaluate``, ``eval_config``. See docs/isp.md.
"""
