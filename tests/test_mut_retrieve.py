"""rag.retrieve behaviours pinned down after `make mutation` showed them unchecked.

The Retriever runs here over a fake store (fixed dense and BM25 rankings), so fusion, ordering and
candidate counts can be checked exactly.
"""
import pytest

from rag.errors import InputError, ModelUnavailable
from rag.retrieve import (Retriever, collapse_duplicates, jaccard, openings_first, passage_text,
                          section_openings, shingles)
from rag.schema import Chunk, Hit


def _chunk(i, text=None, source=None, heading=None, start=0, question="q"):
    text = text if text is not None else f"第{i}段内容，编号 {i} 的回答写在这里。"
    source = source or f"f{i}.md"
    return Chunk(str(i), source, start, start + len(text), 1, 1,
                 heading if heading is not None else [source, f"q{i}"], question, text)


class FakeLexical:
    def __init__(self, ranking):
        self.ranking, self.calls = ranking, []

    def search(self, query, k):
        self.calls.append((query, k))
        return [(i, 1.0 / (n + 1)) for n, i in enumerate(self.ranking)][:k]


class FakeStore:
    def __init__(self, chunks, dense=(), bm25=(), terms=()):
        self.chunks, self.terms = chunks, list(terms)
        self.dense_ranking, self.dense_calls = list(dense), []
        self.lexical = FakeLexical(list(bm25))

    def dense_search(self, vector, k):
        self.dense_calls.append((vector, k))
        return [(i, 1.0 - n / 100) for n, i in enumerate(self.dense_ranking)][:k]


def _retriever(n=6, dense=(), bm25=(), rerank=None, chunks=None):
    store = FakeStore(chunks or [_chunk(i) for i in range(n)], dense, bm25)
    return Retriever(store, lambda q: f"vec:{q}", rerank=rerank), store


# ---- shingles, jaccard, duplicates ----------------------------------------------------------------

def test_shingles_are_five_character_windows_of_the_squashed_lowercased_text():
    assert shingles("ABC DEFG") == {"abcde", "bcdef", "cdefg"}
    assert shingles("abc") == {"abc"}
    assert shingles("abcde") == {"abcde"}


def test_jaccard_is_intersection_over_union():
    assert jaccard({"a", "b"}, {"b", "c"}) == pytest.approx(1 / 3)
    assert jaccard({"a"}, {"a"}) == 1.0
    assert jaccard(set(), set()) == 0.0


def test_texts_exactly_at_the_duplicate_threshold_collapse():
    a, b = _chunk(1, "abcdefgh"), _chunk(2, "abcdefghi")      # 4 shared shingles of 5: Jaccard 0.8
    assert jaccard(shingles(a.text), shingles(b.text)) == 0.8
    kept = collapse_duplicates([Hit(a, 1.0), Hit(b, 0.9)])
    assert [h.chunk.id for h in kept] == ["1"] and kept[0].also_in == [b.location]


# ---- the corpus language ---------------------------------------------------------------------------

def test_a_corpus_just_over_thirty_percent_chinese_is_chinese():
    over, _ = _retriever(chunks=[_chunk(i, "甲aa") for i in range(3)])
    exactly, _ = _retriever(chunks=[_chunk(i, "甲甲甲aaaaaaa") for i in range(3)])
    assert over.chinese_corpus and not exactly.chinese_corpus


def test_the_language_sample_takes_every_n_over_200th_chunk():
    chunks = [_chunk(i, "甲" if i % 2 == 0 else "abcdefghij") for i in range(400)]
    retriever, _ = _retriever(chunks=chunks)
    assert retriever.chinese_corpus                 # every 2nd chunk: the Chinese ones


# ---- errors and defaults ---------------------------------------------------------------------------

def test_dense_without_an_embedder_says_what_to_do():
    store = FakeStore([_chunk(0)])
    with pytest.raises(ModelUnavailable, match=r"^Dense retrieval needs an embedder; use --retriever bm25 or load one\.$"):
        Retriever(store, None).dense("问题")


def test_unknown_retriever_names_the_choices():
    retriever, _ = _retriever()
    with pytest.raises(InputError, match=r"^Unknown retriever 'fuzzy'; choose one of hybrid, dense, bm25\.$"):
        retriever.search("问题", retriever="fuzzy")


def test_candidate_lists_are_fifty_deep_and_search_returns_five_by_default():
    retriever, store = _retriever(n=12, dense=range(12), bm25=range(12))
    hits = retriever.search("问题")
    assert len(hits) == 5
    assert store.lexical.calls == [("问题", 50)] and store.dense_calls == [("vec:问题", 50)]


def test_k_zero_returns_no_hits():
    retriever, _ = _retriever(dense=[0, 1], bm25=[1, 0])
    assert retriever.search("问题", k=0) == []


# ---- fusion and ordering ---------------------------------------------------------------------------

