"""Spherical conversion + range image of a real 123,266-point HDL-64E sweep (KITTI 004139).

Figures (median and IQR of `torch.utils.benchmark` blocked_autorange, same run):
  - `to_spherical` + `RangeImage.from_points` with nearest-beam rows (what the baseline does)
    and with the scan-order rings of `estimate_beam_table`, 64 x 2048;
  - the baseline: the straightforward numpy version (float32 arctan2/arcsin, argmin over the
    64 beams, fancy assignment sorted farthest first as RangeNet++ does);
  - for information, no baseline: `to_spherical` alone, `estimate_beam_table` on the sweep
    (scan order) and on the shuffled sweep (clustering).
Also checks the two range images agree and records the share of identical pixels.

Writes benchmarks/results/bench_spherical.json. Run: python benchmarks/bench_spherical.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import measure, report, write_result

from perception3d.geometry.beams import estimate_beam_table
from perception3d.geometry.spherical import RangeImage, to_spherical

SWEEP = Path(__file__).parents[1] / "tests/data/kitti_samples/training/velodyne/004139.bin"
WIDTH = 2048
SEED = 0


def numpy_reference(points: np.ndarray, beams_rad: np.ndarray, width: int) -> dict:
    """The straightforward range image: float32 angles, argmin over beams, farthest first."""
    range_m = np.linalg.norm(points[:, :3], axis=1)
    azimuth = np.arctan2(points[:, 1], points[:, 0])
    elevation = np.arcsin(points[:, 2] / range_m)
    row = np.argmin(np.abs(elevation[:, None] - beams_rad[None, :].astype(np.float32)), axis=1)
    col = np.clip(np.floor(0.5 * (1.0 - azimuth / np.pi) * width), 0, width - 1).astype(np.int64)
    order = np.argsort(range_m)[::-1]  # nearest written last: it wins
    row, col = row[order], col[order]
    shape = (len(beams_rad), width)
    images = {"point_index": np.full(shape, -1, np.int64)}
    images["point_index"][row, col] = order
    for name, values in [
        ("range_m", range_m),
        ("azimuth_rad", azimuth),
        ("elevation_rad", elevation),
        ("intensity", points[:, 3]),
    ]:
        images[name] = np.zeros(shape, np.float32)
        images[name][row, col] = values[order]
    return images


def ours(points: np.ndarray, beams_rad: np.ndarray, rows: np.ndarray | None) -> RangeImage:
    to_spherical(points)
    return RangeImage.from_points(points, beams_rad, width=WIDTH, rows=rows)


def main() -> dict:
    points = np.fromfile(SWEEP, np.float32).reshape(-1, 4)
    table = estimate_beam_table(points)
    shuffled = points[np.random.default_rng(SEED).permutation(len(points))]
    beams = table.elevations_rad
    image, reference = ours(points, beams, None), numpy_reference(points, beams, WIDTH)
    same_pixels = float(np.mean(image.point_index == reference["point_index"]))
    if same_pixels < 0.99:
        raise RuntimeError(f"range image disagrees with the numpy reference: {same_pixels:.4f}")
    figures = {
        "numpy_reference": measure(lambda: numpy_reference(points, beams, WIDTH)),
        "to_spherical+from_points": measure(lambda: ours(points, beams, None)),
        "to_spherical+from_points_rows=ring": measure(lambda: ours(points, beams, table.ring)),
    }
    out = report("bench_spherical", figures, baseline="numpy_reference")
    out["no_baseline"] = {  # parts and the beam table, for information
        "to_spherical": measure(lambda: to_spherical(points)),
        "estimate_beam_table_scan_order": measure(lambda: estimate_beam_table(points)),
        "estimate_beam_table_clustering_shuffled": measure(lambda: estimate_beam_table(shuffled)),
    }
    for key, fig in out["no_baseline"].items():
        print(
            f"  {key:<40s} median {fig['median_s'] * 1e3:9.3f} ms  "
            f"(IQR {fig['iqr_s'] * 1e3:.3f} ms, {fig['runs']} runs)"
        )
    out.update(
        points=len(points),
        image_shape=[len(beams), WIDTH],
        pixels_filled=int(image.mask.sum()),
        pixels_identical_to_reference=same_pixels,
    )
    print(
        f"  {len(points)} points, {len(beams)} x {WIDTH}: {int(image.mask.sum())} pixels filled,"
        f" {same_pixels:.4%} of pixels hold the same point as the reference"
    )
    write_result("bench_spherical", out)
    return out


if __name__ == "__main__":
    main()
