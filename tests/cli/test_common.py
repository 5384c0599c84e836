"""The command line as a whole: every command's ``--help`` shows an example, every command
ends by saying where its outputs are (:func:`print_outputs`), the shared option table."""

from __future__ import annotations

import argparse
import inspect

import pytest

from perception3d.cli import build_parser
from perception3d.cli.common import add_options, print_outputs


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command words, parser) of every command and sub-command, groups included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _commands(sub, (*path, name))


COMMANDS = dict(_commands(build_parser()))
LEAVES = {words: p for words, p in COMMANDS.items() if "func" in p._defaults}


def test_the_walk_sees_every_area():
    assert {w[0] for w in COMMANDS} >= {"train", "infer", "eval", "fusion", "frustum", "isp"}
    assert ("eval", "kitti") in LEAVES and ("frustum", "infer-2d") in LEAVES
    assert len(LEAVES) >= 30


@pytest.mark.parametrize("words", sorted(COMMANDS), ids=" ".join)
def test_help_shows_an_example_of_the_command(words):
    text = COMMANDS[words].format_help()
    assert "\nexample:\n" in text, f"perception3d {' '.join(words)} --help has no example"
    example = text.split("\nexample:\n", 1)[1].splitlines()
    command = "perception3d " + " ".join(words)
    assert any(line.strip().startswith(command + " ") for line in example), example


def _reaches(func, name: str, seen: set | None = None) -> bool:
    """Whether ``func`` calls ``name``, itself or through functions of its own module."""
    seen = set() if seen is None else seen
    if func in seen:
        return False
    seen.add(func)
    for called in func.__code__.co_names:
        if called == name:
            return True
        target = func.__globals__.get(called)
        if inspect.isfunction(target) and target.__module__ == func.__module__:
            if _reaches(target, name, seen):
                return True
    return False


@pytest.mark.parametrize("words", sorted(LEAVES), ids=" ".join)
def test_every_command_ends_with_where_its_outputs_are(words):
    handler = LEAVES[words]._defaults["func"]
    assert _reaches(handler, "print_outputs"), f"{handler.__qualname__} never calls it"


def test_print_outputs_line(capsys):
    print_outputs("fusion paint", "data/painted", "3 frames painted")
    assert (
        capsys.readouterr().out
        == "perception3d fusion paint: wrote data/painted (3 frames painted)\n"
    )
    print_outputs("viz", "frame.png")
    assert capsys.readouterr().out == "perception3d viz: wrote frame.png\n"


def test_add_options_shared_fields_and_changes():
    p = argparse.ArgumentParser()
    add_options(p, "--data-root", "--split", "--max-frames", required=("--data-root",),
                split={"default": "train"}, max_frames="first N")  # fmt: skip
    args = p.parse_args(["--data-root", "d", "--max-frames", "4"])
    assert (str(args.data_root), args.split, args.max_frames) == ("d", "train", 4)
    with pytest.raises(SystemExit):
        p.parse_args([])  # --data-root is required
    assert "first N" in p.format_help()


@pytest.mark.parametrize(
    "flags, kwargs",
    [(("--nope",), {}), (("--out",), {"split": "x"}), (("--out",), {"required": ("--split",)})],
)
def test_add_options_rejects_unknown_names(flags, kwargs):
    with pytest.raises(ValueError, match="unknown or unlisted options"):
        add_options(argparse.ArgumentParser(), *flags, **kwargs)
