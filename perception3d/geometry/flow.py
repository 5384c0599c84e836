"""Visibility of optical flow: which pixels of frame k are still seen in frame k+1.

The flow format is the synthetic drives' ``flow_02`` (``perception3d.sim.drive.flow``): per pixel
of frame k, (du, dv) in pixels and the point's depth in frame k+1's camera (metres along the
optical axis, inf for the sky).
"""

from __future__ import annotations

import numpy as np

__all__ = ["flow_visible"]


def flow_visible(flow: np.ndarray, depth_next_frame_m: np.ndarray, tol_m: float = 0.05):
    """(H, W) bool: pixels whose point is seen in frame k+1 (inside the image, in front of the
    camera, and not behind frame k+1's depth at the nearest target pixel by more than
    ``tol_m`` plus 1 % of the depth).

    Args:
        flow: (3, H, W) from :func:`image_flow`; depth_next_frame_m: (H, W) frame k+1's depth.
    """
    _, h, w = flow.shape
    v, u = np.mgrid[0:h, 0:w]
    u2 = np.rint(u + flow[0]).astype(np.int64)
    v2 = np.rint(v + flow[1]).astype(np.int64)
    d2 = flow[2]
    inside = (u2 >= 0) & (u2 < w) & (v2 >= 0) & (v2 < h) & (d2 > 0)
    seen = np.zeros((h, w), bool)
    target = depth_next_frame_m[v2[inside], u2[inside]]
    d = d2[inside]
    both_sky = ~np.isfinite(d) & ~np.isfinite(target)
    seen[inside] = both_sky | (np.isfinite(d) & (d <= target + tol_m + 0.01 * d))
    return seen
