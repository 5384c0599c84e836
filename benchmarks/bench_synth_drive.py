"""Frames per second of `perception3d synth-drive` (one drive, default config: full-size
1242 x 375 camera with every extra, 64-beam sweep cast from the moving sensor, tracklets,
optical flow, written in the KITTI raw layout), against the single-frame generator
(`perception3d synth`, same frame count and seed) as the baseline measured in the same run,
one worker each, in this process.

Figures: median wall seconds of each run (`torch.utils.benchmark` blocked_autorange after a
warm-up run), frames per second, the ratio drive / single-frame, CPU seconds per frame of each
(process time around one run) and the drive's CPU seconds per stage. The machine is shared:
only the ratio is meaningful under load; the load average is printed.

Writes benchmarks/results/bench_synth_drive.json. Run: python benchmarks/bench_synth_drive.py
[FRAMES]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import measure, report, write_result

from perception3d.sim.config import load_synth_config
from perception3d.sim.drive.config import load_drive_config
from perception3d.sim.drive.writer import generate_drives
from perception3d.sim.writer import generate_dataset

FRAMES = 8
SEED = 0


def main(frames: int = FRAMES) -> dict:
    drive_cfg = load_drive_config(None, [f"frames={frames}", f"seed={SEED}"])
    synth_cfg = load_synth_config(None, [f"frames={frames}", f"seed={SEED}"])
    load_before = os.getloadavg()
    cpu: dict[str, float] = {}
    summaries: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:

        def timed(key: str, fn) -> None:
            start = time.process_time()
            summaries[key] = fn()
            cpu[key] = (time.process_time() - start) / frames

        def drive() -> None:
            out = Path(tmp) / "drive"
            timed("synth-drive", lambda: generate_drives(out, drive_cfg, overwrite=True,
                                                         progress=False))  # fmt: skip

        def single() -> None:
            out = Path(tmp) / "synth"
            timed("synth", lambda: generate_dataset(out, synth_cfg, overwrite=True,
                                                    progress=False))  # fmt: skip

        figures = {
            "synth": measure(single, min_run_time=0.1),
            "synth-drive": measure(drive, min_run_time=0.1),
        }
    out = report("bench_synth_drive", figures, baseline="synth")
    for key, fig in figures.items():
        fig.update(frames_per_second=frames / fig["median_s"], cpu_seconds_per_frame=cpu[key])
        print(f"  {key:<12s} {fig['frames_per_second']:5.2f} frames/s  "
              f"{cpu[key]:.3f} CPU s per frame")  # fmt: skip
    stages = summaries["synth-drive"]["mean_seconds"]
    print("  synth-drive, CPU seconds per frame by stage (plan and writing not included):")
    for name in ("scene", "lidar", "camera", "labels", "flow"):
        print(f"    {name:<7s} {stages[f'cpu_{name}']:.3f}")
    load_after = os.getloadavg()
    print(f"  load average before {load_before[0]:.1f}, after {load_after[0]:.1f}")
    out.update(frames=frames, stages=stages, load_average_before=load_before,
               load_average_after=load_after)  # fmt: skip
    write_result("bench_synth_drive", out)
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else FRAMES)
