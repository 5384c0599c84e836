"""Sum each set's per-sweep statistics and compare every histogram with the real one.

Each histogram of a set is the sum over its frames (or objects); its Jensen-Shannon distance to
the real histogram is quoted beside the real data's bootstrap floor (`divergence.py`): the
distance the real histogram has from resamples of its own frames (or objects). Only a distance
well above the floor is a difference the real data can show.

Example:
    >>> rec = {"hist": {"range": np.array([1.0, 3.0])}, "objects": []}
    >>> out = compare_histograms([rec, rec], [rec], ["range"])
    >>> out["range"]["js_distance"], out["range"]["real"]
    (0.0, [2.0, 6.0])
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from perception3d.experiments.sim2real.divergence import bootstrap_floor, histogram, js_distance
from perception3d.experiments.sim2real.neighbours import NEIGHBOUR_EDGES
from perception3d.experiments.sim2real.objects import (
    CLEARANCE_EDGES,
    CLUTTER_EDGES,
    DENSITY_EDGES,
    HEIGHT_EDGES,
    INTENSITY_EDGES,
    OVERHEAD_EDGES,
    coarse_intensity,
    normalized_count,
)

__all__ = [
    "CLOSE_CLEARANCE_M",
    "DISTANCE_BINS_M",
    "FAR_OBJECT_M",
    "OVERHEAD_MIN_RETURNS",
    "compare_histograms",
    "compare_objects",
    "compare_ray_drop",
    "ground_summary",
]

DISTANCE_BINS_M = (0.0, 10.0, 20.0, 30.0, 45.0, 60.0)
FAR_OBJECT_M = 20.0  # height in the box: objects at least this far (few beams cross them)
CLOSE_CLEARANCE_M = 1.0  # clearance: the share of objects with clutter closer than this
OVERHEAD_MIN_RETURNS = 3  # overhead: the share of objects with at least this many returns


def _pair(real_groups: np.ndarray, synth_groups: np.ndarray) -> dict:
    real, synth = real_groups.sum(axis=0), synth_groups.sum(axis=0)
    ok = real.sum() > 0 and synth.sum() > 0
    return {
        "real": real.tolist(),
        "synthetic": synth.tolist(),
        "js_distance": js_distance(real, synth) if ok else float("nan"),
        "real_floor": bootstrap_floor(real_groups),
        "groups": [len(real_groups), len(synth_groups)],
    }


def _intensity_pair(real_groups: np.ndarray, synth_groups: np.ndarray) -> dict:
    """`_pair` on `INTENSITY_EDGES` (exact 0 its own bin), plus the share reading exactly 0 on
    each side and the distance and floor on the 0.05 bins of earlier reports
    (``js_distance_005``, ``real_floor_005``: 0 merged with 0.01-0.04)."""
    entry = _pair(real_groups, synth_groups)
    coarse = _pair(coarse_intensity(real_groups), coarse_intensity(synth_groups))
    entry["js_distance_005"] = coarse["js_distance"]
    entry["real_floor_005"] = coarse["real_floor"]
    for name, groups in (("real", real_groups), ("synthetic", synth_groups)):
        total = groups.sum()
        entry[f"zero_share_{name}"] = float(groups[:, 0].sum() / total) if total else float("nan")
    return entry


def _groups(records: Sequence[dict], key: str) -> np.ndarray:
    rows = [r["hist"][key] for r in records if key in r["hist"]]
    width = len(rows[0]) if rows else 1
    return np.array(rows, dtype=np.float64).reshape(len(rows), width)


def compare_histograms(real: Sequence[dict], synth: Sequence[dict], keys: Sequence[str]) -> dict:
    """Per key: summed histograms, JS distance and the real floor (frames resampled); intensity
    keys (``intensity/...``) also their zero shares and 0.05-bin distance (`_intensity_pair`)."""
    return {
        key: (_intensity_pair if key.startswith("intensity/") else _pair)(
            _groups(real, key), _groups(synth, key)
        )
        for key in keys
    }


def compare_ray_drop(real: Sequence[dict], synth: Sequence[dict]) -> dict:
    """Empty share per beam, and drop share (holes / (holes + returns)) vs range and incidence;
    JS distances of where the empty cells are (over beams) and of the holes' range and
    incidence histograms."""
    out: dict = {}
    share = {}
    for name, recs in (("real", real), ("synthetic", synth)):
        empty, counted = (
            _groups(recs, "empty_per_beam").sum(0),
            _groups(recs, "counted_per_beam").sum(0),
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            share[name] = empty / counted
        out[f"empty_share_{name}"] = float(empty.sum() / max(counted.sum(), 1.0))
    out["empty_share_per_beam"] = {
        k: [None if np.isnan(v) else float(v) for v in s] for k, s in share.items()
    }
    both = ~np.isnan(share["real"]) & ~np.isnan(share["synthetic"])
    out["empty_share_mean_abs_difference"] = float(
        np.mean(np.abs(share["real"][both] - share["synthetic"][both]))
    )
    out["empty_per_beam"] = _pair(_groups(real, "empty_per_beam"), _groups(synth, "empty_per_beam"))
    for axis in ("range", "incidence"):
        entry = _pair(_groups(real, f"holes_vs_{axis}"), _groups(synth, f"holes_vs_{axis}"))
        for name, recs in (("real", real), ("synthetic", synth)):
            holes = _groups(recs, f"holes_vs_{axis}").sum(0)
            returns = _groups(recs, f"returns_vs_{axis}").sum(0)
            with np.errstate(invalid="ignore", divide="ignore"):
                entry[f"drop_share_{name}"] = [
                    None if np.isnan(v) else float(v) for v in holes / (holes + returns)
                ]
        out[f"holes_vs_{axis}"] = entry
    return out


def _scalar_pair(values: dict[str, np.ndarray], edges: np.ndarray) -> dict:
    """`_pair` over one-hot rows of one value per object on ``edges``, plus each side's median
    (``median_real``, ``median_synthetic``)."""
    one_hot = {
        k: np.array([histogram([x], edges) for x in v]).reshape(len(v), len(edges) - 1)
        for k, v in values.items()
    }
    entry = _pair(one_hot["real"], one_hot["synthetic"])
    for k, v in values.items():
        entry[f"median_{k}"] = float(np.median(v)) if len(v) else float("nan")
    return entry


def _surroundings(objs: dict[str, list[dict]]) -> tuple[dict, dict]:
    """The objects' clearance (`_scalar_pair` on `CLEARANCE_EDGES` plus each side's share
    closer than `CLOSE_CLEARANCE_M`) and clutter within 2 m scaled to 30 m (`CLUTTER_EDGES`)."""
    clear = {k: np.array([o["clearance_m"] for o in v], dtype=np.float64) for k, v in objs.items()}
    clearance = _scalar_pair(clear, CLEARANCE_EDGES)
    for k, v in clear.items():
        close = float(np.mean(v < CLOSE_CLEARANCE_M)) if len(v) else float("nan")
        clearance[f"close_share_{k}"] = close
    clutter = {
        k: np.array([o["clutter"] * (o["distance_m"] / 30.0) ** 2 for o in v], dtype=np.float64)
        for k, v in objs.items()
    }
    return clearance, _scalar_pair(clutter, CLUTTER_EDGES)


def _overhead(objs: dict[str, list[dict]]) -> dict:
    """The objects' returns overhead (`_scalar_pair` on `OVERHEAD_EDGES`), plus each side's
    share with at least `OVERHEAD_MIN_RETURNS` (``overhead_share_*``) and its count of objects
    (``count_*``)."""
    counts = {k: np.array([o["overhead"] for o in v], dtype=np.float64) for k, v in objs.items()}
    entry = _scalar_pair(counts, OVERHEAD_EDGES)
    for k, v in counts.items():
        share = float(np.mean(v >= OVERHEAD_MIN_RETURNS)) if len(v) else float("nan")
        entry[f"overhead_share_{k}"] = share
        entry[f"count_{k}"] = len(v)
    return entry


def _objects(records: Sequence[dict], class_name: str) -> list[dict]:
    return [o for r in records for o in r["objects"] if o["class"] == class_name]


def _frame_groups(records: Sequence[dict], class_name: str, key: str, edges) -> np.ndarray:
    """(F, B) per frame holding a ``class_name`` object with a finite ``key``, the histogram
    of its objects' ``key`` on ``edges``."""
    rows = []
    for r in records:
        v = [o[key] for o in r["objects"] if o["class"] == class_name]
        v = [x for x in v if np.isfinite(x)]
        if v:
            rows.append(histogram(v, edges))
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(edges) - 1)


