"""``perception3d synth / synth-objectnet3d / weather``: synthetic datasets, weather copies."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from perception3d.cli.common import (
    add_command,
    add_options,
    add_set_option,
    flag_overrides,
    print_outputs,
    warnings_to_stderr,
)


def _shard(text: str) -> tuple[int, int]:
    from perception3d.sim.writer import parse_shard

    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _frame_ids(text: str) -> list[int]:
    from perception3d.sim.subset import parse_frame_ids

    try:
        return parse_frame_ids(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_synth(args: argparse.Namespace) -> int:
    from perception3d.sim.config import load_synth_config
    from perception3d.sim.subset import read_frame_ids_file
    from perception3d.sim.writer import generate_dataset

    cfg = load_synth_config(args.config, flag_overrides(args, "frames", "seed"))
    frame_ids = read_frame_ids_file(args.frame_ids_file) if args.frame_ids_file else args.frame_ids
    with warnings_to_stderr("synth"):  # the disk-space warning, before the frames
        summary = generate_dataset(
            args.out,
            cfg,
            workers=args.workers,
            shard=args.shard,
            overwrite=args.overwrite,
            resume=args.resume,
            frame_ids=frame_ids,
        )
    done = f"{summary['frames_written']} frames written, {summary['frames_skipped']} already"
    print_outputs("synth", args.out, done + " complete")
    return 0


def _cmd_synth_objectnet3d(args: argparse.Namespace) -> int:
    from perception3d.sim.objectnet3d.generate import (
        generate_synthetic_objectnet3d,
        load_synth_objectnet3d_config,
    )

    cfg = load_synth_objectnet3d_config(args.config, args.set)
    summary = generate_synthetic_objectnet3d(args.out, cfg, progress=not args.quiet)
    print(json.dumps(summary, indent=2))
    images = f"{summary['num_train']} train and {summary['num_val']} val images"
    print_outputs("synth-objectnet3d", args.out, images)
    return 0


def _cmd_weather(args: argparse.Namespace) -> int:
    from perception3d.lidar.weather_dataset import write_weather_copy

    chosen = [(k, v) for k, v in (("fog", args.fog_mor), ("rain", args.rain_rate),
                                  ("snow", args.snow_rate)) if v is not None]  # fmt: skip
    if len(chosen) != 1:
        print("perception3d weather: give exactly one of --fog-mor, --rain-rate, --snow-rate",
              file=sys.stderr)  # fmt: skip
        return 2
    kind, strength = chosen[0]
    out = write_weather_copy(args.data_root, args.out, args.split, kind, strength, args.seed)
    print_outputs("weather", out, f"{args.split} in {kind} ({strength})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    p = add_command(
        sub, "synth", "generate a synthetic driving dataset in the KITTI object layout",
        "perception3d synth --out data/synthkitti48 --frames 48 --seed 0\n"
        "perception3d synth --out data/heldout --frames 2400 --seed 1000 --frame-ids 000010,000042",
    )  # fmt: skip
    add_options(
        p, "--out", "--config", required=("--out",), out="output root (KITTI layout)",
        config="YAML config (default: the embedded configs/datasets/synthkitti.yaml values)",
    )  # fmt: skip
    p.add_argument("--frames", type=int, default=None, help="number of frames (config: frames)")
    add_options(p, "--seed", seed={"default": None, "help": "dataset seed (config: seed)"})
    add_set_option(p, "seed=3")
    add_options(p, "--workers")
    p.add_argument(
        "--shard", type=_shard, default=(0, 1), help="i/n: write frames with index %% n == i"
    )
    add_options(
        p, "--overwrite",
        overwrite="replace a previous synth run (removes only the files its manifest lists)",
    )  # fmt: skip
    p.add_argument("--resume", action="store_true", help="complete an interrupted run")
    chosen = p.add_mutually_exclusive_group()
    chosen.add_argument(
        "--frame-ids",
        type=_frame_ids,
        default=None,
        help="write only these frames of the set (e.g. 000010,000011): the same bytes as in "
        "the full set of this seed and --frames",
    )
    chosen.add_argument(
        "--frame-ids-file", type=Path, default=None, help="the same, ids read from a text file"
    )
    p.set_defaults(func=_cmd_synth)
    p = add_command(
        sub, "synth-objectnet3d",
        "render a synthetic ObjectNet3D in the real layout (.mat, .off, Image_sets, JPEG)",
        "perception3d synth-objectnet3d --out data/synth_objectnet3d --set num_images=200",
    )  # fmt: skip
    add_options(
        p, "--out", "--config", required=("--out",),
        out="dataset root to write", config="YAML (default: built-in defaults)",
    )  # fmt: skip
    add_set_option(p, "num_images=200")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_synth_objectnet3d)
    p = add_command(
        sub, "weather",
        "copy of a split with every sweep in fog, rain or snow (docs/augmentation.md)",
        "perception3d weather --data-root data/synthkitti --out data/val_fog50 --fog-mor 50",
    )  # fmt: skip
    add_options(
        p, "--data-root", "--out", "--split",
        required=("--data-root", "--out"), out="new KITTI-layout root",
    )  # fmt: skip
    p.add_argument(
        "--fog-mor", type=float, default=None, help="fog: meteorological optical range, m"
    )
    p.add_argument("--rain-rate", type=float, default=None, help="rain rate, mm/h")
    p.add_argument("--snow-rate", type=float, default=None, help="snowfall rate (water), mm/h")
    add_options(p, "--seed")
    p.set_defaults(func=_cmd_weather)
