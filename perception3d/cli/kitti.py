"""``perception3d kitti-splits``: the standard KITTI split files, written to a dataset."""

from __future__ import annotations

import argparse

from perception3d.cli.common import add_command, add_options, print_outputs

EXAMPLE = """\
perception3d kitti-splits --data-root data/kitti
# -> data/kitti/ImageSets/{train,val,trainval,test}.txt (3,712 / 3,769 / 7,481 / 7,518 ids)
"""


KITTI_SPLITS_DESCRIPTION = """\
Write the field's KITTI object splits (shipped in the package: train 3,712, val 3,769,
trainval 7,481, test 7,518 frame ids) to DATA_ROOT/ImageSets/. A file already holding the
same ids is left alone; a different one is an error unless --force (then it is replaced, and
said so). docs/kitti.md
"""


def _cmd_kitti_splits(args: argparse.Namespace) -> int:
    from perception3d.data.splits import write_kitti_splits

    results = write_kitti_splits(args.data_root, tuple(args.splits), force=args.force)
    for result in results:
        note = f" (was {result.previous_ids} ids)" if result.status == "replaced" else ""
        print(
            f"{result.path}: {result.status}{note}, {result.num_ids} ids, {result.present} with "
            "a velodyne sweep here"
        )
    print_outputs("kitti-splits", args.data_root / "ImageSets", f"{len(results)} split files")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    from perception3d.data.splits import KITTI_SPLITS

    p = add_command(
        sub, "kitti-splits",
        "write the standard KITTI train/val/trainval/test split files to ImageSets/", EXAMPLE,
        description=KITTI_SPLITS_DESCRIPTION,
    )  # fmt: skip
    add_options(
        p, "--data-root", required=("--data-root",), data_root="KITTI root (training/, ...)"
    )
    p.add_argument(
        "--splits",
        nargs="+",
        choices=KITTI_SPLITS,
        default=list(KITTI_SPLITS),
        help="which splits (default: all four)",
    )
    p.add_argument("--force", action="store_true", help="replace split files that differ")
    p.set_defaults(func=_cmd_kitti_splits)
