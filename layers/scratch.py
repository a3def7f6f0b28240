"""Scratch folders for work in progress — an upload being imported — in one known place: `<store>/tmp/`.

Each folder is removed when its work ends, whatever the outcome (a `finally`).  A process killed midway (kill -9,
a power cut) cannot run its `finally`; its folders are found at the next start-up and removed: a folder is stale
when the process named in it no longer runs, or it is older than any import can take.  Several processes may
share a store (`planmap serve` and `planmap import`), so a live process's folder is never touched.

A refusal must not show where the server keeps its files: `scrub` turns such paths into the file's own name.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCRATCH_FOLDER = "tmp"
STALE_AFTER_SECONDS = 24 * 3600  # far longer than an import of the largest upload takes
_OWNER = re.compile(r"^[a-z]+-(\d+)-([0-9a-f]+)-")  # "<purpose>-<pid>-<process token>-<random>"
# Tells this process's folders from those of an earlier process that had the same id (a container's server is
# often process 1 after every restart).
_PROCESS_TOKEN = secrets.token_hex(4)


def scratch_root(store_folder: Path) -> Path:
    """The store's folder for work in progress (made when missing)."""
    root = Path(store_folder) / SCRATCH_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextmanager
def scratch_dir(root: Path, purpose: str) -> Iterator[Path]:
    """A fresh private folder under `root`, named after this process, removed when the block ends."""
    folder = Path(tempfile.mkdtemp(prefix=f"{purpose}-{os.getpid()}-{_PROCESS_TOKEN}-", dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _stale(name: str, age: float) -> bool:
    owner = _OWNER.match(name)
    if owner is None or age > STALE_AFTER_SECONDS:
        return True
    pid, token = int(owner.group(1)), owner.group(2)
    if pid == os.getpid():
        return token != _PROCESS_TOKEN  # an earlier process with our id
    return not _running(pid)


def clear_stale(root: Path, now: float | None = None) -> list[str]:
    """Remove what lies under `root` and belongs to no running process (or is older than STALE_AFTER_SECONDS);
    returns the names removed."""
    now = time.time() if now is None else now
    removed = []
    for folder in sorted(Path(root).iterdir()) if Path(root).is_dir() else []:
        try:
            age = now - folder.lstat().st_mtime
        except FileNotFoundError:
            continue  # its owner just finished with it
        if _stale(folder.name, age):
            if folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)
            else:
                folder.unlink(missing_ok=True)
            removed.append(folder.name)
    return removed


def scrub(text: str, root: Path, name: str) -> str:
    """`text` with every path under `root` (as given or resolved) replaced by `name`, the file's own name."""
    for base in dict.fromkeys((str(root), str(Path(root).resolve()))):
        text = re.sub(re.escape(base) + r"[^\s'\"<>:;,)]*", name, text)
    return text
