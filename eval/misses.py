"""Why a first hit missed: how the passage that ranked first relates to the section that answers.

The answering section is the indexed chunk that holds an anchor, in the question's own file when
one there does. Heading paths are compared:

    relation(("a.md", ["a", "检测", "NMS"]), ("a.md", ["a", "检测", "RoI"])) -> "sibling"
"""
from __future__ import annotations

from collections import Counter

RELATIONS = ("same section", "parent", "child", "sibling", "same file", "other file")


def relation(first: tuple[str, list[str]], right: tuple[str, list[str]]) -> str:
    """first and right are (source, heading path); see RELATIONS."""
    (first_file, a), (right_file, b) = first, right
    if first_file != right_file:
        return "other file"
    if a == b:
        return "same section"       # another chunk of the answering section, without the anchor
    if b[:len(a)] == a:
        return "parent"             # first is an ancestor of the answering section (an overview)
    if a[:len(b)] == b:
        return "child"
    if a[:-1] == b[:-1]:
        return "sibling"
    return "same file"


def answering(question, chunks) -> tuple[str, list[str]] | None:
    """(source, heading path) of the section that answers question, None when no chunk holds an anchor."""
    held = [c for c in chunks if question.is_relevant(c.text)]
    own = [c for c in held if c.source == question.source]
    best = (own or held or [None])[0]
    return (best.source, list(best.heading)) if best else None


def explain(per_question: list[dict], questions, chunks) -> Counter:
    """Marks each first-place miss with "miss": {relation, first, right}; returns the count by relation."""
    by_id = {q.id: q for q in questions}
    counts: Counter = Counter()
    for row in per_question:
        if not row["hits"] or row["relevance"][0]:
            continue
        right = answering(by_id[row["id"]], chunks)
        first = row["hits"][0]
        kind = relation((first["source"], first.get("path", [])), right) if right else "no answering section"
        row["miss"] = {"relation": kind, "first": f"{first['source']} · {first['heading']}",
                       "right": f"{right[0]} · {' › '.join(right[1][1:]) or right[1][:1]}" if right else ""}
        counts[kind] += 1
    return counts


def summary_line(name: str, counts: Counter) -> str:
    """"hybrid: 8 first-place misses: sibling 3, parent 2, other file 3" """
    parts = ", ".join(f"{k} {counts[k]}" for k in (*RELATIONS, "no answering section") if counts[k])
    return f"{name}: {sum(counts.values())} first-place misses" + (f": {parts}" if parts else "")
