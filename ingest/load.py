"""Find and decode documents; every skip carries a reason instead of an exception.

    decode(b"\xef\xbb\xbf\xe4\xbd\xa0") -> ("你", "utf-8-sig")
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from rag.text import CJK

SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm"}
MAX_BYTES = 20 * 1024 * 1024


@dataclass
class RawFile:
    path: Path          # absolute
    source: str         # relative to the ingested root, POSIX style
    data: bytes


@dataclass
class Skip:
    source: str
    reason: str


def decode(data: bytes) -> tuple[str | None, str]:
    """UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK), then detection."""
    if b"\x00" in data[:8192]:
        return None, "binary (NUL bytes)"
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030" and not _looks_chinese(text):
            continue
        return text, encoding
    best = from_bytes(data).best()
    if best is None:
        return None, "undecodable text"
    return str(best), best.encoding


def _looks_chinese(text: str) -> bool:
    """GB18030 decodes almost any byte string; accept it only if it yields mostly CJK or ASCII."""
    sample = text[:4000]
    good = len(CJK.findall(sample)) + sum(1 for ch in sample if ch.isascii() or ch in "，。、；：？！“”‘’（）《》【】")
    return good >= 0.95 * max(1, len(sample))


def walk(root: Path) -> tuple[list[Path], list[Skip]]:
    """Candidate files below root (or root itself), following directory links at most once."""
    root = root.resolve()
    if root.is_file():
        return [root], []
    found, skips, seen = [], [], set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=None):
        real = os.path.realpath(dirpath)
        if real in seen:
            skips.append(Skip(_rel(Path(dirpath), root), "symlink loop"))
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.suffix.lower() in SUFFIXES and not name.startswith("."):
                found.append(path)
    return found, skips


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or path.name
    except ValueError:
        return path.name


def read(path: Path, root: Path) -> RawFile | Skip:
    root = root.resolve()
    source = _rel(path, root) if root.is_dir() else path.name
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return Skip(source, f"too large ({size // 1_048_576} MiB > {MAX_BYTES // 1_048_576} MiB)")
        data = path.read_bytes()
    except PermissionError:
        return Skip(source, "not readable (permission denied)")
    except OSError as e:
        return Skip(source, f"not readable ({e.strerror or e})")
    if not data.strip():
        return Skip(source, "empty")
    return RawFile(path, source, data)
