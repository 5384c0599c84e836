"""The output folder of an inference run holds that run's result files only.

``perception3d eval kitti`` scores every ``<id>.txt`` of a folder: result files another run
left there would be scored with the new ones. So a run refuses a folder holding result files
(unless told to replace them), and never deletes anything but result files.
"""

from __future__ import annotations

from pathlib import Path

from perception3d.errors import OutputExistsError


def claim_result_dir(out_dir: str | Path, overwrite: bool = False) -> Path:
    """Create ``out_dir`` for a run's KITTI result files, or check an existing one.

    Args:
        out_dir: the folder.
        overwrite: delete the ``*.txt`` result files already there (``.json`` notes stay;
            the folder must hold nothing else).

    Raises:
        OutputExistsError: the folder holds result files and ``overwrite`` is off, or holds
            other files than results (which are never deleted).

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()) / "pred"
        >>> claim_result_dir(d).is_dir()
        True
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError(f"{out_dir}: exists and is not a folder")
    entries = sorted(out_dir.iterdir()) if out_dir.is_dir() else []
    results = [p for p in entries if p.is_file() and p.suffix == ".txt"]
    others = [p.name for p in entries if not (p.is_file() and p.suffix in (".txt", ".json"))]
    if results and not overwrite:
        raise OutputExistsError(
            f"{out_dir} already holds {len(results)} result files (e.g. {results[0].name}) of "
            "another run, which eval kitti would score with the new ones: give an empty or "
            "new folder, or --overwrite to replace them"
        )
    if results and others:
        raise OutputExistsError(
            f"{out_dir}: holds other files than results ({', '.join(others[:3])}); not "
            "clearing it: give an empty or new folder"
        )
    for path in results:
        path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir
