"""A driving camera's auto exposure in low light: the exposure time first (up to 1/30 s, a
camera at 30 frames/s cannot expose longer), then the analog gain (ISO up to 25600, the top of
the sensor model's range), then under-exposure. Used by the ISP-effect experiment's captures
(:mod:`perception3d.experiments.isp_effect_capture`) and the temporal ISP's drive captures
(:mod:`perception3d.isp.temporal_data`); "1/300 of daylight" is the scene's radiance times
0.003 under this exposure (about 10 photo-electrons per pixel on a mid-grey)."""

from __future__ import annotations

import dataclasses

from perception3d.isp.sensor import SensorParams

MAX_EXPOSURE_S = 1.0 / 30.0  # a driving camera at 30 fps cannot expose longer
MAX_ISO = 25600.0  # top of the sensor model's range (sensor.py)


def exposed_camera(
    linear_scale: float, base: SensorParams | None = None, max_iso: float = MAX_ISO
) -> SensorParams:
    """``base`` (default: the daylight camera, ``SensorParams()``) exposed so that its ideal
    capture maps radiance 1 to ``linear_scale``: exposure time first (up to
    :data:`MAX_EXPOSURE_S`), then ISO (100 .. ``max_iso``, default :data:`MAX_ISO`); beyond,
    the capture is darker (its ``linear_scale`` is then below the request).

    Example:
        >>> cam = exposed_camera(900.0)  # 1/300 of a daylight frame exposed at 3
        >>> round(cam.exposure_s, 4), round(cam.iso), round(cam.linear_scale)
        (0.0333, 21870, 900)
    """
    base = SensorParams() if base is None else base
    per_second_iso100 = base.linear_scale / base.exposure_s / (base.iso / 100.0)
    exposure_s = min(linear_scale / per_second_iso100, MAX_EXPOSURE_S)
    iso = 100.0 * linear_scale / (per_second_iso100 * exposure_s)
    return dataclasses.replace(
        base, exposure_s=exposure_s, iso=float(min(max(iso, 100.0), max_iso))
    )