def test_hybrid_scores_are_weighted_rrf_with_bm25_at_half_weight():
    retriever, _ = _retriever(dense=[0, 1, 2], bm25=[2, 1, 0])
    hits = retriever.search("问题", k=3)
    expected = {0: 1 / 11 + 0.5 / 13, 1: 1 / 12 + 0.5 / 12, 2: 1 / 13 + 0.5 / 11}
    assert [h.chunk.id for h in hits] == ["0", "1", "2"]
    assert [h.score for h in hits] == pytest.approx([expected[0], expected[1], expected[2]])
    assert [h.rank for h in hits] == [1, 2, 3]


def test_hybrid_differs_from_bm25_alone_and_dense_mode_follows_the_dense_ranking():
    retriever, _ = _retriever(dense=[3, 1, 4], bm25=[4, 0, 5])
    assert [h.chunk.id for h in retriever.search("问题", k=3, retriever="bm25")] == ["4", "0", "5"]
    assert [h.chunk.id for h in retriever.search("问题", k=3, retriever="dense")] == ["3", "1", "4"]
    assert [h.chunk.id for h in retriever.search("问题", k=3)] == ["4", "3", "1"]


def test_equal_fused_scores_keep_chunk_order():
    chunks = [_chunk(i) for i in range(5)]
    retriever, _ = _retriever(chunks=chunks, dense=[0], bm25=[3, 2, 1])
    # an English query over Chinese notes gives BM25 no weight: 1, 2 and 3 tie at 0.0
    hits = retriever.search("what is this", k=4)
    assert [h.chunk.id for h in hits] == ["0", "1", "2", "3"]
    assert hits[0].score == pytest.approx(1 / 11) and hits[1].score == 0.0


@pytest.mark.parametrize("k, pool", [(1, 20), (10, 30)])
def test_the_reranker_sees_max_3k_20_candidates_and_the_query(k, pool):
    seen = []

    def rerank(query, hits):
        seen.append((query, len(hits)))
        return hits
    retriever, _ = _retriever(n=50, dense=range(50), bm25=range(50), rerank=rerank)
    assert len(retriever.search("怎么重排", k=k)) == k
    assert seen == [("怎么重排", pool)]


# ---- section openings ------------------------------------------------------------------------------

def test_section_openings_point_at_the_earliest_chunk_of_a_headed_section():
    chunks = [_chunk(0, source="a.md", heading=["a", "Q"], start=50), _chunk(1, source="a.md", heading=["a", "Q"], start=0),
              _chunk(2, source="b.md", heading=["b", "Q"], start=0), _chunk(3, source="c.txt", heading=["c"], start=0),
              _chunk(4, source="c.txt", heading=["c"], start=9), _chunk(5, source="a.md", heading=["a", "Q"], start=90)]
    assert section_openings(chunks) == [1, 1, 2, 3, 4, 1]
    same_start = [_chunk(0, source="a.md", heading=["a", "Q"]), _chunk(1, source="a.md", heading=["a", "Q"])]
    assert section_openings(same_start) == [0, 0]            # a tie keeps the earlier row


def test_openings_first_lifts_openings_only_within_the_window():
    openings = list(range(20)) + [0] * 5
    ranked = [(i, 1.0 - i / 100) for i in range(1, 10)] + [(20, 0.5), (21, 0.4)]
    out = openings_first(ranked, openings)
    assert out[:3] == [(1, 0.99), (2, 0.98), (3, 0.97)]
    assert (0, 0.5) in out and out.index((0, 0.5)) == out.index((20, 0.5)) - 1
    late = [(i, 1.0) for i in range(1, 11)] + [(21, 0.4)]
    assert (0, 0.4) not in openings_first(late, openings)
    assert openings_first([(5, .9), (3, .8)], [0, 1, 2, 3, 4, 4]) == [(4, .9), (5, .9), (3, .8)]


def test_search_puts_a_sections_opening_chunk_before_its_later_chunk():
    chunks = [_chunk(0, source="a.md", heading=["a", "Q"], start=0), _chunk(1, source="a.md", heading=["a", "Q"], start=40),
              _chunk(2, source="b.md", heading=["b", "R"], start=0)]
    retriever, _ = _retriever(chunks=chunks, dense=[1, 2], bm25=[1, 2])
    assert [h.chunk.id for h in retriever.search("问题", k=3)] == ["0", "1", "2"]


# ---- what the dense vector sees --------------------------------------------------------------------

def test_passage_text_heads_with_the_question_or_else_the_last_heading():
    assert passage_text(_chunk(0, "答案正文", heading=["f", "节"], question="问？"), 2) == "问？\n答案"
    assert passage_text(_chunk(0, "答案正文", heading=["f", "节"], question="")) == "节\n答案正文"
    assert passage_text(_chunk(0, "答案正文", heading=[], question="")) == "答案正文"
    assert passage_text(_chunk(0, "甲" * 200, heading=[], question="")) == "甲" * 160
