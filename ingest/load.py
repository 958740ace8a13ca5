"""Find and decode documents; every skip carries a reason instead of an exception.

    decode(b"\xef\xbb\xbf\xe4\xbd\xa0") -> ("你", "utf-8-sig")
    decode("你好".encode("utf-16")) -> ("你好", "utf-16-le")
"""
from __future__ import annotations

import os
import re
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes

SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm"}
MAX_BYTES = 20 * 1024 * 1024
# UTF-32 first: its little-endian mark begins with UTF-16's.
BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
UTF8 = ("utf-8", "utf-8-sig")
LENIENT = ("utf-8", "gb18030", "big5", "cp932")     # tried, in this order, when no encoding fits every byte
MAX_ODD = 0.1              # odd characters per character a lenient reading may have (random bytes: over 0.25)
ODD = re.compile(r"[\ufffd\ue000-\uf8ff\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
NON_ASCII = re.compile(r"[^\x00-\x7f]")
KANA = re.compile(r"[\u3040-\u30ff]")
# A file name as os.fsdecode gives it: undecodable bytes are surrogates; controls are unprintable.
UNPRINTABLE = re.compile(r"[\udc80-\udcff\x00-\x1f\x7f-\x9f]")


@dataclass
class RawFile:
    path: Path          # absolute
    source: str         # relative to the ingested root, POSIX style, printable (see printable_name)
    data: bytes


@dataclass
class Skip:
    source: str
    reason: str


@dataclass
class Decoded:
    text: str | None
    encoding: str       # the codec assumed, or why the bytes are not text
    replaced: int = 0   # undecodable byte sequences shown as U+FFFD


@dataclass
class Walk:
    files: list[Path] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    ignored: Counter = field(default_factory=Counter)    # suffix (or "hidden") -> files that are not notes


def decode(data: bytes) -> tuple[str | None, str]:
    decoded = decode_bytes(data)
    return decoded.text, decoded.encoding


def decode_bytes(data: bytes) -> Decoded:
    """A byte-order mark, else UTF-8, GB18030 that reads as Chinese, detection; else the reading with the
    fewest odd characters, undecodable bytes replaced by U+FFFD (a few bad bytes must not drop a file)."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            return _lenient(data[len(bom):], codec)
    if b"\x00" in data[:8192]:
        return Decoded(None, "binary (NUL bytes)")
    return _strict(data) or _best_lenient(data) or Decoded(None, "undecodable (binary, or text in no known encoding)")


def _strict(data: bytes) -> Decoded | None:
    for codec in ("utf-8", "gb18030"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec == "utf-8" or _common_share(text) >= 0.9:
            return _scrubbed(text, codec)
    best = from_bytes(data).best()
    return _scrubbed(str(best), best.encoding) if best is not None else None


def _lenient(data: bytes, codec: str) -> Decoded:
    text = data.decode(codec, errors="replace")
    return _scrubbed(text, codec, text.count("\ufffd"))


def _scrubbed(text: str, codec: str, replaced: int = 0) -> Decoded:
    """Lone surrogates (some codecs let them through) cannot be written as UTF-8: U+FFFD instead."""
    text, n = re.subn(r"[\ud800-\udfff]", "\ufffd", text)
    return Decoded(text, codec, replaced + n)


def _best_lenient(data: bytes) -> Decoded | None:
    readings = [_lenient(data, codec) for codec in LENIENT]
    odd = [_oddity(r) for r in readings]
    best = min(range(len(readings)), key=odd.__getitem__)      # the first of equals: LENIENT's order
    return readings[best] if odd[best] <= MAX_ODD else None


def _oddity(reading: Decoded) -> float:
    """Share of characters that betray a wrong codec: replaced, private-use, control; for the Chinese
    codecs also rare characters, as GBK and Big5 read each other's bytes without errors."""
    text = reading.text or ""
    odd = len(ODD.findall(text))
    if reading.encoding in ("gb18030", "big5"):
        odd += (1 - _common_share(text)) * (len(text) - len(text.encode("ascii", "ignore")))
    return odd / max(1, len(text))


def _common_share(text: str, sample: int = 4000) -> float:
    """Share of the non-ASCII characters that are common Chinese (GB2312 or Big5's frequent level, not kana).

    Shift-JIS, EUC-JP or Big5 bytes read as GB18030 give rare characters, private-use ones or kana.
    """
    chars = [m.group() for _, m in zip(range(sample), NON_ASCII.finditer(text))]
    return sum(1 for ch in chars if _common(ch)) / len(chars) if chars else 1.0


def _common(ch: str) -> bool:
    if KANA.match(ch):
        return False
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        pass
    try:
        return ch.encode("big5")[0] < 0xC7          # symbols and the 5401 frequent characters
    except UnicodeEncodeError:
        return False


def is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in UTF8


def printable_name(name: str) -> str:
    """A file name as printable text that any JSON, hash or terminal takes.

    A name that is not UTF-8 (a GBK name from a zip made on Windows) reaches Python with each bad byte
    as a surrogate; it and any control character are written as \\xNN (\\u00NN for C1 controls), so
    b"\\xc3\\xfb.md" becomes "\\\\xc3\\\\xfb.md" and raw_name() gives the bytes back.
    """
    def escape(m: re.Match) -> str:
        code = ord(m.group())
        return f"\\x{code - 0xDC00:02x}" if code >= 0xDC80 else (f"\\u{code:04x}" if code >= 0x80 else f"\\x{code:02x}")
    return UNPRINTABLE.sub(escape, name)


def raw_name(name: str) -> bytes:
    """printable_name reversed (a name that itself holds a literal "\\xNN" is the one ambiguity)."""
    text = re.sub(r"\\u(00[89][0-9a-f])", lambda m: chr(int(m.group(1), 16)), name)
    return re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), os.fsencode(text))


