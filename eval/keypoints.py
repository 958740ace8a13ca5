"""Key points: does a text state what a right answer must, and nothing typically wrong?

A key point is hit when, for every inner list of its `all`, one alternative occurs in the text after
NFKC normalisation, case folding and removing all whitespace (../shared/eval/README.md):

    hits("ROIAlign 用双线性插值", [["双线性", "bilinear"]]) -> True

The same check applies to any text (the retrieved passages, the prompt the model saw, the answer),
so comparing the three shows where a point is lost.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from rag.text import squash

RIGHT_SHARE = 2 / 3         # a right answer hits at least this share of its points


def fold(text: str) -> str:
    """The hit rule's comparison form: NFKC, whitespace removed (textlib.squash), case folded."""
    return squash(text).casefold()


def hits(text: str, groups: list[list[str]]) -> bool:
    """Every group has an alternative in text (both folded)."""
    folded = fold(text)
    return bool(groups) and all(any(fold(alt) in folded for alt in group if fold(alt)) for group in groups)


@dataclass
class KeyPoints:
    points: list[dict] = field(default_factory=list)        # {"point": str, "all": [[str, ...], ...]}
    wrong: list[dict] = field(default_factory=list)         # {"wrong": str, "all": [[...]]}

    def __bool__(self) -> bool:
        return bool(self.points)

    def held(self, text: str) -> list[bool]:
        return [hits(text, p["all"]) for p in self.points]

    def recall(self, text: str) -> float:
        verdicts = self.held(text)
        return sum(verdicts) / len(verdicts) if verdicts else 0.0

    def wrong_hits(self, text: str) -> list[str]:
        return [w.get("wrong", "") for w in self.wrong if hits(text, w["all"])]


def parse(obj: dict) -> KeyPoints:
    """Key points from a JSON object with "points" (and optional "wrong"); ValueError names what is off."""
    points, wrong = obj.get("points", []), obj.get("wrong", []) or []
    for item, key in [(p, "point") for p in points] + [(w, "wrong") for w in wrong]:
        groups = item.get("all") if isinstance(item, dict) else None
        if not isinstance(groups, list) or not groups or not all(
                isinstance(g, list) and g and all(isinstance(a, str) for a in g) for g in groups):
            raise ValueError(f"each {key!r} needs \"all\": a non-empty list of non-empty lists of strings")
    return KeyPoints(list(points), list(wrong))


def verdict(points: KeyPoints, answer: str, relevant_citation: bool, visible_defect: bool) -> dict:
    """The answer's recall, wrong-claim hits and whether it is right (README: two thirds of the points,
    no wrong pattern, a relevant citation, no visible defect)."""
    recall = points.recall(answer)
    wrong = points.wrong_hits(answer)
    return {"keypoint_recall": round(recall, 3), "wrong_claims": wrong,
            "right": recall >= RIGHT_SHARE - 1e-9 and not wrong and relevant_citation and not visible_defect}
