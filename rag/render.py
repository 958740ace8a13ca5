"""One rendering of an answer and its sources, for every place that shows one.

Text from notes, file names, the model and the user is data: the terminal gets it with control
codes removed, the browser gets it escaped. JSON keeps the raw text (a program does its own display).

    terminal("a\\x1b[2Jb\\x07") -> "ab"
    fence("x = '```'") -> "````\\nx = '```'\\n````"
"""
from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass

from rag.grounding import mark_unsupported

# The same words in the CLI, the JSON, the chat panel and /ask for each kind of listed passage.
SOURCE_LABELS = {
    "cited": "Sources",
    "unused": "Passages shown to the model but not cited (the answer cites none of them)",
    "closest": "Closest passages (not close enough to answer from)",
}
MODE_NOTES = {
    "extractive": "Extractive answer: sentences quoted from the notes, no model text.",
    "out_of_scope": "The notes do not cover this question closely enough to answer it.",
}
UNSUPPORTED_NOTE = "† marks a sentence the passage it cites does not hold: the model's own words, check them."
# ESC/CSI/OSC sequences first (so their parameters go too), then any other control character.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
FENCE_RUN = re.compile(r"`{3,}|~{3,}")


@dataclass
class SourceRow:
    n: int
    status: str             # a key of SOURCE_LABELS
    title: str
    location: str
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


def source_rows(answer) -> list[SourceRow]:
    """The passages listed beside an answer: cited ones, else those the answer was drawn from."""
    if answer.citations:
        return [SourceRow(c.n, "cited", c.chunk.title, c.chunk.location, c.chunk.text) for c in answer.citations]
    status = "closest" if answer.mode == "out_of_scope" else "unused"
    return [SourceRow(h.rank or i, status, h.chunk.title, h.chunk.location, h.chunk.text)
            for i, h in enumerate(answer.hits[:3], start=1)]


def terminal(text: str) -> str:
    """Text safe to print: escape sequences and control characters removed (newline and tab kept)."""
    return CONTROL.sub("", ANSI.sub("", text))


def fence(code: str, language: str = "") -> str:
    """A markdown code block whose fence is longer than any backtick or tilde run inside the code."""
    longest = max((len(m.group(0)) for m in FENCE_RUN.finditer(code) if m.group(0)[0] == "`"), default=2)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{re.sub(r'[^A-Za-z0-9_+-]', '', language)}\n{code}\n{ticks}"


def escape_markdown_text(text: str) -> str:
    """Model or note text for a markdown view: HTML escaped outside code, so tags show as text."""
    return "".join(part if is_code else html.escape(part, quote=False) for part, is_code in markdown_code(text))


FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
BACKTICKS = re.compile(r"`+")


def markdown_code(text: str) -> list[tuple[str, bool]]:
    """[(part, is_code)] covering text, code as CommonMark reads it: a fence opens only at the start of a
    line (up to 3 spaces in) and runs to its closing fence or the end; an inline span is a run of
    backticks closed by the next run of the same length on the same line. A fence written mid-line
    ("见 ```py x") is not one: that text stays text (and is escaped).

        markdown_code("a `x[1]` b") -> [("a ", False), ("`x[1]`", True), (" b", False)]
    """
    parts: list[tuple[str, bool]] = []
    prose: list[str] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        opening = FENCE_OPEN.match(lines[i].rstrip("\r\n"))
        if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            fence, j = opening.group(1), i + 1
            closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
            while j < len(lines) and not closing.match(lines[j].rstrip("\r\n")):
                j += 1
            parts += _inline_code("".join(prose))
            prose = []
            parts.append(("".join(lines[i:j + 1]), True))
            i = j + 1
            continue
        prose.append(lines[i])
        i += 1
    parts += _inline_code("".join(prose))
    return [(part, code) for part, code in parts if part]


def _inline_code(text: str) -> list[tuple[str, bool]]:
    """Inline code spans of text (no fences in it), paragraph by paragraph."""
    parts: list[tuple[str, bool]] = []
    for paragraph in re.split(r"(\n[ \t]*\n)", text):
        # a backslash-escaped backtick opens nothing; a span never crosses a line (a heading, list item or
        # quote line ends there for Markdown, and what follows would be read as HTML)
        pos, runs = 0, [r for r in BACKTICKS.finditer(paragraph) if not paragraph[:r.start()].endswith("\\")]
        k = 0
        while k < len(runs):
            run = runs[k]
            if run.start() < pos:
                k += 1
                continue
            close = next((r for r in runs[k + 1:] if len(r.group(0)) == len(run.group(0))
                          and "\n" not in paragraph[run.end():r.start()]), None)
            if close is None:
                k += 1
                continue                       # an unmatched run is literal backticks
            parts += [(paragraph[pos:run.start()], False), (paragraph[run.start():close.end()], True)]
            pos = close.end()
            k = runs.index(close) + 1
        parts.append((paragraph[pos:], False))
    return parts


