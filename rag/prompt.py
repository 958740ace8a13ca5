"""Numbered-source prompts and citation checking (pure functions).

    parse_markers("ROIAlign 用双线性插值[2]，【1】、[1, 3]") -> [2, 1, 1, 3]
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from rag.schema import Chunk, Hit, Passage
from rag.text import CJK, is_english, split_sentences, tokenize

FENCED = re.compile(r"```.*?(?:```|$)", re.S)
MARKER = re.compile(r"\[(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)\]|【(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)】")
# A line that only introduces what follows: "原理说明：", "**代码:**", "- 优点：" (markers aside).
LABEL_LINE = re.compile(r"^[ \t>*#•\-]*[^\n:：。.!?！？]{1,30}[:：][ \t*]*(?:\[\d{1,2}\][ \t]*)*$")
CODE_LABEL = re.compile(r"^[ \t>*#•\-]*(?:python\s*|pytorch\s*)?(?:核心)?"
                        r"(?:代码|示例代码|代码示例|代码实现|实现代码|code|code example)[ \t]*[:：]", re.I)
PASSAGE_MIN_TOKENS = 30     # a passage squeezed below this says too little to be worth its number
FIRST_SHARE = 0.7           # of the passage budget, for the best section
OPENING_SENTENCES = 2


@lru_cache(maxsize=None)
def template(name: str) -> str:
    return resources.files("rag").joinpath(f"prompts/{name}.txt").read_text(encoding="utf-8")


def approx_tokens(text: str) -> int:
    """Qwen's tokenizer without loading it: about one token per CJK character, ~4 characters otherwise."""
    cjk = len(CJK.findall(text))
    return cjk + (len(text) - cjk) // 4 + 1


def trim_to_tokens(text: str, budget: int, count=approx_tokens) -> str:
    """The longest prefix of text within budget tokens (by count), with an ellipsis when cut."""
    if count(text) <= budget:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if count(text[:mid]) <= budget else (lo, mid - 1)
    return text[:lo].rstrip() + "…"


def without_code(chunk) -> str:
    """The passage with its code blocks left out: the code is listed beside the answer, a small coder
    model would copy it (and any placeholder put in its place), and it costs prefill time."""
    text = FENCED.sub("", chunk.text)
    for snippet in chunk.code:
        text = text.replace(snippet.code, "")
    return drop_dangling_labels(text)


def drop_dangling_labels(text: str) -> str:
    """Label lines introducing nothing (another label or the end follows, or a "代码：" with no code
    under it) are left out: once code is listed apart, notes keep "代码：" lines with nothing under
    them, and a small model copies them into its answer.

        drop_dangling_labels("原理：\nA 是 B。\n代码：\n\n应用：") -> "原理：\nA 是 B。"
    """
    lines = text.split("\n")
    kept: list[str] = []
    in_code = False
    for i, line in enumerate(lines):
        fence = line.lstrip().startswith(("```", "~~~"))
        in_code ^= fence
        following = next((x for x in lines[i + 1:] if x.strip()), None)
        if not (in_code or fence) and _dangling(line, following):
            continue
        kept.append(line)
    # A passage that is only a label (its code listed apart) keeps it: the passage still leads to that code.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept) if any(x.strip() for x in kept) else text).strip()


def _dangling(line: str, following: str | None) -> bool:
    if not LABEL_LINE.match(line):
        return False
    if following is None or LABEL_LINE.match(following):
        return True
    return bool(CODE_LABEL.match(line)) and not following.lstrip().startswith(("```", "~~~"))


def merge_sections(hits: list[Hit]) -> list[Hit]:
    """Hits from one section become one hit spanning them (in document order), at the best rank."""
    groups: dict[tuple, list[Hit]] = {}
    for hit in hits:
        groups.setdefault((hit.chunk.source, tuple(hit.chunk.heading)), []).append(hit)
    return [group[0] if len(group) == 1 else _merged(group) for group in groups.values()]


def _merged(group: list[Hit]) -> Hit:
    parts = sorted((h.chunk for h in group), key=lambda c: c.start)
    first = parts[0]
    chunk = Chunk(first.id, first.source, first.start, max(c.end for c in parts), first.line_start,
                  max(c.line_end for c in parts), first.heading, first.question,
                  "\n".join(c.text for c in parts), [s for c in parts for s in c.code], place=first.place, meta=first.meta)
    return Hit(chunk, group[0].score, group[0].rank, [loc for h in group for loc in h.also_in])


