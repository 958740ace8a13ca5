"""Code regions: fenced blocks, and unfenced Python in scraped text (with lost newlines restored).

    restore("import torch.nn as nnclass FPN(nn.Module):def __init__(self):super().__init__()")
    -> "import torch.nn as nn\nclass FPN(nn.Module):\n    def __init__(self):\n        super().__init__()"
"""
from __future__ import annotations

import re

from ingest import markdown as md
from rag.text import CJK

# "for x … in …:" takes the first " in " atomically (the same lines match): retrying every " in " of a
# long line, each with a scan for ':', was quadratic.
CODE_START = re.compile(
    r"^\s*(import \w|from [\w.]+ import |def \w+\(|class \w+[(:]|@\w+|for \w(?>.*? in ).+:|while .+:|if .+:|"
    r"elif .+:|else:|try:|except\b|with .+:|return\b|print\(|raise |assert |"
    r"[\w.\[\]]+(, *[\w.]+)* *[-+*/]?= *\S|[\w.]+\(.*\)\s*$|#)")
STRING = re.compile(r"(['\"]).*?\1")
# Where a newline was lost: before def/class glued to a word, and after ')' or ']' glued to a name.
GLUE = [
    (re.compile(r"(?<=[\w)\]])(?=(?:def|class) \w+\s*[(:])"), "\n"),
    (re.compile(r"(?<=\):)(?=[\w(\[#])"), "\n"),
    (re.compile(r"(?<=[)\]])(?=(?:self|return|for|if|with|print|super|raise|yield|[A-Za-z_]\w* *[=.(\[]))"), "\n"),
    (re.compile(r"(?<=[)\]\w])(?=# )"), "\n"),
]
PY_WORD = re.compile(r"\b(def|import|class|return|self)\b")
DEDENT_AFTER = re.compile(r"^\s*(return|pass|raise|break|continue)\b")


def fenced_blocks(text: str) -> list[tuple[int, int, str]]:
    """(start, end, language) of fenced code blocks, fences included, by markdown-it's rule (the one
    ingest.clean and ingest.structure use): a fence closes only on a bare fence at least as long, so
    "```+" inside a block is code; an unclosed fence runs to the end of its list item or of the text."""
    return [(f.start, f.end, f.info or "text") for f in md.fences(text)]


def is_code_line(line: str) -> bool:
    """Python-looking line whose non-string, non-comment part is not Chinese prose."""
    if not CODE_START.match(line):
        return False
    body = STRING.sub("", line.split("#", 1)[0]) if not line.lstrip().startswith("#") else ""
    return len(CJK.findall(body)) <= 2


def _continues_code(line: str) -> bool:
    """Inside a run: a line of code punctuation with no Chinese outside strings and comments."""
    body = STRING.sub("", line.split("#", 1)[0])
    return bool(re.search(r"[()\[\]{}=:,]", body)) and not CJK.search(body) and "。" not in line


def unfenced_blocks(text: str) -> list[tuple[int, int, str]]:
    """Runs of at least two code lines (comments count only inside a run) in unfenced text."""
    blocks, run, pos = [], [], 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        code = (is_code_line(line) or (run and _continues_code(line))) and not (stripped.startswith("#") and not run)
        if code or (run and not stripped):
            run.append((pos, pos + len(line), code and not stripped.startswith("#")))
        else:
            _close(run, blocks, text)
            run = []
        pos += len(line)
    _close(run, blocks, text)
    return blocks


def _close(run, blocks, text):
    while run and not run[-1][2] and not run[-1][1] - run[-1][0] > 1:
        run.pop()
    real = [r for r in run if r[2]]
    glued_line = len(real) == 1 and real[0][1] - real[0][0] > 100 and PY_WORD.search(text, real[0][0], real[0][1])
    if len(real) >= 2 or glued_line:
        blocks.append((run[0][0], run[-1][1], "python"))


def restore(code: str) -> str:
    """Put back newlines lost in scraping and indent Python blocks; leaves well-formed code alone."""
    if not any(pattern.search(code) for pattern, _ in GLUE[:2]):
        return code.strip("\n")
    glued = code
    for pattern, repl in GLUE:
        glued = pattern.sub(repl, glued)
    return _reindent(glued.splitlines())


def _reindent(lines: list[str]) -> str:
    out, indent, class_indent = [], 0, None
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if line.startswith("class "):
            indent, class_indent = 0, 0
        elif line.startswith(("def ", "@")) and class_indent is not None:
            indent = class_indent + 4 if not out[-1].lstrip().startswith("@") else indent
        elif line.startswith(("def ", "import ", "from ")):
            indent = 0
        out.append(" " * indent + line)
        if line.endswith(":") and not line.startswith("#"):
            indent += 4
        elif DEDENT_AFTER.match(line):
            indent = max(indent - 4, 0 if class_indent is None else class_indent + 4)
    return "\n".join(out)
