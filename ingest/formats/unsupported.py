"""Why the files an ingest passes over are not read, grouped for one line of the summary.

    not_read(Counter({".png": 2, ".doc": 1}))
    -> "not read, 3 files: 2 images (.png) — not notes, iqa does no OCR; 1 old Word file (.doc) — save it as .docx"
"""
from __future__ import annotations

from collections import Counter

KINDS = {      # kind: (plural, suffixes, reason)
    "image": ("images", {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".svg", ".tif", ".tiff", ".heic", ".ico"},
              "not notes, iqa does no OCR"),
    "archive": ("archives", {".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz"}, "unpack it to index what it holds"),
    "old Word file": ("old Word files", {".doc", ".wps", ".rtf"}, "save it as .docx"),
    "slide deck": ("slide decks", {".ppt", ".pptx", ".key", ".odp"}, "export it as PDF"),
    "spreadsheet": ("spreadsheets", {".xls", ".xlsx", ".csv", ".numbers", ".ods"}, "not read as notes"),
    "e-book": ("e-books", {".epub", ".mobi", ".azw3", ".djvu", ".chm"}, "convert it to PDF or markdown"),
    "OpenDocument text": ("OpenDocument texts", {".odt", ".pages"}, "save it as .docx"),
    "audio or video file": ("audio or video files", {".mp3", ".mp4", ".wav", ".m4a", ".mov", ".avi", ".mkv", ".webm"},
                            "not text"),
    "source file": ("source files", {".py", ".java", ".cpp", ".c", ".h", ".js", ".ts", ".go", ".rs", ".sh"},
                    "code outside notes is not indexed (keep it in a note or a notebook)"),
    "hidden": ("hidden", {"hidden"}, "names starting with '.' are skipped"),
    "other": ("other files", set(), ""),
}
OTHER = "not a note format (.md .markdown .txt .html .htm .pdf .docx .ipynb are read)"


def kind_of(suffix: str) -> tuple[str, str]:
    """(kind, reason) for a suffix the ingest does not read ("no suffix" and "hidden" included)."""
    for kind, (_, suffixes, reason) in KINDS.items():
        if suffix in suffixes:
            return kind, reason
    return "other", OTHER


def not_read(ignored: Counter) -> str:
    """One line naming every kind of file passed over, with how many, their suffixes and the reason."""
    groups: dict[str, Counter] = {}
    for suffix, n in ignored.items():
        groups.setdefault(kind_of(suffix)[0], Counter())[suffix] += n
    parts = []
    for kind, suffixes in sorted(groups.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
        n = sum(suffixes.values())
        reason = kind_of(next(iter(suffixes)))[1]
        label = ("other file" if kind == "other" else kind) if n == 1 else KINDS[kind][0]
        names = ", ".join(sorted(s for s in suffixes if s != "hidden"))
        parts.append(f"{n} {label}" + (f" ({names})" if names else "") + f" — {reason}")
    total = sum(ignored.values())
    return f"not read, {total} file{'s' if total != 1 else ''}: " + "; ".join(parts)
