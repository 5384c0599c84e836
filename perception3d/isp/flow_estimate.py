"""Estimated optical flow for the temporal ISP, where no ground-truth flow exists (real drives):
OpenCV's DIS flow (Kroeger et al., "Fast optical flow using dense inverse search", ECCV 2016)
between consecutive frames, both ways, with a forward-backward consistency check for
occlusions (Sundaram et al., ECCV 2010).

OpenCV comes with the ``kitti-raw`` extra (``opencv-python-headless``); nothing else here needs
it. Flows follow :mod:`perception3d.isp.flow_warp`: ``(B, 2, H, W)`` (du, dv) pixels; the
*backward* flow of frame t sends its pixel q to ``q + G(q)`` in frame t-1, the *forward* flow of
frame k sends p to ``p + F(p)`` in frame k+1.
"""

from __future__ import annotations

import numpy as np
import torch

from perception3d.isp.flow_warp import warp

PRESETS = ("ultrafast", "fast", "medium")
# DIS settings over the preset's: larger patches and more iterations, chosen on the clean
# frames 1-3 of the seed-2 validation drive (docs/isp.md, "Temporal low light"): 50-59 % of
# pixels forward-backward consistent against 40-43 % for the plain medium preset
TUNED = {"PatchSize": 16, "PatchStride": 4, "GradientDescentIterations": 25,
         "VariationalRefinementIterations": 10}  # fmt: skip


def _cv2():
    try:
        import cv2
    except ImportError as e:  # pragma: no cover - the extra is installed in the dev venv
        raise ImportError(
            "estimated flow needs OpenCV: pip install 'perception3d[kitti-raw]' "
            "(opencv-python-headless)"
        ) from e
    return cv2


def _gray8(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) or (1, H, W) display-domain image in [0, 1] -> (H, W) uint8 (Rec. 601 luma)."""
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"image must be (3, H, W) or (1, H, W), got {tuple(image.shape)}")
    x = image.detach().float().clamp(0.0, 1.0)
    if x.shape[0] == 3:
        x = 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    else:
        x = x[0]
    return (x * 255.0 + 0.5).to(torch.uint8).cpu().numpy()


def estimate_flow(
    source: torch.Tensor, target: torch.Tensor, preset: str = "medium", tuned: bool = True
) -> torch.Tensor:
    """Dense flow (1, 2, H, W) on ``source``'s grid with ``target(p + flow(p)) ~ source(p)``;
    ``source`` and ``target`` (C, H, W) display-domain images (e.g. sRGB) in [0, 1], C = 1 or 3;
    DIS at ``preset``, with the :data:`TUNED` settings over it unless ``tuned`` is false.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> img = torch.nn.functional.avg_pool2d(torch.rand(1, 1, 72, 104, generator=g), 5, 1)
        >>> flow = estimate_flow(img[0, :, :, 4:], img[0, :, :, :-4])  # content moved 4 px right
        >>> round(float(flow[0, 0, 20:-20, 20:-20].median()), 1)
        4.0
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
    if source.shape != target.shape:
        raise ValueError(f"source {tuple(source.shape)} and target {tuple(target.shape)} differ")
    cv2 = _cv2()
    cv2.setNumThreads(max(1, torch.get_num_threads()))
    dis = cv2.DISOpticalFlow_create(getattr(cv2, f"DISOPTICAL_FLOW_PRESET_{preset.upper()}"))
    for key, value in TUNED.items() if tuned else ():
        getattr(dis, f"set{key}")(value)
    flow = dis.calc(_gray8(source), _gray8(target), None)  # (H, W, 2) float32
    return torch.from_numpy(np.ascontiguousarray(flow.transpose(2, 0, 1)))[None]


def consistent(flow: torch.Tensor, reverse: torch.Tensor, tolerance_px: float) -> torch.Tensor:
    """(B, 1, H, W) float: 1 where ``flow`` lands inside the other frame and the ``reverse``
    flow (defined on the other frame) brings the point back within ``tolerance_px``."""
    back_at, inside = warp(reverse, flow)
    return inside * ((flow + back_at).norm(dim=1, keepdim=True) <= tolerance_px).to(flow.dtype)


def estimated_alignment(
    frames: torch.Tensor, preset: str = "medium", tolerance_px: float = 1.0, tuned: bool = True
) -> dict[str, torch.Tensor]:
    """Flows between consecutive frames of ``frames`` (T, C, H, W) (display domain, [0, 1]),
    both ways (:func:`estimate_flow` at ``preset`` / ``tuned``), with their forward-backward
    consistency masks.

    Returns:
        ``backward`` (T, 2, H, W) and ``aligned`` (T, 1, H, W) as a
        :class:`~perception3d.isp.temporal_data.Clip` holds them (frame 0: zeros), and
        ``forward`` (T-1, 2, H, W) and ``visible`` (T-1, 1, H, W) for the warping error
        (:func:`perception3d.isp.flow_warp.warping_error`).
    """
    t_len, _, h, w = frames.shape
    backward, aligned = frames.new_zeros(t_len, 2, h, w), frames.new_zeros(t_len, 1, h, w)
    forward, visible = frames.new_zeros(max(t_len - 1, 0), 2, h, w), []
    for t in range(1, t_len):
        g = estimate_flow(frames[t], frames[t - 1], preset, tuned)  # frame t -> t-1
        f = estimate_flow(frames[t - 1], frames[t], preset, tuned)  # frame t-1 -> t
        backward[t], aligned[t] = g[0], consistent(g, f, tolerance_px)[0]
        forward[t - 1] = f[0]
        visible.append(consistent(f, g, tolerance_px)[0])
    vis = torch.stack(visible) if visible else frames.new_zeros(0, 1, h, w)
    return {"backward": backward, "aligned": aligned, "forward": forward, "visible": vis}


def endpoint_error(estimated: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean endpoint error (pixels) of ``estimated`` against ``truth`` (B, 2, H, W) over the
    pixels where ``mask`` (B, 1, H, W) is 1 (nan if none)."""
    err = (estimated - truth).norm(dim=1, keepdim=True) * mask
    n = float(mask.sum())
    return float(err.sum()) / n if n > 0 else float("nan")
