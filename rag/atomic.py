"""Atomic file switching for index generations: fsync, a pointer file replaced in one rename, old
generations removed. No iqa types here, so the store and its tests can use it alone.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def switch_pointer(pointer: Path, name: str) -> None:
    """Write name into the pointer file atomically: a temporary file, fsynced, renamed over it, the folder fsynced."""
    pointer_tmp = pointer.parent / f".{pointer.name}.{os.getpid()}"
    try:
        with open(pointer_tmp, "w", encoding="utf-8") as f:
            f.write(name)
            f.flush()
            os.fsync(f.fileno())         # the name is on disk before the rename: a power cut never leaves CURRENT empty
        os.replace(pointer_tmp, pointer)
    finally:
        pointer_tmp.unlink(missing_ok=True)
    fsync_dir(pointer.parent)            # the rename and the switch survive a power cut


def fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_generations(index_dir: Path, keep: set[str]) -> None:
    """Every generation folder (and leftover temporary one) of index_dir but those named in keep."""
    for path in index_dir.iterdir():
        if path.name not in keep and (path.name.startswith("gen-") or path.name.startswith(".tmp-gen-")):
            shutil.rmtree(path, ignore_errors=True)
