"""Find and decode documents; every skip carries a reason instead of an exception.

    decode(b"\xef\xbb\xbf\xe4\xbd\xa0") -> ("你", "utf-8-sig")
    decode("你好".encode("utf-16")) -> ("你好", "utf-16-le")
"""
from __future__ import annotations

import os
import re
import stat
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes

SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx", ".ipynb"}   # the last three: ingest.formats
MAX_BYTES = 20 * 1024 * 1024
READ_SECONDS = 30.0        # a note file is read whole well within this on any working disk
READ_CHUNK = 1 << 20
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


def walk(root: Path, follow_links: bool = False) -> tuple[list[Path], list[Skip]]:
    found = walk_all(root, follow_links=follow_links)
    return found.files, found.skips


def walk_all(root: Path, *, follow_links: bool = False, inside: tuple[Path, ...] = ()) -> Walk:
    """Candidate files below root (or root itself). Real folders come first; a symbolic link is followed
    once and only when it resolves inside root (or inside one of `inside`, the other ingested paths),
    unless follow_links; each file is listed once however many links lead to it."""
    root = root.resolve()
    out = Walk()
    if not root.is_dir():
        out.files.append(root)
        return out
    walker = _Walker(root, (root, *(p.resolve() for p in inside)), follow_links, out)
    walker.run()
    out.files = _unique(out.files, root, out.skips)
    return out


class _Walker:
    """os.walk without following links, then each linked folder not yet walked, breadth first."""

    def __init__(self, root: Path, bounds: tuple[Path, ...], follow_links: bool, out: Walk):
        self.root, self.bounds, self.follow, self.out = root, bounds, follow_links, out
        self.seen: set[str] = set()
        self.linked: list[Path] = []

    def run(self) -> None:
        self._walk(self.root)
        while self.linked:
            link = self.linked.pop(0)
            real = os.path.realpath(link)
            if real in self.seen:
                loop = (os.path.realpath(link.parent) + os.sep).startswith(real + os.sep)   # it points at its own ancestor
                self.out.skips.append(Skip(self._source(link), "symlink loop" if loop else
                                           "symbolic link to a folder already ingested (read once)"))
            elif self._allowed(link, real, "folder"):
                self._walk(link)

    def _walk(self, top: Path) -> None:
        def unlistable(e: OSError) -> None:
            self.out.skips.append(Skip(self._source(Path(e.filename or top)), f"folder not readable ({e.strerror or e})"))
        for dirpath, dirnames, filenames in os.walk(top, onerror=unlistable):
            real = os.path.realpath(dirpath)
            if real in self.seen:
                dirnames[:] = []
                continue
            self.seen.add(real)
            self.out.ignored["hidden"] += sum(1 for d in dirnames if d.startswith("."))
            visible = sorted(d for d in dirnames if not d.startswith("."))
            self.linked += [Path(dirpath) / d for d in visible if os.path.islink(os.path.join(dirpath, d))]
            dirnames[:] = [d for d in visible if not os.path.islink(os.path.join(dirpath, d))]
            for name in sorted(filenames):
                self._file(Path(dirpath) / name)

    def _file(self, path: Path) -> None:
        suffix = path.suffix.lower()
        if path.name.startswith("."):
            self.out.ignored["hidden"] += 1
        elif suffix not in SUFFIXES:
            self.out.ignored[printable_name(suffix) or "no suffix"] += 1
        elif not path.is_symlink() or self._allowed(path, os.path.realpath(path), "file"):
            self.out.files.append(path)

    def _allowed(self, link: Path, real: str, what: str) -> bool:
        if self.follow or any(real == str(b) or real.startswith(str(b) + os.sep) for b in self.bounds):
            return True
        self.out.skips.append(Skip(self._source(link), f"symbolic link to a {what} outside the ingested folder "
                                                       f"(not followed; --follow-links includes it)"))
        return False

    def _source(self, path: Path) -> str:
        return _rel(path, self.root)


def _unique(files: list[Path], root: Path, skips: list[Skip]) -> list[Path]:
    """Each real file once: a file itself wins over links to it, else the first link found."""
    chosen: dict[str, Path] = {}
    for path in sorted(files, key=lambda p: p.is_symlink()):       # stable: real files first
        real = os.path.realpath(path)
        if real in chosen:
            skips.append(Skip(_rel(path, root), f"same file as {_rel(chosen[real], root)} (read once)"))
        else:
            chosen[real] = path
    kept = set(chosen.values())
    return [p for p in files if p in kept]


def unique_files(files: list[Path], root: Path, skips: list[Skip]) -> list[Path]:
    """Files found under several ingested paths, each real file once (see _unique)."""
    return _unique(list(dict.fromkeys(files)), root, skips)


def _rel(path: Path, root: Path) -> str:
    try:
        rel = path.relative_to(root).as_posix()
        return printable_name(path.name if rel == "." else rel)
    except ValueError:
        return printable_name(path.name)


class _Refused(Exception):
    """A file ingest will not read, with the reason."""


def read(path: Path, root: Path) -> RawFile | Skip:
    root = root.resolve()
    source = _rel(path, root) if root.is_dir() else printable_name(path.name)
    try:
        data = _bounded(_read_regular, path, READ_SECONDS)
    except _Refused as e:
        return Skip(source, str(e))
    except PermissionError:
        return Skip(source, "not readable (permission denied)")
    except FileNotFoundError:
        return Skip(source, "not readable (broken symbolic link)" if path.is_symlink() else "not readable (gone)")
    except OSError as e:
        return Skip(source, f"not readable ({e.strerror or e})")
    if not data.strip():
        return Skip(source, "empty")
    return RawFile(path, source, data)


def _read_regular(path: Path, deadline: float) -> bytes:
    """The bytes of a regular file. O_NONBLOCK: opening a FIFO returns at once instead of waiting for a
    writer, and the type is checked on the opened descriptor, so the file cannot be swapped in between.
    Size and time are checked while reading, since a file may grow or a mount may crawl."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Refused(f"not a regular file ({_kind(info.st_mode)})")
        if info.st_size > MAX_BYTES:
            raise _Refused(f"too large ({info.st_size // 1_048_576} MiB > {MAX_BYTES // 1_048_576} MiB)")
        parts, size = [], 0
        while chunk := os.read(fd, READ_CHUNK):
            parts.append(chunk)
            size += len(chunk)
            if size > MAX_BYTES:
                raise _Refused(f"too large (grew past {MAX_BYTES // 1_048_576} MiB while being read)")
            if time.monotonic() > deadline:
                raise _Refused(f"reading took longer than {READ_SECONDS:g} s (slow or stalled disk)")
        return b"".join(parts)
    finally:
        os.close(fd)


def _bounded(reader, path: Path, seconds: float) -> bytes:
    """reader(path, deadline) in a worker thread, given up after seconds plus a grace second: a read
    blocked inside the kernel (a hung network mount) cannot be interrupted, only left behind."""
    result: list = []

    def work() -> None:
        try:
            result.append(reader(path, time.monotonic() + seconds))
        except BaseException as e:          # handed to the caller's thread below
            result.append(e)
    worker = threading.Thread(target=work, name="iqa-read", daemon=True)
    worker.start()
    worker.join(seconds + 1)
    if not result:
        raise _Refused(f"reading did not finish in {seconds:g} s (slow or stalled disk)")
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "named pipe"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
             (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder"))
    return next((name for test, name in kinds if test(mode)), "special file")
