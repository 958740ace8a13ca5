"""rag.text behaviours pinned down after `make mutation` showed them unchecked."""
import hashlib

from rag import text as textlib
from rag.text import corpus_terms, cjk_share, cut_at_word, normalise, split_sentences, tokenize, words


def test_cjk_share_of_a_single_ideograph_is_one():
    assert cjk_share("层") == 1.0
    assert cjk_share("") == 0.0


def test_normalise_collapses_inner_whitespace_runs():
    assert normalise("ＲＯＩ  \t Align\n池化 ") == "roi align 池化"


def test_split_sentences_spans_start_at_zero_and_keep_an_unterminated_tail():
    assert split_sentences("甲。乙") == [(0, 2), (2, 3)]
    assert split_sentences("Pi is 3.14 here. Next one") == [(0, 16), (16, 25)]


def test_corpus_terms_need_min_count_occurrences():
    assert corpus_terms(["Faster R-CNN 很快"]) == []
    assert corpus_terms(["Faster R-CNN 很快", "Mask R-CNN 加了分割"]) == ["r-cnn"]
    assert corpus_terms(["GPT-4 只出现一次"], min_count=1) == ["gpt-4"]


def test_corpus_terms_skip_terms_longer_than_24_characters():
    term24 = "abcdefghijk-lmnopqrstuvw"          # exactly 24 characters
    term25 = "abcdefghijk-lmnopqrstuvwx"         # 25
    assert len(term24) == 24 and len(term25) == 25
    assert corpus_terms([f"{term24} {term25}"] * 2) == [term24]


def test_blank_terms_are_not_taught():
    before_terms, before_hash = textlib.loaded_terms(), textlib.dictionary_hash()
    textlib.load_terms(["", "   ", "\t"])
    assert textlib.loaded_terms() == before_terms
    assert textlib.dictionary_hash() == before_hash


def test_a_taught_term_beats_jiebas_own_overlapping_words():
    assert [w for w, _, _ in words("深度学习率先")] != ["深度", "学习率", "先"]
    textlib.load_terms(["学习率", "大模型"])
    assert [w for w, _, _ in words("深度学习率先")] == ["深度", "学习率", "先"]
    assert "大模型" in tokenize("超大模型训练")


def test_restoring_a_snapshot_twice_forgets_terms_taught_in_between():
    snap = textlib.snapshot_dictionary()
    textlib.restore_dictionary(snap)
    textlib.load_terms(["mobile-vit"])
    assert "mobile-vit" in tokenize("mobile-vit 的结构")
    textlib.restore_dictionary(snap)
    assert "mobile-vit" not in tokenize("mobile-vit 的结构")
    assert "mobile-vit" not in textlib.loaded_terms()


def test_only_the_first_add_after_a_snapshot_copies_the_frequency_table():
    d = textlib._dictionary()
    snap = textlib.snapshot_dictionary()
    textlib.load_terms(["swin-t"])
    copied = d.tokenizer.FREQ
    assert copied is not snap.freq and "swin-t" not in snap.freq
    textlib.load_terms(["vit-b"])
    assert d.tokenizer.FREQ is copied and "vit-b" in copied


def test_a_fresh_dictionary_adds_in_place_and_starts_empty():
    d = textlib._Dictionary()
    assert d.loaded == set()
    freq = d.tokenizer.FREQ
    d.add(["yolo-v8"])
    assert d.tokenizer.FREQ is freq and d.loaded == {"yolo-v8"}
    assert [w for w, _, _ in d.tokenizer.tokenize("yolo-v8模型")][0] == "yolo-v8"


def test_the_dictionary_is_created_once_with_the_builtin_terms(monkeypatch):
    monkeypatch.setattr(textlib, "_state", {})
    first = textlib._dictionary()
    assert textlib._dictionary() is first
    assert set(textlib.builtin_terms()) <= textlib.loaded_terms()
    textlib.load_terms(["deit-s"])
    assert "deit-s" in textlib.loaded_terms()
    textlib.reset_dictionary()
    assert textlib.loaded_terms() == frozenset(textlib.builtin_terms())


def test_dictionary_hash_is_sha256_of_version_freq_and_sorted_terms():
    payload = "\n".join([f"jieba {textlib.JIEBA_VERSION}", f"freq {textlib.TERM_FREQ}", *sorted(textlib.loaded_terms())])
    assert textlib.dictionary_hash() == hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def test_cut_at_word_falls_back_to_the_limit_inside_a_single_long_word():
    assert cut_at_word("特征金字塔网络", 3) == 3


def test_cut_at_word_may_cut_exactly_at_the_limit_when_a_word_ends_there():
    assert [(s, e) for _, s, e in words("特征金字塔网络的作用")] == [(0, 7), (7, 8), (8, 10)]
    assert cut_at_word("特征金字塔网络的作用", 10) == 10
    assert cut_at_word("特征金字塔网络的作用", 9) == 8
