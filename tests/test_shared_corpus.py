"""Ingest checks on the real shared corpus (../shared/corpus): parsing only, no embedding."""
import re
from pathlib import Path

import pytest

from ingest.document import parse
from ingest.load import read, walk

FENCE = re.compile(r"^\s*(```|~~~)")
HTML_HEADING = re.compile(r"^\s*<h[1-6][^>]*>(.*?)</h[1-6]>\s*$")
MD_HEADING = re.compile(r"^#{1,6}\s+(.+)$")
TOC_OR_IMAGE = re.compile(r"^\s*([-*]\s*\[.*\]\(#.*\)|!\[[^\]]*\]\([^)]*\))\s*$")   # no text to index


@pytest.fixture(scope="module")
def parsed(request):
    from tests.conftest import SHARED
    corpus = SHARED / "corpus"
    assert corpus.is_dir(), f"shared corpus expected at {corpus}"
    files, _ = walk(corpus)
    out = {}
    for path in files:
        raw_file = read(path, corpus)
        if hasattr(raw_file, "data"):
            result = parse(raw_file)
            if hasattr(result, "chunks"):
                out[result.source] = result
    return out


def question_headings(raw: str) -> int:
    """Headings that open a non-empty section: HTML tags if the file has any, else '#' headings."""
    lines, fenced, heads = raw.splitlines(), False, []
    for i, line in enumerate(lines):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (m := HTML_HEADING.match(line) or MD_HEADING.match(line)):
            heads.append((i, bool(HTML_HEADING.match(line)), m.group(1).strip()))
    if any(tag for _, tag, _ in heads):
        heads = [h for h in heads if h[1]]
    heads = [h for h in heads if h[2].strip("# ") not in ("目录",)]
    count = 0
    for j, (i, _, _) in enumerate(heads):
        end = heads[j + 1][0] if j + 1 < len(heads) else len(lines)
        body = [ln for ln in lines[i + 1:end] if ln.strip() and not TOC_OR_IMAGE.match(ln)]
        count += bool(body)
    return count


def test_sections_match_question_headings_in_wethinkin(parsed):
    checked = 0
    for source, p in parsed.items():
        if not source.startswith("wethinkin/") or Path(source).stem.lower() == "readme":
            continue    # readme files are navigation pages, their sections are link lists and ads
        titled = sum(1 for sec in p.sections if sec.question)
        chunked = {(tuple(c.heading), c.question) for c in p.chunks if c.question}
        assert chunked == {(tuple(sec.path), sec.question) for sec in p.sections if sec.question}, source
        assert titled == question_headings(p.raw), source
        checked += 1
    assert checked >= 80


def test_no_chunk_spans_two_questions_and_no_toc_is_indexed(parsed):
    for source, p in parsed.items():
        tagged = "<h2" in p.raw or "<h1" in p.raw or "<h3" in p.raw
        for c in p.chunks:
            span = p.raw[c.start:c.end]
            if tagged:
                assert not re.search(r"^\s*<h[1-6]", span, re.M), (source, c.heading)
            assert "目录" not in [h.strip() for h in c.heading], (source, c.heading)
            assert not re.search(r"^\s*[-*]\s*\[.*\]\(#.*\)\s*$", c.text, re.M), (source, c.text[:80])


def test_fenced_code_blocks_are_never_split(parsed):
    for source, p in parsed.items():
        for c in p.chunks:
            fences = [ln for ln in c.text.splitlines() if FENCE.match(ln)]
            assert len(fences) % 2 == 0, (source, c.heading, c.text[:120])


def is_subsequence(small: str, big: str) -> bool:
    it = iter(big)
    return all(ch in it for ch in small)


def test_every_chunk_lies_between_its_offsets(parsed):
    total = 0
    for source, p in parsed.items():
        for c in p.chunks:
            assert 0 <= c.start < c.end <= len(p.raw)
            assert c.line_start == p.raw.count("\n", 0, c.start) + 1
            raw_span = re.sub(r"\s+", "", p.raw[c.start:c.end])
            assert is_subsequence(re.sub(r"\s+", "", c.text), raw_span), (source, c.heading)
            for s in c.code:
                assert c.start <= s.start < s.end <= c.end
            total += 1
    assert total > 3000


def test_seed_fpn_code_becomes_a_multiline_snippet(parsed):
    seed = parsed["seeds/000_2f86dc4aad6f1eec.txt"]
    snippets = [s for c in seed.chunks for s in c.code if "class FPN" in s.code]
    assert len(snippets) == 1
    lines = snippets[0].code.splitlines()
    assert len(lines) >= 8 and "class FPN(nn.Module):" in lines and any(ln.startswith("    def forward") for ln in lines)


def test_seed_roipool_question_is_one_chunk_headed_by_the_question(parsed):
    seed = parsed["seeds/004_bacdb4f53dab0ee4.txt"]
    chunks = [c for c in seed.chunks if c.question.startswith("问题8")]
    assert len(chunks) == 1
    assert "ROIPool和ROIAlign的区别" in chunks[0].question
    assert "ROIPool存在两次量化误差" in chunks[0].text and "双线性插值" in chunks[0].text


def test_builtin_terms_stay_whole_once_the_shared_corpus_index_is_loaded(shared_corpus, tmp_path):
    """The dead-dictionary bug: corpus terms loaded first used to keep the built-ins out of jieba."""
    from ingest.build import ingest
    from rag import store as storelib
    from rag.text import builtin_terms, reset_dictionary, tokenize
    from tests.conftest import FakeEmbedder
    ingest([shared_corpus], tmp_path / "index", FakeEmbedder(), log=lambda m: None)
    reset_dictionary()                          # as a fresh process would start
    store = storelib.load(tmp_path / "index", log=lambda m: None)
    assert len(store.terms) > 50                # the corpus's own terms are loaded too
    cut = [t for t in builtin_terms() if " " not in t and t not in tokenize(t)]
    assert cut == []
