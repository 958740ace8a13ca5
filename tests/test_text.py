"""rag.text: one definition of each text rule, and a term dictionary that keeps the built-ins."""
import time

import pytest

from rag import text as textlib
from rag.text import (builtin_terms, cjk_share, dictionary_hash, has_cjk, is_english, language, load_terms,
                      loaded_terms, restore_dictionary, snapshot_dictionary, tokenize)

WHOLE = [t for t in builtin_terms() if " " not in t]     # jieba cannot keep a spaced term whole
ISOLATION_WORD = "隔离测试专用词"


def test_builtin_terms_stay_whole_after_corpus_terms_are_loaded_first():
    # Ingest and the lexical index teach the corpus's own terms before anything is tokenised;
    # the built-in terms must still reach the tokenizer.
    load_terms(["qwen2.5", "r-cnn", "self.lateral"])
    assert set(WHOLE) <= loaded_terms()
    split = [t for t in WHOLE if t not in tokenize(t)]
    assert split == []
    in_sentence = [t for t in WHOLE if t not in tokenize(f"请解释{t}的原理")]
    assert in_sentence == []


@pytest.mark.parametrize("text, lang", [
    ("特征金字塔网络有什么用", "zh"),
    ("LoRA怎么初始化", "zh"),
    ("What is LoRA?", "en"),
    ("ROIAlign vs ROIPool?", "en"),      # terms only: no ideograph, so English
    ("㐀 is in Extension A", "zh"),
    ("", "en"),
])
def test_language_is_zh_exactly_when_an_ideograph_appears(text, lang):
    assert language(text) == lang
    assert is_english(text) == (lang == "en")
    assert has_cjk(text) == (lang == "zh")


def test_cjk_share_counts_ideographs_among_letters():
    assert cjk_share("What is LoRA?") == 0
    assert cjk_share("特征") == 1
    assert cjk_share("BN层") == pytest.approx(1 / 3)
    assert cjk_share("，。123") == 0


def test_dictionary_hash_names_the_term_set():
    before = dictionary_hash()
    assert len(before) == 16 and before == dictionary_hash()
    snapshot = snapshot_dictionary()
    load_terms(["yolov9-tiny"])
    assert dictionary_hash() != before
    load_terms(["yolov9-tiny", " YOLOv9-Tiny "])         # each term once, normalised
    restore_dictionary(snapshot)
    assert dictionary_hash() == before


def test_snapshot_and_restore_forget_taught_words_quickly():
    snapshot = snapshot_dictionary()
    t0 = time.perf_counter()
    load_terms(["天外飞仙网络"])
    assert "天外飞仙网络" in tokenize("天外飞仙网络的结构")
    restore_dictionary(snapshot)
    seconds = time.perf_counter() - t0
    assert "天外飞仙网络" not in tokenize("天外飞仙网络的结构")
    assert "天外飞仙网络" not in loaded_terms()
    assert seconds < 0.2          # one dictionary copy (under 10 ms here), never a 0.5 s reload


def test_reset_dictionary_keeps_only_the_builtins():
    load_terms(["qwen2.5"])
    textlib.reset_dictionary()
    assert loaded_terms() == frozenset(builtin_terms())


# The autouse fixture in conftest.py restores the dictionary after each test: the word taught by
# the first test below must be gone in the second (pytest runs a file's tests in order).
def test_isolation_a_teaches_a_word():
    load_terms([ISOLATION_WORD])
    assert ISOLATION_WORD in loaded_terms()


def test_isolation_b_does_not_see_it():
    assert ISOLATION_WORD not in loaded_terms()
    assert ISOLATION_WORD not in tokenize(f"{ISOLATION_WORD}是什么")