def _frame_pair(
    real: Sequence[dict], synth: Sequence[dict], class_name: str, key: str, edges: np.ndarray
) -> dict:
    """`_pair` of the per-frame histograms of the ``class_name`` objects' ``key`` (frames
    resampled for the floor: a crowd's members are counted together), plus each side's count
    of objects (``count_*``)."""
    entry = _pair(
        _frame_groups(real, class_name, key, edges), _frame_groups(synth, class_name, key, edges)
    )
    for k in ("real", "synthetic"):
        entry[f"count_{k}"] = int(sum(entry[k]))
    return entry


def _neighbours(real: Sequence[dict], synth: Sequence[dict], class_name: str) -> dict:
    """Same-class neighbours per object (`neighbours.neighbour_counts`) on `NEIGHBOUR_EDGES`
    (`_frame_pair`), plus each side's mean neighbours (``mean_*``)."""
    entry = _frame_pair(real, synth, class_name, "neighbours", NEIGHBOUR_EDGES)
    values = NEIGHBOUR_EDGES[:-1]  # a bin's count; the last bin (>= 8) counted as 8
    for k in ("real", "synthetic"):
        h = np.asarray(entry[k], dtype=np.float64)
        entry[f"mean_{k}"] = float(h @ values / h.sum()) if h.sum() else float("nan")
    return entry


