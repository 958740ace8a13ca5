from ingest.build import ingest
from rag import store as storelib
from rag.retrieve import Retriever, collapse_duplicates, rrf
from rag.schema import Chunk, Hit
from rag.text import loaded_terms, tokenize
from tests.conftest import FakeEmbedder


def test_rrf_sums_reciprocal_ranks_with_weights():
    assert rrf([[3, 1], [1, 7]], k=60) == {3: 1 / 61, 1: 1 / 62 + 1 / 61, 7: 1 / 62}
    weighted = rrf([[1], [2]], k=10, weights=[1.0, 0.5])
    assert weighted[1] == 1 / 11 and weighted[2] == 0.5 / 11


def _chunk(cid, text, source="a.md"):
    return Chunk(cid, source, 0, len(text), 1, 1, [source, "q"], "q", text)


def test_near_duplicates_collapse_and_keep_the_other_location():
    answer = "ROIPool存在两次量化误差，ROIAlign通过双线性插值避免了量化操作。"
    hits = [Hit(_chunk("1", answer, "seeds/004.txt"), 0.9), Hit(_chunk("2", "BN 推理用全局统计量。"), 0.8),
            Hit(_chunk("3", answer.replace("，", ",") + " ", "wethinkin/x.md"), 0.7)]
    kept = collapse_duplicates(hits)
    assert [h.chunk.id for h in kept] == ["1", "2"]
    assert kept[0].also_in == ["wethinkin/x.md:1-1"]


def test_tokenizer_keeps_technical_terms_whole_and_lowercases():
    tokens = tokenize("ROIAlign和ROIPool的区别？BatchNorm、LoRA、Focal Loss")
    assert {"roialign", "roipool", "batchnorm", "lora", "focal"} <= set(tokens)
    assert "的" not in tokens and "？" not in tokens
    # Chinese compounds from rag/data/terms.txt, which jieba's own dictionary would cut into pieces.
    chinese = tokenize("特征金字塔网络和非极大值抑制有什么用？旋转位置编码、批归一化、知识蒸馏")
    assert {"特征金字塔网络", "非极大值抑制", "旋转位置编码", "批归一化", "知识蒸馏"} <= set(chinese)


def test_builtin_chinese_terms_survive_ingest_in_the_same_process(tmp_path, notes):
    # Ingest teaches the corpus's own terms before BM25 tokenises anything; the built-ins must stay.
    ingest([notes], tmp_path / "index", FakeEmbedder(), log=lambda m: None)
    store = storelib.load(tmp_path / "index", log=lambda m: None)
    assert store.terms and set(store.terms) <= loaded_terms()
    for term in ("特征金字塔网络", "非极大值抑制", "双线性插值", "量化误差"):
        assert term in tokenize(f"什么是{term}？"), term
    hits = Retriever(store, None).search("双线性插值", k=1, retriever="bm25")
    assert hits and "双线性插值" in hits[0].chunk.text


def test_hybrid_bm25_and_dense_find_the_answer(fake_index):
    store = storelib.load(fake_index)
    emb = FakeEmbedder()
    retriever = Retriever(store, lambda q: emb.embed_queries([q])[0])
    for mode in ("hybrid", "dense", "bm25"):
        hits = retriever.search("ROIAlign 和 ROIPool 有什么区别", k=3, retriever=mode)
        assert hits and "双线性插值" in hits[0].chunk.text, mode
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert retriever.search("   ", k=3) == []


def test_english_question_over_chinese_notes_gives_bm25_little_weight(fake_index):
    retriever = Retriever(storelib.load(fake_index), None)
    assert retriever.chinese_corpus
    assert retriever.bm25_weight("What is NMS?") < retriever.bm25_weight("NMS 是什么")


def test_rerank_hook_reorders_the_fused_hits(fake_index):
    store = storelib.load(fake_index)
    emb = FakeEmbedder()
    reverse = Retriever(store, lambda q: emb.embed_queries([q])[0], rerank=lambda q, hits: hits[::-1])
    plain = Retriever(store, lambda q: emb.embed_queries([q])[0])
    question = "ROIAlign 和 ROIPool 有什么区别"
    assert [h.chunk.id for h in reverse.search(question, k=20)] == [h.chunk.id for h in plain.search(question, k=20)][::-1]


def test_missing_reranker_is_one_sentence():
    import pytest

    from rag.embed import make_reranker
    from rag.errors import IqaError
    with pytest.raises(IqaError, match="Reranker '/no/such/cross-encoder' could not be loaded"):
        make_reranker("/no/such/cross-encoder")