def compact(text: str, terms: set[str], budget: int, count=approx_tokens) -> str:
    """The sentences of text that best answer a question with these terms, in their order, within budget.

    A section's opening sentences carry the direct answer in question-structured notes, so they
    count as relevant too.
    """
    spans = _items_whole(text, split_sentences(text))
    scored = sorted(range(len(spans)), key=lambda i: (-(len(terms & set(tokenize(text[slice(*spans[i])])))
                                                      + (i < OPENING_SENTENCES)), i))
    chosen, used = [], 0
    for i in scored:
        cost = count(text[slice(*spans[i])])
        if used + cost <= budget:
            chosen.append(i)
            used += cost
    if not chosen:
        return trim_to_tokens(text, budget, count)
    return "".join(text[slice(*spans[i])] for i in sorted(chosen)).strip()


LIST_MARK = re.compile(r"\s*(?:\d{1,3}[.、)）]|[-*•+])\s*")


def _items_whole(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A list item's number ("1." splits off as a sentence) stays with the item's text: chosen alone,
    it reached the model as "1.2.3." and the model copied it."""
    out = []
    for a, b in spans:
        if out and LIST_MARK.fullmatch(text[out[-1][0]:out[-1][1]]):
            a = out.pop()[0]
        out.append((a, b))
    return out


def select_passages(hits: list[Hit], budget_tokens: int, count=approx_tokens, question: str = "") -> list[Passage]:
    """Number the passages 1..n within the budget: the best section gets most of it, the others only
    their sentences that share words with the question (a passage sharing none is left out)."""
    terms = set(tokenize(question))
    out, left = [], budget_tokens
    for hit in merge_sections(hits):
        body = without_code(hit.chunk)
        if out and not terms & set(tokenize(body)):
            continue
        share = int(left * FIRST_SHARE) if not out else left // 2
        if not body or (out and share < PASSAGE_MIN_TOKENS):
            continue
        body = compact(body, terms, share, count)
        out.append(Passage(len(out) + 1, hit, body))
        left -= count(body)
    return out


def passage_header(chunk) -> str:
    """What a passage is about: its heading path without the file's own name when it has headings."""
    return " › ".join(chunk.heading[1:]) or chunk.title


def build_messages(question: str, passages: list[Passage]) -> list[dict]:
    """Chinese instructions for Chinese questions; English ones (and an English answer) for English."""
    sources = "\n\n".join(f"[{p.n}] {passage_header(p.hit.chunk)}\n{p.body}" for p in passages)
    suffix = "_en" if is_english(question) else ""
    user = template(f"user{suffix}").format(sources=sources, question=question.strip())
    return [{"role": "system", "content": template(f"system{suffix}").strip()}, {"role": "user", "content": user}]


# Code is data: markers are looked for in prose only, never inside fenced or inline code.
FENCE_BLOCK = r"(`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]*\1[`~]*[ \t]*$|\Z)"
CODE_SPAN = re.compile(FENCE_BLOCK + r"|`[^`\n]+`", re.S | re.M)
FENCE_SPAN = re.compile(FENCE_BLOCK, re.S | re.M)


def split_code(text: str, inline: bool = True) -> list[tuple[str, bool]]:
    """[(part, is_code)] covering text: fenced blocks and inline code spans are code.

        split_code("a [1] `x[2]` b") -> [("a [1] ", False), ("`x[2]`", True), (" b", False)]
    """
    parts, pos = [], 0
    for m in (CODE_SPAN if inline else FENCE_SPAN).finditer(text):
        if m.start() > pos:
            parts.append((text[pos:m.start()], False))
        parts.append((m.group(0), True))
        pos = m.end()
    if pos < len(text):
        parts.append((text[pos:], False))
    return parts


def prose(text: str) -> str:
    """text with its code replaced by spaces (so offsets and sentences outside code stay)."""
    return "".join(part if not is_code else " " * len(part) for part, is_code in split_code(text))


def parse_markers(text: str) -> list[int]:
    numbers = []
    for m in MARKER.finditer(prose(text)):
        numbers += [int(x) for x in re.split(r"\s*[,，、]\s*", m.group(1) or m.group(2))]
    return numbers


def check_citations(text: str, n_sources: int) -> tuple[str, list[int], int]:
    """Rewrite markers as [n], drop those pointing at no source.

    Returns (clean text, valid source numbers in first-use order, count of invalid markers).
    """
    valid: list[int] = []
    invalid = 0

    def fix(m: re.Match) -> str:
        nonlocal invalid
        keep = []
        for x in re.split(r"\s*[,，、]\s*", m.group(1) or m.group(2)):
            n = int(x)
            if 1 <= n <= n_sources:
                keep.append(n)
                if n not in valid:
                    valid.append(n)
            else:
                invalid += 1
        return "".join(f"[{n}]" for n in keep)

    cleaned = "".join(part if is_code else re.sub(r"[ \t]+([，。,.])", r"\1", MARKER.sub(fix, part))
                      for part, is_code in split_code(text))
    return cleaned, valid, invalid


def sub_markers(text: str, repl) -> str:
    """MARKER.sub(repl, text) in the prose only: `dp[0]` in inline code stays as written."""
    return "".join(part if is_code else MARKER.sub(repl, part) for part, is_code in split_code(text))


def unmarked(sentence: str) -> str:
    """The sentence without its markers: "A [1]." -> "A." """
    return re.sub(r"\s+([.,;:!?。，；：！？])", r"\1", MARKER.sub("", sentence)).strip()


def claims_nothing(sentence: str) -> bool:
    """A label, heading or question ("原理说明：", "### 鞍点的定义", "1. **梯度消失**", "为什么会这样？")
    introduces what follows: it is neither cited nor judged for support."""
    text = unmarked(sentence)
    item = re.sub(r"^[ \t>•\-]*(?:\d{1,3}[.、)）])?[ \t]*", "", text)
    bare = text.rstrip("*")
    return bare.endswith((":", "：", "?", "？")) or bare.startswith("#") or bool(re.fullmatch(r"\*\*[^*\n]+\*\*[。.]?", item))


def cite(sentence: str, n: int) -> str:
    """'ROIAlign 用双线性插值。\n' -> 'ROIAlign 用双线性插值 [1]。\n' (marker before the closing punctuation)."""
    body = sentence.rstrip()
    core = body.rstrip("。.!！?？;；")
    return f"{core} [{n}]{body[len(core):]}{sentence[len(body):]}"


def attribute(text: str, choose) -> tuple[str, int]:
    """Cite uncited prose sentences with the passage choose(sentence) returns (small models often forget).

    choose gives a passage number or None. Returns the text with added markers and how many were
    added; code blocks and sentences that already carry a marker are left alone.
    """
    out, added = [], 0
    for part, is_code in split_code(text, inline=False):
        if not is_code:
            part, n = _attribute_prose(part, choose)
            added += n
        out.append(part)
    return "".join(out), added


def _attribute_prose(text: str, choose) -> tuple[str, int]:
    out, pos, added = [], 0, 0
    for a, b in split_sentences(text):
        sentence = text[a:b]
        out.append(text[pos:a])
        pos = b
        skip = parse_markers(sentence) or len(sentence.strip()) < 6 or claims_nothing(sentence)   # `dp[0]` is no marker
        n = None if skip else choose(sentence)
        out.append(cite(sentence, n) if n else sentence)
        added += bool(n)
    out.append(text[pos:])
    return "".join(out), added


def lexical_chooser(passages: list[Passage], min_overlap: float = 0.5):
    """The passage that holds at least min_overlap of a sentence's terms, and two terms at least.

    A passage is its whole text, as its citation shows it (the model may have seen only part of it);
    a two-term sentence ("`is` 比较的是对象。") needs both.
    """
    vocab = [(p.n, set(tokenize(p.hit.chunk.text))) for p in passages]

    def choose(sentence: str) -> int | None:
        terms = set(tokenize(sentence))
        if len(terms) < 2 or not vocab:
            return None
        n, shared = max(((n, len(terms & v)) for n, v in vocab), key=lambda x: x[1])
        return n if shared >= 2 and shared / len(terms) >= min_overlap else None
    return choose
