"""Retrieval quality on the project's own held-out questions over corpus/, with the real embedder.

A regression guard, not a tuning target: the floors sit below the measured figures in bench/RESULTS.md.
"""
import json
from pathlib import Path

import pytest

from eval.questions import load_questions, unanchored
from eval.run import engine_search, evaluate
from ingest.build import ingest
from rag.engine import Engine
from rag.config import Settings
from rag.text import is_english

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def starter_engine(tmp_path_factory, real_embedder, small_llm, model_cache):
    """English questions are translated by the answer model: here the small one."""
    base = tmp_path_factory.mktemp("starter")
    (base / "models").symlink_to(model_cache)
    ingest([ROOT / "corpus"], base / "index", real_embedder, log=lambda m: None)
    return Engine(Settings(home=base, index_dir=base / "index"), embedder=real_embedder, llm=small_llm,
                  log=lambda m: None)


def test_held_out_questions_are_well_formed_and_anchored(starter_engine):
    questions = load_questions(ROOT / "eval" / "questions.jsonl")
    assert len(questions) >= 60
    assert not unanchored(questions, [c.text for c in starter_engine.store.chunks])
    headings = {c.question for c in starter_engine.store.chunks}
    assert not [q.question for q in questions if q.question in headings]      # phrased, not copied
    assert sum(is_english(q.question) for q in questions) >= 8                  # English over Chinese notes


@pytest.mark.parametrize("retriever, floor", [("hybrid", 0.9), ("dense", 0.85), ("bm25", 0.75)])
def test_recall_at_5_on_the_starter_corpus(starter_engine, retriever, floor):
    questions = load_questions(ROOT / "eval" / "questions.jsonl")
    texts = [c.text for c in starter_engine.store.chunks]
    result = evaluate(engine_search(starter_engine, retriever), questions, texts, retriever, [5])
    assert result["metrics"]["recall@5"] >= floor, json.dumps(result["metrics"])
