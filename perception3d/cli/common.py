"""What the command modules share: argument types, commands with an example in ``--help``,
the common options (one table), the training commands, the last line of a command that
writes outputs (:func:`print_outputs`), a command's warnings on stderr
(:func:`warnings_to_stderr`) and the parser of the ``tools/`` analysis scripts over one split
of a root (:func:`root_split_parser`)."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@contextmanager
def warnings_to_stderr(command: str) -> Iterator[None]:
    """Inside, every warning is printed to stderr as ``perception3d COMMAND: warning: ...`` when
    it is issued (a long run's warning comes before the run, not after it)."""

    def show(message, *_args, **_kwargs) -> None:
        print(f"perception3d {command}: warning: {message}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield


def root_split_parser(doc: str) -> argparse.ArgumentParser:
    """The parser of an analysis script over one split of a KITTI-layout root
    (``tools/*.py``): described by the first line of ``doc``, positional ``root`` and
    ``--split`` (default val); the script adds its own options.

    Example:
        >>> p = root_split_parser("Heights of far cars.\\n\\nMore.")
        >>> p.description, vars(p.parse_args(["data/k"]))
        ('Heights of far cars.', {'root': 'data/k', 'split': 'val'})
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--split", default="val")
    return parser


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


def add_group(
    sub: argparse._SubParsersAction, name: str, help_text: str, example: str, dest: str
) -> argparse._SubParsersAction:
    """A command grouping sub-commands (``perception3d NAME SUB ...``), its ``--help`` ending
    with ``example``; returns the subparsers to add the sub-commands to (their name lands in
    ``args.<dest>``)."""
    p = add_command(sub, name, help_text, example)
    return p.add_subparsers(dest=dest, metavar=dest.upper(), required=True)


# The options several commands share: flag -> add_argument fields. A command changes a field
# (another default or help, required=True) through add_options' keywords.
OPTIONS: dict[str, dict] = {
    "--data-root": {"type": Path, "help": "KITTI-layout root"},
    "--out": {"type": Path, "default": None, "help": "output folder"},
    "--split": {"default": "val", "help": "ImageSets name (default: val)"},
    "--config": {"type": Path, "default": None, "help": "YAML config"},
    "--max-frames": {"type": int, "default": None, "help": "first N frames only"},
    "--device": {"default": "auto", "help": "auto, cpu or cuda"},
    "--threads": {"type": int, "default": 1, "help": "torch CPU threads"},
    "--seed": {"type": int, "default": 0, "help": "base seed (default: 0)"},
    "--workers": {"type": int, "default": 1, "help": "parallel processes (default 1)"},
    "--images": {
        "type": Path,
        "default": None,
        "help": "folder of <id>.png replacing image_2",
    },
    "--overwrite": {
        "action": "store_true",
        "help": "replace the result files already in --out",
    },
    "--score-threshold": {"type": float, "default": None, "help": "minimum score"},
    "--no-progress": {"action": "store_true", "help": "no progress bars"},
}


def add_options(
    p: argparse.ArgumentParser,
    *flags: str,
    required: tuple[str, ...] = (),
    **changes: str | dict,
) -> None:
    """Add the shared options ``flags`` (keys of :data:`OPTIONS`, in this order).

    Args:
        required: those of ``flags`` that are required.
        changes: per option (its flag without the dashes, ``-`` as ``_``: ``data_root=``),
            its help text, or the fields that replace the shared ones (``split={"default":
            "train", "help": ...}``).

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_options(p, "--data-root", "--split", required=("--data-root",))
        >>> p.parse_args(["--data-root", "d"]).split
        'val'
    """
    keys = {flag: flag.lstrip("-").replace("-", "_") for flag in flags}
    unknown = [f for f in flags if f not in OPTIONS] + [
        k for k in changes if k not in keys.values()
    ]
    unknown += [f for f in required if f not in flags]
    if unknown:
        raise ValueError(f"unknown or unlisted options {unknown}; shared: {sorted(OPTIONS)}")
    for flag in flags:
        change = changes.get(keys[flag], {})
        fields = {**OPTIONS[flag], **({"help": change} if isinstance(change, str) else change)}
        if flag in required:
            fields.pop("default", None)
            fields["required"] = True
        p.add_argument(flag, **fields)


def print_outputs(command: str, path: str | Path, summary: str = "") -> None:
    """The last line of every command that writes outputs: where they are, then what they
    hold: ``perception3d COMMAND: wrote PATH (SUMMARY)``.

    Example:
        >>> print_outputs("infer", Path("outputs/pred"), "12 detections in 3 frames")
        perception3d infer: wrote outputs/pred (12 detections in 3 frames)
    """
    detail = f" ({summary})" if summary else ""
    print(f"perception3d {command}: wrote {path}{detail}")


def add_set_option(p: argparse.ArgumentParser, example: str = "train.epochs=2") -> None:
    """``--set KEY=VALUE`` (repeatable): a config override."""
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help=f"override a config key, e.g. --set {example} (repeatable)",
    )  # fmt: skip


def add_train_command(
    sub: argparse._SubParsersAction,
    name: str,
    help_text: str,
    example: str,
    config_help: str,
    task: str | None = None,
) -> argparse.ArgumentParser:
    """A training command (``perception3d train`` or one of its aliases), handled by
    :func:`run_training`: CONFIG, --out, --resume, --data-root, --set, --no-progress.

    Args:
        config_help: the help of CONFIG.
        task: the config is optional (``--config``; default: this task's experiment
            defaults) and ``--data-root`` required.
    """
    p = add_command(sub, name, help_text, example)
    if task is None:
        p.add_argument("config", type=Path, help=config_help)
        add_options(p, "--data-root", data_root="override data.root")
        default_out = "<config name>"
    else:
        add_options(
            p, "--data-root", "--config", required=("--data-root",),
            data_root="dataset root (data.root)", config=config_help,
        )  # fmt: skip
        default_out = task
    add_options(p, "--out", out=f"output folder (default: outputs/train/{default_out})")
    p.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="checkpoint of this run to continue from (e.g. OUT/latest.pt)",
    )
    add_set_option(p)
    add_options(p, "--no-progress")
    p.set_defaults(func=run_training, task=task, command_name=p.prog.split(" ", 1)[1])
    return p


def train_overrides(args: argparse.Namespace) -> list[str]:
    """``--set`` overrides, with ``--data-root`` as ``data.root``."""
    extra = [] if args.data_root is None else [f"data.root={args.data_root.resolve()}"]
    return [*args.set, *extra]


def flag_overrides(args: argparse.Namespace, *keys: str) -> list[str]:
    """``--set`` overrides, then ``KEY=VALUE`` for each of ``keys`` given as its own flag
    (``--frames 5``: ``frames=5``; a flag left at None adds nothing).

    Example:
        >>> flag_overrides(argparse.Namespace(set=["a=1"], frames=5, seed=None), "frames", "seed")
        ['a=1', 'frames=5']
    """
    given = [(key, getattr(args, key)) for key in keys]
    return [*args.set, *(f"{key}={value}" for key, value in given if value is not None)]


def run_training(args: argparse.Namespace) -> int:
    """Handler of every training command: ``perception3d train`` and its aliases; ends with
    :func:`print_outputs` (by the main process only, under DDP)."""
    from perception3d.engine.train import train_config_file

    result = train_config_file(
        args.config, train_overrides(args), args.out, args.resume, not args.no_progress, args.task
    )
    if result.main_process:
        epochs = len(result.history["epochs"])
        print_outputs(args.command_name, result.out_dir, f"{epochs} epochs, model.pt")
    return 0
