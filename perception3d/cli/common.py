"""Argument types shared by the command modules."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


def csv_list(kind: Callable) -> Callable[[str], list]:
    """An argparse type: ``"a,b,c"`` -> ``[kind("a"), kind("b"), kind("c")]``."""

    def parse(text: str) -> list:
        try:
            return [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated values, got {text!r}"
            ) from None

    return parse


def add_command(
    sub: argparse._SubParsersAction, name: str, help_text: str, example: str, **kwargs
) -> argparse.ArgumentParser:
    """A sub-command whose ``--help`` ends with ``example`` (one or more command lines)."""
    lines = "\n".join(f"  {line}" for line in example.strip().splitlines())
    return sub.add_parser(
        name,
        help=help_text,
        description=kwargs.pop("description", help_text),
        epilog=f"example:\n{lines}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )


def add_set_option(p: argparse.ArgumentParser, example: str = "train.epochs=2") -> None:
    """``--set KEY=VALUE`` (repeatable): a config override."""
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help=f"override a config key, e.g. --set {example} (repeatable)",
    )  # fmt: skip


def add_train_options(p: argparse.ArgumentParser, config_help: str) -> None:
    """The options of every training command: CONFIG, --out, --resume, --data-root, --set,
    --no-progress."""
    p.add_argument("config", type=Path, help=config_help)
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: outputs/train/<config name>)")  # fmt: skip
    p.add_argument("--resume", type=Path, default=None,
                   help="checkpoint of this run to continue from (e.g. OUT/latest.pt)")  # fmt: skip
    p.add_argument("--data-root", type=Path, default=None, help="override data.root")
    add_set_option(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_train_command(
    sub: argparse._SubParsersAction, name: str, help_text: str, example: str, config_help: str
) -> argparse.ArgumentParser:
    """A training command (``perception3d train`` or one of its aliases): CONFIG and the
    training options, handled by :func:`run_training`."""
    p = add_command(sub, name, help_text, example)
    add_train_options(p, config_help)
    p.set_defaults(func=run_training)
    return p


def train_overrides(args: argparse.Namespace) -> list[str]:
    """``--set`` overrides, with ``--data-root`` as ``data.root``."""
    extra = [] if args.data_root is None else [f"data.root={args.data_root.resolve()}"]
    return [*args.set, *extra]


def run_training(args: argparse.Namespace) -> int:
    """Handler of every training command: ``perception3d train`` and its aliases."""
    from perception3d.engine.train import train_config_file

    train_config_file(
        args.config, train_overrides(args), args.out, args.resume, not args.no_progress
    )
    return 0