def marked_text(answer) -> str:
    """The answer text with † (rag.grounding.UNSUPPORTED_MARK) after each sentence its cited passage does not hold."""
    return mark_unsupported(answer.text, answer.sentences)


def timings_line(answer) -> str:
    t, m = answer.timings, answer.markers
    return (f"[{answer.mode}, {answer.model}; retrieve {t['retrieve_ms']:.0f} ms, first token "
            f"{t['first_token_ms']:.0f} ms, total {t['total_ms']:.0f} ms, {t['tokens_per_s']} tok/s; "
            f"prompt {t.get('prompt_tokens', 0)} tokens; citation markers: {m.valid} valid, "
            f"{m.invalid} removed, {m.attributed} attributed]")


def notes_for(answer) -> list[str]:
    """The sentences shown above the sources: notices and the mode's own note."""
    notes = [answer.notice] if answer.notice else []
    if answer.mode in MODE_NOTES:
        notes.append(MODE_NOTES[answer.mode])
    if any(s.supported is False for s in answer.sentences):
        notes.append(UNSUPPORTED_NOTE)
    return notes


def sources_text(answer) -> str:
    """The plain-text block printed under an answer in a terminal."""
    lines = [f"note: {terminal(n)}" for n in notes_for(answer)]
    rows = source_rows(answer)
    if rows:
        lines.append(f"\n{SOURCE_LABELS[rows[0].status]}:")
        lines += [f"  [{r.n}] {terminal(r.title)}\n      {terminal(r.location)}" for r in rows]
    for ref in answer.code:
        s = ref.snippet
        lines.append(f"\nCode ({terminal(s.language)}) — {terminal(ref.location)}")
        lines.append(terminal(s.code))
    lines.append("\n" + timings_line(answer))
    return "\n".join(lines)


def sources_html(answer) -> str:
    """The chat's source panel: every piece of note text escaped; [n] links land on id src-n."""
    if answer is None:
        return "<p class='iqa-empty'>Sources of the answer appear here.</p>"
    parts = [f"<p class='iqa-note'>{html.escape(n)}</p>" for n in notes_for(answer)]
    rows = source_rows(answer)
    if rows:
        parts.append(f"<p class='iqa-label'>{html.escape(SOURCE_LABELS[rows[0].status])}</p>")
    for r in rows:
        quote = html.escape(r.text[:1200]) + ("…" if len(r.text) > 1200 else "")
        parts.append(f"<details id='src-{r.n}' class='iqa-source'><summary><b>[{r.n}]</b> {html.escape(r.title)}"
                     f"<br><code>{html.escape(r.location)}</code></summary><pre class='iqa-quote'>{quote}</pre></details>")
    return "\n".join(parts)


def code_markdown(answer, limit: int = 4) -> str:
    """The code panel: a header per snippet (escaped) and the code in a fence it cannot close."""
    if answer is None or not answer.code:
        return ""
    blocks = [f"**{html.escape(ref.location)}** "
              f"({html.escape(ref.snippet.language)})\n{fence(ref.snippet.code, ref.snippet.language)}"
              for ref in answer.code[:limit]]
    return "\n\n".join(blocks)


def answer_markdown(answer) -> str:
    """The answer with its numbered sources as markdown: what the web `ask` API returns."""
    lines = [escape_markdown_text(marked_text(answer)), ""]
    rows = source_rows(answer)
    if rows:
        lines.append(f"{SOURCE_LABELS[rows[0].status]}:")
        lines += [f"[{r.n}] {html.escape(r.title)} — {html.escape(r.location)}" for r in rows]
    lines += [f"\n_{html.escape(n)}_" for n in notes_for(answer)]
    return "\n".join(lines).strip()


def error_text(error: Exception) -> str:
    """One sentence for any failure, the same in the chat and /ask."""
    from rag.errors import IqaError
    if isinstance(error, IqaError):
        return f"⚠️ {error}"
    return f"⚠️ Something went wrong: {type(error).__name__}: {error}"
