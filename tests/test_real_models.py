"""The real default embedder and the real small GGUF model on tiny data."""
import re

import pytest

from rag import render
from rag.engine import Engine
from rag.quote import own_words
from rag.config import Settings
from rag.prompt import MARKER
from rag.text import has_cjk

pytestmark = pytest.mark.slow


def test_chinese_and_english_questions_find_the_chinese_answer(notes_index, real_embedder, small_llm, iqa_home):
    engine = Engine(Settings(home=iqa_home, index_dir=notes_index), embedder=real_embedder, llm=small_llm,
                    log=lambda m: None)
    for question in ("BN训练和推理有啥区别", "What does BatchNorm use at inference time?"):
        top = engine.search(question, 3)[0].chunk
        assert top.question.startswith("问题1:BatchNorm"), question
    for question in ("ROIAlign vs ROIPool?", "How does ROIAlign avoid quantization?"):
        assert "双线性插值" in engine.search(question, 3)[0].chunk.text, question


def test_small_llm_streams_an_answer_whose_citations_all_resolve(notes_index, real_embedder, small_llm, iqa_home):
    engine = Engine(Settings(home=iqa_home, index_dir=notes_index, max_tokens=160), embedder=real_embedder,
                    llm=small_llm, log=lambda m: None)
    events = list(engine.ask_stream("ROIAlign vs ROIPool?", k=3))
    tokens = [v for kind, v in events if kind == "token"]
    answer = events[-1][1]
    assert answer.mode == "llm" and tokens and answer.text
    assert "".join(tokens) == render.marked_text(answer)          # what streamed is the answer, once
    shown = len(answer.hits)
    numbers = [int(n) for m in MARKER.finditer(answer.text) for n in re.findall(r"\d+", m.group(0))]
    assert numbers and all(1 <= n <= shown for n in numbers)
    # each citation resolves to the passage shown under its number, and one of them is the answer's section
    assert all(answer.hits[c.n - 1].chunk == c.chunk for c in answer.citations)
    assert any("双线性插值" in c.chunk.text for c in answer.citations), answer.text
    assert answer.timings["first_token_ms"] > 0 and answer.timings["tokens_per_s"] > 0


def test_english_question_is_also_searched_in_chinese_by_the_answer_model(notes_index, real_embedder, small_llm,
                                                                          iqa_home):
    engine = Engine(Settings(home=iqa_home, index_dir=notes_index), embedder=real_embedder, llm=small_llm,
                    log=lambda m: None)
    query = engine.searched_as("How does non-maximum suppression remove duplicate boxes?")
    assert query.startswith("How does non-maximum suppression") and has_cjk(query)
    assert engine.searched_as("NMS 是怎么工作的") == "NMS 是怎么工作的"        # Chinese questions stay as they are
    assert engine.models._loaded == {("llama_cpp", "qwen2.5-coder-1.5b"): small_llm}   # no second model loaded
    assert engine.search("How does non-maximum suppression remove duplicate boxes?", 3)[0].chunk.question == "2.NMS是怎么工作的？"


def test_english_answer_sentences_are_attributed_to_chinese_notes(notes_index, real_embedder, iqa_home):
    from tests.conftest import FakeLLM
    llm = FakeLLM("ROIAlign removes the rounding of box coordinates and uses bilinear interpolation to sample "
                  "feature values. The weather is nice today.")
    engine = Engine(Settings(home=iqa_home, index_dir=notes_index, translate_model=""), embedder=real_embedder,
                    llm=llm, log=lambda m: None)
    answer = engine.ask("How does ROIAlign differ from ROIPool?", k=3)
    assert answer.markers.attributed == 1
    own = own_words(answer.text)
    assert "interpolation to sample feature values [" in own and own.endswith("nice today.")
    assert answer.citations[0].chunk.source == "detection.md"


def test_answer_evaluation_with_the_small_model(notes_index, real_embedder, small_llm, iqa_home):
    from eval.answer_run import score, summary
    from eval.questions import Question
    engine = Engine(Settings(home=iqa_home, index_dir=notes_index), embedder=real_embedder, llm=small_llm,
                    log=lambda m: None)
    rows = [score(engine, Question("r1", "ROIAlign 和 ROIPool 有什么区别？", "detection.md", ["双线性插值"])),
            score(engine, Question("r2", "BN 推理时用什么统计量", "scraped.txt", ["训练阶段累计的全局统计量"]))]
    s = summary(rows)
    assert s["n"] == 2 and s["relevant_citation"] == 1.0, rows
    assert s["decline_appended"] == s["bare_marker"] == s["cut_mid_sentence"] == s["declined_covered"] == 0, rows
    assert s["median_prompt_tokens"] > 0 and s["median_first_token_ms"] > 0
    assert all(r["sentences"] >= 1 for r in rows), rows
