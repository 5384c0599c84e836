"""The import layering of docs/architecture.md, read from the source with ``ast`` (every
``import`` statement counts, module level or inside a function):

- each stage imports only the stages below it (ALLOWED);
- inference (the ISP pipeline, batch and frustum inference, the detector API) never imports
  training code, not even through another module;
- the task modules of the training engine do not import each other.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "perception3d"
FOUNDATION = {"atomic", "checkpoint", "config", "errors", "runtime"}
# stage -> the stages it may import (the foundation modules: every stage)
LOW = {"geometry", "data", "sim", "lidar", "isp"}
ALLOWED = {
    "geometry": set(),
    "data": {"geometry"},
    "sim": {"geometry", "data"},
    "lidar": {"geometry", "data"},
    "isp": {"geometry", "data"},
    "eval": {"geometry", "data"},
    "viz": {"geometry", "data", "eval"},
    "models": LOW,
    "engine": LOW | {"models", "eval"},
    "interop": LOW | {"models", "eval", "engine"},  # checkpoints of other frameworks
    "experiments": LOW | {"models", "eval", "viz", "interop", "engine"},
}
ALLOWED["demo"] = ALLOWED["experiments"]
INFERENCE = (
    "perception3d.isp.pipeline",
    "perception3d.engine.infer",
    "perception3d.engine.frustum_infer",
    "perception3d.engine.objectnet3d_viewpoint",
    "perception3d.engine.detect",
    "perception3d.engine.detect_files",
    "perception3d.interop.onnx_runtime",
)
TRAINING = tuple(
    f"perception3d.engine.{name}" for name in ("fit", "train", "tasks", "optim", "resume")
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _imports(path: Path) -> frozenset[str]:
    """The perception3d modules ``path`` imports."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)  # submodules
    return frozenset(m for m in out if m.startswith("perception3d."))


def _files() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _stage(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else ""


def test_every_stage_imports_only_the_stages_below_it():
    wrong = []
    for module, path in sorted(_files().items()):
        stage = _stage(module)
        if stage in FOUNDATION:
            allowed = FOUNDATION
        elif stage in ALLOWED:
            allowed = ALLOWED[stage] | FOUNDATION | {stage}
        else:  # cli, __main__, the package's lazy attribute: anything
            continue
        files = _files()
        for target in _imports(path):
            if target in files or target.rsplit(".", 1)[0] in files:
                if _stage(target) not in allowed:
                    wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(wrong)


def _closure(start: str) -> set[str]:
    files, seen, todo = _files(), set(), [start]
    while todo:
        module = todo.pop()
        if module in seen or module not in files:
            continue
        seen.add(module)
        todo.extend(t if t in files else t.rsplit(".", 1)[0] for t in _imports(files[module]))
    return seen


def test_inference_never_imports_training_code():
    for start in INFERENCE:
        reached = _closure(start)
        assert start in reached
        training = sorted(m for m in reached if m.startswith(TRAINING))
        assert not training, f"{start} reaches training code: {training}"


def test_task_modules_do_not_import_each_other():
    files = _files()
    tasks = [m for m in files if m.startswith("perception3d.engine.tasks.")]
    assert len(tasks) >= 8
    for module in tasks:
        others = [t for t in _imports(files[module]) if t.startswith("perception3d.engine.tasks")]
        assert not others, f"{module} imports {others}"


def test_the_checker_sees_a_violation(tmp_path):
    """The rules bite: a lower stage importing a higher one is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from perception3d.engine.fit import fit\n")
    assert "perception3d.engine.fit" in _imports(bad)
    assert _stage("perception3d.engine.fit") not in ALLOWED["eval"]
