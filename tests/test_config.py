"""The strict YAML -> dataclass loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from perception3d.config import from_dict, load_config, to_dict
from perception3d.errors import ConfigError


@dataclass(frozen=True)
class Voxel:
    size_m: tuple[float, float, float]
    max_points: int = 32


@dataclass(frozen=True)
class Experiment:
    name: str
    data_root: Path
    voxel: Voxel
    mode: Literal["train", "eval"] = "train"
    classes: tuple[str, ...] = ("Car",)
    lr: float = 1e-3
    note: str | None = None
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def grid_cells(self) -> int:  # derived values are properties, not keys
        return round(1 / self.voxel.size_m[0])


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "exp.yaml"
    p.write_text(text)
    return p


def test_loads_nested_and_resolves_paths(tmp_path):
    p = _write(
        tmp_path,
        "name: a\ndata_root: ../data\nvoxel: {size_m: [0.25, 0.25, 4]}\n"
        "classes: [Car, Pedestrian]\nlr: 1\n",
    )
    cfg = load_config(p, Experiment)
    assert cfg.data_root == (tmp_path / "../data").resolve()
    assert cfg.voxel == Voxel((0.25, 0.25, 4.0)) and cfg.lr == 1.0 and isinstance(cfg.lr, float)
    assert cfg.classes == ("Car", "Pedestrian") and cfg.grid_cells == 4 and cfg.mode == "train"
    assert to_dict(cfg)["voxel"] == {"size_m": [0.25, 0.25, 4.0], "max_points": 32}


def test_override_paths_are_relative_to_the_working_directory(tmp_path, monkeypatch):
    """A path in the YAML is relative to the YAML file; a path typed on the command line
    (``--set``) to the folder the command runs in, as every other command-line path."""
    import pickle

    import yaml

    conf = tmp_path / "configs"
    conf.mkdir()
    p = conf / "exp.yaml"
    p.write_text("name: a\ndata_root: ../data\nvoxel: {size_m: [1, 1, 1]}\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert load_config(p, Experiment).data_root == (tmp_path / "data").resolve()
    cfg = load_config(p, Experiment, ["data_root=runs/d", "name=b", "classes=[Car, Van]"])
    assert cfg.data_root == (work / "runs" / "d").resolve()
    # the strings keep no trace of where they came from: they dump and pickle as plain str
    assert type(cfg.name) is str and all(type(c) is str for c in cfg.classes)
    assert yaml.safe_load(yaml.safe_dump(to_dict(cfg)))["name"] == "b"
    assert type(pickle.loads(pickle.dumps(to_dict(cfg)))["name"]) is str


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "name: a\ndata_root: x\nvoxel: {size_m: [1, 1, 1]}\nlearning_rate: 1\n",
            r"unknown key\(s\) \['learning_rate'\]",
        ),
        (
            "name: a\ndata_root: x\nvoxel: {size_m: [1, 1, 1], max_pts: 3}\n",
            r"voxel: unknown key\(s\) \['max_pts'\]",
        ),
        ("name: a\nvoxel: {size_m: [1, 1, 1]}\n", r"missing required key 'data_root'"),
        ("name: a\ndata_root: x\nvoxel: {size_m: [1, 1]}\n", r"'voxel.size_m' expected 3 values"),
        (
            "name: a\ndata_root: x\nvoxel: {size_m: [1, 1, 1], max_points: 2.5}\n",
            r"'voxel.max_points' expected int, got 2.5",
        ),
        (
            "name: a\ndata_root: x\nvoxel: {size_m: [1, 1, 1]}\nmode: test\n",
            r"'mode' must be one of \['train', 'eval'\]",
        ),
        ("name: a\ndata_root: x\nvoxel: {size_m: [1, 1, 1]}\nlr: yes\n", r"'lr' expected float"),
        ("- a\n- b\n", r"top level must be a mapping"),
    ],
)
def test_rejects_bad_configs_naming_file_and_key(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match) as info:
        load_config(_write(tmp_path, text), Experiment)
    assert "exp.yaml" in str(info.value)


def test_overrides(tmp_path):
    p = _write(tmp_path, "name: a\ndata_root: x\nvoxel: {size_m: [1, 1, 1]}\n")
    cfg = load_config(p, Experiment, ["voxel.max_points=64", "lr=0.01", "note=hi"])
    assert cfg.voxel.max_points == 64 and cfg.lr == 0.01 and cfg.note == "hi"
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['nope'\]"):
        load_config(p, Experiment, ["nope=1"])
    with pytest.raises(ConfigError, match=r"must look like key.sub=value"):
        load_config(p, Experiment, ["lr"])


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.yaml: cannot read config"):
        load_config(tmp_path / "nope.yaml", Experiment)


def test_from_dict_without_file():
    cfg = from_dict(Voxel, {"size_m": [0.2, 0.2, 4]})
    assert cfg.size_m == (0.2, 0.2, 4.0)
    with pytest.raises(ConfigError, match=r"expected a mapping for Voxel"):
        from_dict(Voxel, [1, 2])
