"""Atomic file writes: write to a temporary file in the same folder, then rename.

A reader (or a crash) never sees a half-written checkpoint, prediction or dataset file.

The temporary is ``.<name>.<host>-<pid>.<random>.tmp`` beside the target. A process killed
mid-write (SIGKILL, power loss) leaves it behind; the first atomic write of a later process
into the same folder removes such leftovers when it is safe to: the writer was on this host
and is no longer running, or the file is over a day old (a writer on another host), or it has
the old name without host and pid (``.<name>.<random>.tmp``) and predates this process. A
temporary of a live writer is never touched.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

_PROCESS_START = time.time()  # this module's import: at or after the process started
_STALE_SECONDS = 24 * 3600.0  # no single write takes a day: such a temporary is abandoned
_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
_TMP_RE = re.compile(
    r"^\.(?P<target>.+?)\.(?:(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)\.)?[A-Za-z0-9_]+\.tmp$"
)
_swept: set[str] = set()
_swept_lock = threading.Lock()


def temporary_target(name: str) -> str | None:
    """The target file name of an atomic write's temporary ``name``, else None.

    Example:
        >>> temporary_target(".000012.png.myhost-4242.k3j_x9a1.tmp")
        '000012.png'
        >>> temporary_target(".000012.png.k3j_x9a1.tmp"), temporary_target("000012.png")
        ('000012.png', None)
    """
    match = _TMP_RE.match(name)
    return match.group("target") if match else None


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep its file
    return True


def _is_stale(path: Path) -> bool:
    match = _TMP_RE.match(path.name)
    if match is None:
        return False
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return False
    if time.time() - mtime > _STALE_SECONDS:
        return True
    if match.group("pid") is None:  # the old name: by age only
        return mtime < _PROCESS_START
    return match.group("host") == _HOST and not _pid_running(int(match.group("pid")))


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporaries of killed atomic writes in ``folder`` (rules in the module
    docstring) and return them. Atomic writes call it once per folder and process."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_file():
            path = Path(entry.path)
            if _is_stale(path):
                try:
                    path.unlink()
                    removed.append(path)
                except FileNotFoundError:
                    pass
    return removed


def _sweep_once(folder: Path) -> None:
    key = os.path.abspath(folder)
    with _swept_lock:
        if key in _swept:
            return
        _swept.add(key)
    remove_stale_temporaries(folder)


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temporary binary file and atomically move it to ``path``.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> atomic_write(d / "a.txt", lambda f: f.write(b"hi")).read_bytes()
        b'hi'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_once(path.parent)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{_HOST}-{os.getpid()}.", suffix=".tmp", dir=path.parent
    )
    try:
        # mkstemp creates 0600; give the file the mode an ordinary open() would (0666 & ~umask).
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines untranslated) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def replace_symlink(target: str | Path, link: str | Path) -> Path:
    """Make ``link`` a symbolic link to ``target``'s resolved path, replacing a file or link
    already there and creating the parent folders (the linked views of datasets)."""
    link = Path(link)
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(Path(target).resolve(), link)
    return link
