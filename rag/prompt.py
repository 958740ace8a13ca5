"""Numbered-source prompts and citation checking (pure functions).

    parse_markers("ROIAlign 用双线性插值[2]，【1】、[1, 3]") -> [2, 1, 1, 3]
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from rag.schema import Hit

MARKER = re.compile(r"\[(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)\]|【(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)】")
PASSAGE_MIN_CHARS = 120


@lru_cache(maxsize=None)
def template(name: str) -> str:
    return resources.files("rag").joinpath(f"prompts/{name}.txt").read_text(encoding="utf-8")


def approx_tokens(text: str) -> int:
    """Qwen's tokenizer: about one token per CJK character, ~4 characters per token otherwise."""
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return cjk + (len(text) - cjk) // 4 + 1


def trim_to_tokens(text: str, budget: int) -> str:
    if approx_tokens(text) <= budget:
        return text
    lo, hi = 0, len(text)
    while lo < hi:                      # longest prefix within budget
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if approx_tokens(text[:mid]) <= budget else (lo, mid - 1)
    return text[:lo].rstrip() + "…"


CODE_OMITTED = "（代码略，iqa 会在答案下方列出）"


def without_code(chunk) -> str:
    """The passage with its code blocks replaced by a note: the code is shown beside the answer, and
    a small coder model would otherwise copy it (and it costs prefill time)."""
    text = FENCED.sub(CODE_OMITTED, chunk.text)
    for snippet in chunk.code:
        text = text.replace(snippet.code, CODE_OMITTED)
    return text


def select_passages(hits: list[Hit], budget_tokens: int) -> list[tuple[int, Hit, str]]:
    """Number the hits 1..n and trim them to share the budget; the best hit gets the most room."""
    out, left = [], budget_tokens
    for n, hit in enumerate(hits, start=1):
        share = max(left // 2 if n < len(hits) else left, 0)
        if share < approx_tokens("x" * PASSAGE_MIN_CHARS) and out:
            break
        body = trim_to_tokens(without_code(hit.chunk), share)
        out.append((n, hit, body))
        left -= approx_tokens(body)
    return out


def build_messages(question: str, passages: list[tuple[int, Hit, str]]) -> list[dict]:
    sources = "\n\n".join(f"[{n}] {hit.chunk.title}\n{body}" for n, hit, body in passages)
    english = not re.search(r"[\u4e00-\u9fff]", question)
    rule = "Answer in English (translate from the notes); " if english else "用中文，"
    user = template("user").format(sources=sources, question=question.strip(), language_rule=rule)
    system = template("system").strip() + ("\nThe question is in English: write the answer in English." if english else "")
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_markers(text: str) -> list[int]:
    numbers = []
    for m in MARKER.finditer(text):
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

    cleaned = MARKER.sub(fix, text)
    return re.sub(r"[ \t]+([，。,.])", r"\1", cleaned), valid, invalid


FENCED = re.compile(r"```.*?(?:```|$)", re.S)


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
    out, pos, added = [], 0, 0
    for m in FENCED.finditer(text):
        prose, n = _attribute_prose(text[pos:m.start()], choose)
        out += [prose, m.group(0)]
        added, pos = added + n, m.end()
    prose, n = _attribute_prose(text[pos:], choose)
    return "".join(out) + prose, added + n


def _attribute_prose(text: str, choose) -> tuple[str, int]:
    from rag.text import split_sentences
    out, pos, added = [], 0, 0
    for a, b in split_sentences(text):
        sentence = text[a:b]
        out.append(text[pos:a])
        pos = b
        n = None if MARKER.search(sentence) or len(sentence.strip()) < 6 else choose(sentence)
        out.append(cite(sentence, n) if n else sentence)
        added += bool(n)
    out.append(text[pos:])
    return "".join(out), added


def lexical_chooser(passages: list[tuple[int, Hit, str]], min_overlap: float = 0.5):
    """The passage that holds at least min_overlap of a sentence's terms (three terms or more)."""
    from rag.text import tokenize
    vocab = [(n, set(tokenize(body))) for n, _, body in passages]

    def choose(sentence: str) -> int | None:
        terms = set(tokenize(sentence))
        if len(terms) < 3 or not vocab:
            return None
        n, overlap = max(((n, len(terms & v) / len(terms)) for n, v in vocab), key=lambda x: x[1])
        return n if overlap >= min_overlap else None
    return choose
