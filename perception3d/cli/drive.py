"""``perception3d synth-drive``: synthetic driving sequences in the KITTI raw layout."""

from __future__ import annotations

import argparse

from perception3d.cli.common import (
    add_command,
    add_options,
    add_set_option,
    flag_overrides,
    print_outputs,
)


def _cmd_synth_drive(args: argparse.Namespace) -> int:
    from perception3d.sim.drive.config import load_drive_config
    from perception3d.sim.drive.writer import generate_drives

    cfg = load_drive_config(args.config, flag_overrides(args, "frames", "seed", "drives"))
    summary = generate_drives(args.out, cfg, workers=args.workers, overwrite=args.overwrite)
    done = (
        f"{summary['frames_written']} frames in {summary['drives']} drives, "
        f"{summary['tracklets']} tracklets"
    )
    print_outputs("synth-drive", args.out, done)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    p = add_command(
        sub, "synth-drive",
        "generate synthetic drives (10 Hz camera, LiDAR, OXTS, tracklets) in the KITTI raw layout",
        "perception3d synth-drive --out data/synthdrives --frames 50 --seed 0 --drives 2\n"
        "perception3d synth-drive --out /tmp/d --frames 5 --seed 1 --set camera.image_scale=0.25",
    )  # fmt: skip
    add_options(p, "--out", required=("--out",), out="raw-layout root (date folders)")
    p.add_argument("--frames", type=int, default=None, help="frames per drive (config: frames)")
    add_options(p, "--seed", seed={"default": None, "help": "seed (config: seed)"})
    p.add_argument("--drives", type=int, default=None, help="number of drives (config: drives)")
    add_options(p, "--config", config="YAML config (default: the embedded defaults)")
    add_set_option(p, "ego.desired_speed_mps=[5,8]")
    add_options(
        p, "--workers", "--overwrite", overwrite="replace drive folders a previous run wrote"
    )
    p.set_defaults(func=_cmd_synth_drive)