def walk(root: Path) -> tuple[list[Path], list[Skip]]:
    found = walk_all(root)
    return found.files, found.skips


def walk_all(root: Path) -> Walk:
    """Candidate files below root (or root itself), following directory links at most once; folders
    that cannot be listed or loop are skips; other files are counted by suffix."""
    root = root.resolve()
    out, seen = Walk(), set()
    if not root.is_dir():
        out.files.append(root)
        return out

    def unlistable(e: OSError) -> None:
        out.skips.append(Skip(_rel(Path(e.filename or root), root), f"folder not readable ({e.strerror or e})"))
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=unlistable):
        real = os.path.realpath(dirpath)
        if real in seen:
            out.skips.append(Skip(_rel(Path(dirpath), root), "symlink loop"))
            dirnames[:] = []
            continue
        seen.add(real)
        out.ignored["hidden"] += sum(1 for d in dirnames if d.startswith("."))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            suffix = Path(name).suffix.lower()
            if name.startswith("."):
                out.ignored["hidden"] += 1
            elif suffix in SUFFIXES:
                out.files.append(Path(dirpath) / name)
            else:
                out.ignored[printable_name(suffix) or "no suffix"] += 1
    return out


def _rel(path: Path, root: Path) -> str:
    try:
        rel = path.relative_to(root).as_posix()
        return printable_name(path.name if rel == "." else rel)
    except ValueError:
        return printable_name(path.name)


def read(path: Path, root: Path) -> RawFile | Skip:
    root = root.resolve()
    source = _rel(path, root) if root.is_dir() else printable_name(path.name)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):        # a FIFO would block the read forever
            return Skip(source, f"not a regular file ({_kind(info.st_mode)})")
        if info.st_size > MAX_BYTES:
            return Skip(source, f"too large ({info.st_size // 1_048_576} MiB > {MAX_BYTES // 1_048_576} MiB)")
        data = path.read_bytes()
    except PermissionError:
        return Skip(source, "not readable (permission denied)")
    except FileNotFoundError:
        return Skip(source, "not readable (broken symbolic link)" if path.is_symlink() else "not readable (gone)")
    except OSError as e:
        return Skip(source, f"not readable ({e.strerror or e})")
    if not data.strip():
        return Skip(source, "empty")
    return RawFile(path, source, data)


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "named pipe"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
             (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder"))
    return next((name for test, name in kinds if test(mode)), "special file")
