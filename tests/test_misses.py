"""Misses explained (eval/misses.py): how the first hit relates to the section that answers."""
import pytest

from eval.misses import explain, relation, summary_line
from eval.questions import Question
from rag.schema import Chunk

RIGHT = ("a.md", ["a", "检测", "NMS"])


@pytest.mark.parametrize("first, kind", [
    (("b.md", ["b", "检测", "NMS"]), "other file"),
    (("a.md", ["a", "检测", "NMS"]), "same section"),
    (("a.md", ["a", "检测"]), "parent"),
    (("a.md", ["a", "检测", "NMS", "复杂度"]), "child"),
    (("a.md", ["a", "检测", "RoI"]), "sibling"),
    (("a.md", ["a", "分割", "FCN"]), "same file"),
])
def test_each_relation(first, kind):
    assert relation(first, RIGHT) == kind


def _chunk(source, heading, text):
    return Chunk(text[:4], source, 0, len(text), 1, 2, heading, "", text, [])


def test_first_place_misses_are_marked_and_counted_and_hits_are_not():
    chunks = [_chunk("a.md", ["a", "检测", "NMS"], "NMS 按分数保留框。"), _chunk("a.md", ["a", "检测"], "检测概述。")]
    questions = [Question("q1", "NMS?", "a.md", ["按分数保留框"]), Question("q2", "概述?", "a.md", ["检测概述"])]
    rows = [{"id": "q1", "hits": [{"source": "a.md", "heading": "检测", "path": ["a", "检测"]}], "relevance": [False]},
            {"id": "q2", "hits": [{"source": "a.md", "heading": "检测", "path": ["a", "检测"]}], "relevance": [True]}]
    counts = explain(rows, questions, chunks)
    assert counts == {"parent": 1} and rows[0]["miss"]["relation"] == "parent" and "miss" not in rows[1]
    assert summary_line("hybrid", counts) == "hybrid: 1 first-place misses: parent 1"
