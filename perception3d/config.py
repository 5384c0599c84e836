"""YAML -> frozen dataclasses, strictly.

One loader for every config in ``configs/``: unknown keys, missing keys and values of the wrong
type are errors that name the file and the dotted key; paths are resolved relative to the YAML
file, and paths given by ``--set a.b=value`` overrides relative to the working directory (as any
command-line path); overrides are applied before validation. Derived values belong in
properties of the dataclasses, never in the YAML.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from perception3d.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class DataSection:
    """The keys every ``data:`` section has (training experiments, evaluation and experiment
    configs alike); a config's data class adds its own.

    Attributes:
        root: dataset root (KITTI layout, ObjectNet3D layout...); null in the config of weights
            saved outside a training run, and for tasks that need no dataset (procedural ISP
            scenes); a task that needs one says so when it starts.
        train_split, val_split: split names (``ImageSets/<name>.txt``).
        max_train_frames, max_val_frames: use only the first N frames of a split (None:
            all); applied where the frames are listed
            (:class:`perception3d.data.kitti.KittiObjectDataset` ``max_frames``).
    """

    root: Path | None = None
    train_split: str = "train"
    val_split: str = "val"
    max_train_frames: int | None = None
    max_val_frames: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_train_frames", "max_val_frames"):
            if getattr(self, name) is not None:
                at_least(self, 1, name)


def require_root(data: DataSection, task: str) -> Path:
    """``data.root``, or a :class:`ConfigError` saying the task needs one."""
    if data.root is None:
        raise ConfigError(f"task {task!r} needs data.root (set it, or give --data-root)")
    return data.root


def at_least(obj: Any, low: int, *names: str) -> None:
    """Raise ``ValueError`` naming the first of ``names`` (attributes of ``obj``) below
    ``low``: the range check of config dataclasses' ``__post_init__``."""
    for name in names:
        value = getattr(obj, name)
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")


def load_config(path: str | Path, cls: type[T], overrides: Iterable[str] = ()) -> T:
    """Load ``path`` into the dataclass ``cls``.

    Args:
        path: YAML file.
        cls: a (frozen) dataclass type.
        overrides: ``"dotted.key=value"`` strings; values are parsed as YAML scalars/lists.

    Raises:
        ConfigError: unknown, missing or ill-typed keys, or an unreadable file.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: expected UTF-8 YAML text, got byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start}"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    data = apply_overrides(data, overrides, source=str(path))
    return from_dict(cls, data, source=str(path), base_dir=path.parent)


def apply_overrides(data: dict, overrides: Iterable[str], source: str = "--set") -> dict:
    """Return a copy of ``data`` with ``key.sub=value`` overrides applied.

    Example:
        >>> apply_overrides({"a": {"b": 1}}, ["a.b=2.5"])
        {'a': {'b': 2.5}}
    """
    import copy

    out = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"{source}: override {item!r} must look like key.sub=value")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        node = out
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                node[p] = {} if p not in node else node[p]
                if not isinstance(node[p], dict):
                    raise ConfigError(f"{source}: override {key!r}: {p!r} is not a mapping")
            node = node[p]
        try:
            node[parts[-1]] = _map_strings(yaml.safe_load(raw), _CommandLineText)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise ConfigError(
                f"{source}: override {item!r}: the value is not valid YAML ({problem})"
            ) from None
    return out


class _CommandLineText(str):
    """A string given by a ``--set`` override: as a path, relative to the working directory."""


def _map_strings(value: Any, convert: Callable[[str], str]) -> Any:
    """``value`` with ``convert`` applied to each string: the value itself or in its lists
    (``_CommandLineText`` marks a ``--set`` value's strings, ``str`` removes the mark)."""
    if isinstance(value, str):
        return convert(value)
    if isinstance(value, list):
        return [_map_strings(v, convert) for v in value]
    return value


def from_dict(
    cls: type[T], data: Any, source: str = "<dict>", base_dir: Path | None = None, prefix: str = ""
) -> T:
    """Build dataclass ``cls`` from a plain mapping, checking every key and type."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    where = f"{source}: {prefix.rstrip('.') or '<top>'}"
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping for {cls.__name__}, got {type(data).__name__}"
        )
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown} for {cls.__name__}; allowed: {sorted(fields)}"
        )
    kwargs = {}
    for name, f in fields.items():
        key = f"{prefix}{name}"
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(
                    f"{source}: missing required key {key!r} ({_type_name(hints[name])})"
                )
            continue
        kwargs[name] = _convert(hints[name], data[name], source, key, base_dir)
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def to_dict(obj: Any) -> Any:
    """Dataclass -> plain YAML/JSON-able structure (paths as strings, tuples as lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(tp: Any, value: Any, source: str, key: str, base_dir: Path | None) -> Any:
    origin = get_origin(tp)
    args = get_args(tp)
    if tp is not Path and origin not in (Union, types.UnionType, tuple, list, typing.Tuple):  # noqa: UP006
        value = _map_strings(value, str)  # only a Path keeps the mark of the command line
    bad = ConfigError(f"{source}: {key!r} expected {_type_name(tp)}, got {value!r}")

    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, source, key, base_dir)
            except ConfigError:
                continue
        raise bad
    if origin is Literal:
        if value in args and not (isinstance(value, bool) and not any(a is value for a in args)):
            return value
        raise ConfigError(f"{source}: {key!r} must be one of {list(args)}, got {value!r}")
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, source, base_dir, prefix=f"{key}.")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad
    if tp is Path:
        if isinstance(value, (str, Path)):
            p = Path(value).expanduser()
            if isinstance(value, _CommandLineText):
                return p.resolve()
            if not p.is_absolute() and base_dir is not None:
                p = (base_dir / p).resolve()
            return p
        raise bad
    if origin in (tuple, typing.Tuple):  # noqa: UP006
        if not isinstance(value, (list, tuple)):
            raise bad
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(
                _convert(args[0], v, source, f"{key}[{i}]", base_dir) for i, v in enumerate(value)
            )
        if len(args) != len(value):
            raise ConfigError(f"{source}: {key!r} expected {len(args)} values, got {value!r}")
        return tuple(
            _convert(a, v, source, f"{key}[{i}]", base_dir)
            for i, (a, v) in enumerate(zip(args, value))
        )
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise bad
        return [_convert(args[0], v, source, f"{key}[{i}]", base_dir) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise bad
        return {
            _convert(args[0], k, source, f"{key}.<key>", base_dir): _convert(
                args[1], v, source, f"{key}.{k}", base_dir
            )
            for k, v in value.items()
        }
    raise TypeError(f"config type {tp!r} of {key!r} is not supported by the loader")


def load_config_or_defaults(
    path: str | Path | None, cls: type[T], overrides: Iterable[str] = ()
) -> T:
    """``load_config(path, cls, overrides)``, or ``cls``'s defaults with the overrides applied
    when ``path`` is None (for commands whose config file is optional). An override inside a
    mapping-valued default (``objects.mean_in_view.Car=5``) keeps the mapping's other keys.

    Example:
        >>> import dataclasses
        >>> @dataclasses.dataclass(frozen=True)
        ... class C:
        ...     a: int = 1
        >>> load_config_or_defaults(None, C, ["a=3"])
        C(a=3)
    """
    if path is not None:
        return load_config(path, cls, overrides)
    return from_dict(cls, apply_overrides(to_dict(cls()), overrides), source="--set")