def _car_pairs(real: Sequence[dict], synth: Sequence[dict]) -> dict:
    """Cars with a car within `neighbours.PAIR_WITHIN_M`: the 2-bin histogram nose to tail /
    side by side of how their nearest car stands (`_frame_pair`), plus each side's share side
    by side (``side_by_side_share_*``)."""
    entry = _frame_pair(real, synth, "Car", "side_by_side", np.array([0.0, 0.5, 1.0]))
    for k in ("real", "synthetic"):
        h = np.asarray(entry[k], dtype=np.float64)  # side_by_side is 0.0 or 1.0
        entry[f"side_by_side_share_{k}"] = float(h[1] / h.sum()) if h.sum() else float("nan")
    return entry


def compare_objects(real: Sequence[dict], synth: Sequence[dict], classes: Sequence[str]) -> dict:
    """Per class: points per object (normalized to 10 m, `objects.normalized_count`), the
    reflectivity of the objects' points and their height in the box (objects beyond
    `FAR_OBJECT_M`), their clearance and clutter (`_surroundings`), the returns over them
    (`_overhead`), each with its JS distance and the real floor (objects resampled); median
    points per distance bin; same-class neighbours (`_neighbours`, frames resampled).
    ``car_pairs``: how the cars' nearest cars stand (`_car_pairs`), when Car is among
    ``classes``."""
    keys = (
        "points_per_object",
        "reflectivity",
        "height_in_box",
        "clearance",
        "clutter",
        "overhead",
    )
    out: dict = {k: {} for k in (*keys, "neighbours")}
    if "Car" in classes:
        out["car_pairs"] = _car_pairs(real, synth)
    for cls in classes:
        out["neighbours"][cls] = _neighbours(real, synth, cls)
        objs = {"real": _objects(real, cls), "synthetic": _objects(synth, cls)}
        density = {
            k: np.array(
                [
                    histogram(normalized_count([o["points"]], [o["distance_m"]]), DENSITY_EDGES)
                    for o in v
                ]
            ).reshape(len(v), len(DENSITY_EDGES) - 1)
            for k, v in objs.items()
        }
        entry = _pair(density["real"], density["synthetic"])
        for k, v in objs.items():
            d = np.array([o["distance_m"] for o in v])
            n = np.array([o["points"] for o in v])
            entry[f"median_points_by_distance_{k}"] = [
                float(np.median(n[(d >= lo) & (d < hi)])) if np.any((d >= lo) & (d < hi)) else None
                for lo, hi in itertools.pairwise(DISTANCE_BINS_M)
            ]
            entry[f"objects_{k}"] = [[o["distance_m"], o["points"]] for o in v]
        out["points_per_object"][cls] = entry
        refl = {
            k: np.array([o["intensity"] for o in v]).reshape(len(v), len(INTENSITY_EDGES) - 1)
            for k, v in objs.items()
        }
        out["reflectivity"][cls] = _intensity_pair(refl["real"], refl["synthetic"])
        heights = {
            k: np.array([o["height_in_box"] for o in v if o["distance_m"] >= FAR_OBJECT_M]).reshape(
                -1, len(HEIGHT_EDGES) - 1
            )
            for k, v in objs.items()
        }
        out["height_in_box"][cls] = _pair(heights["real"], heights["synthetic"])
        out["clearance"][cls], out["clutter"][cls] = _surroundings(objs)
        out["overhead"][cls] = _overhead(objs)
    return out


def ground_summary(records: Sequence[dict]) -> dict:
    """Mean, standard deviation, root mean square and values over frames of the ground fit's
    height, slope, pitch and roll and of the curve ahead (`ground.curve_ahead`; frames
    without enough ground ahead, NaN, left out of its figures)."""
    out = {}
    for key in ("height_m", "slope_deg", "pitch_deg", "roll_deg", "curve_per_m"):
        v = np.array([r["ground"].get(key, np.nan) for r in records], dtype=np.float64)
        v = v[np.isfinite(v)]
        digits = 7 if key == "curve_per_m" else 3
        out[key] = {
            "mean": float(v.mean()) if len(v) else float("nan"),
            "std": float(v.std()) if len(v) else float("nan"),
            "rms": float(np.sqrt((v * v).mean())) if len(v) else float("nan"),
            "values": [round(float(x), digits) for x in v],
        }
    return out
