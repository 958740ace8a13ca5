"""PDF, Word and Jupyter notes: sections, whole code, and locations that open at the quoted text."""
from __future__ import annotations

import json
import re
import time
import warnings

import pytest
from format_docs import (ALGORITHMS, DEEP_LEARNING, LANGUAGE_MODELS, PAGE, PICTURE, bomb_pdf, pdfplumber_pages, write_docx,
                         write_notebook, write_pdf)

from ingest import formats
from ingest.build import ingest
from ingest.document import parse
from ingest.formats import isolated
from ingest.formats import pdf as pdf_format
from ingest.formats.lines import Lines
from ingest.load import RawFile, Skip
from ui.cli import main


def _parse(path):
    return parse(RawFile(path, path.name, path.read_bytes()))


def _flat(text: str) -> str:
    """Text as a reader sees it on the page: markdown marks and blanks out."""
    text = re.sub(r"^(#+ |```\w*$)", "", text, flags=re.M)
    return re.sub(r"\s+|\u200b", "", text)


def _place(location: str) -> tuple[str, int, int, int]:
    m = re.search(r", (page|cell|paragraph|table) (\d+)(?:, (?:line|row)s? (\d+)(?:-(\d+))?)?$", location)
    assert m, location
    first = int(m.group(3) or 0)
    return m.group(1), int(m.group(2)), first, int(m.group(4) or first)


# --- PDF ------------------------------------------------------------------------------------------

def test_pdf_headings_questions_and_whole_code(tmp_path):
    parsed = _parse(write_pdf(DEEP_LEARNING, tmp_path / "dl.pdf"))
    assert [s.path[1:] for s in parsed.sections] == [
        ["深度学习面试题", "一、目标检测", "1. 什么是交并比？"], ["深度学习面试题", "一、目标检测", "2. 非极大值抑制是怎么做的？"],
        ["深度学习面试题", "二、训练技巧", "3. 为什么要用批归一化？"], ["深度学习面试题", "二、训练技巧", "4. 学习率预热有什么作用？"]]
    code = [s.code for c in parsed.chunks for s in c.code]
    source = DEEP_LEARNING.split("```python\n")
    assert code == [source[1].split("\n```")[0], source[2].split("\n```")[0]]      # whole, indentation kept
    assert [s.language for c in parsed.chunks for s in c.code] == ["python", "python"]


def test_every_pdf_chunk_opens_at_its_page_and_line(tmp_path):
    """Checked with pdfminer (through pdfplumber), a reader independent of the one ingest uses."""
    for name, markdown in (("dl", DEEP_LEARNING), ("algo", ALGORITHMS), ("llm", LANGUAGE_MODELS)):
        path = write_pdf(markdown, tmp_path / f"{name}.pdf")
        parsed = _parse(path)
        assert len(parsed.chunks) >= 3
        pages = pdfplumber_pages(path)
        for chunk in parsed.chunks:
            unit, page, first, last = _place(chunk.location)
            assert unit == "page" and chunk.location.startswith(f"{name}.pdf, page ")
            on_page = _flat("".join(pages[page - 1][first - 1:last]))
            assert _flat(chunk.text) in on_page, chunk.location
            assert _flat(chunk.text).startswith(_flat(pages[page - 1][first - 1])), chunk.location


def test_pdf_with_fonts_pdfminer_cannot_map_still_reads(tmp_path):
    """fpdf2 embeds Noto's CFF outlines with its own CMap: pdfminer loses every CJK character there."""
    parsed = _parse(write_pdf(ALGORITHMS, tmp_path / "algo.pdf", truetype=False))
    assert [s.question for s in parsed.sections] == [
        "1. 如何判断链表有环？", "2. 反转链表的思路是什么？", "3. 快速排序的平均复杂度是多少？"]
    assert "快指针每次走两步" in parsed.chunks[0].text


def test_pdf_short_lines_stay_apart_and_characters_beyond_the_bmp_survive(tmp_path):
    path = write_pdf("# 标题\n\n1. 𠮷野家是什么？\n一家卖牛肉饭的店。\n", tmp_path / "s.pdf")
    assert formats.read_here("pdf", path.read_bytes(), time.monotonic() + 60).lines[1] == "1. \U00020bb7野家是什么？"
    parsed = _parse(path)
    assert [(s.question, c.text, c.location) for s, c in zip(parsed.sections, parsed.chunks)] == [
        ("1. 𠮷野家是什么？", "一家卖牛肉饭的店。", "s.pdf, page 1, line 3")]


def test_scanned_encrypted_and_broken_pdfs_give_their_reason(tmp_path):
    from fpdf import FPDF
    from fpdf.enums import EncryptionMethod
    scanned = FPDF()
    scanned.add_page()
    scanned.rect(20, 20, 120, 160, style="F")            # a page that is only a picture
    assert formats.convert("s.pdf", bytes(scanned.output())) == "no text layer (scanned pages or images only; iqa does no OCR)"
    locked = FPDF()
    locked.add_page()
    locked.set_font("helvetica", size=12)
    locked.cell(0, 10, "secret notes")
    locked.set_encryption(owner_password="owner", user_password="user", encryption_method=EncryptionMethod.RC4)
    assert formats.convert("l.pdf", bytes(locked.output())) == "encrypted (needs a password); save an unprotected copy to index it"
    assert formats.convert("b.pdf", b"%PDF-1.7\n garbage").startswith("not a readable PDF (")


def test_a_scanned_page_inside_a_text_pdf_is_listed_as_skipped(tmp_path):
    (tmp_path / "notes").mkdir()
    write_pdf(DEEP_LEARNING + f"{PAGE}\n{PICTURE}\n", tmp_path / "notes" / "book.pdf")
    (tmp_path / "notes" / "book.pdf").with_suffix("").mkdir()       # the fonts made for it, out of the way
    for font in (tmp_path / "notes").glob("*.ttf"):
        font.rename(tmp_path / "notes" / "book" / font.name)
    summary = ingest([tmp_path / "notes" / "book.pdf"], tmp_path / "index", _fake(), log=lambda m: None)
    assert "  skipped book.pdf, page 3: no text layer (scanned page; iqa does no OCR)" in summary.lines()
    assert summary.files == 1 and summary.chunks == 4


def test_a_pdf_read_is_bounded_in_pages_and_time(tmp_path, monkeypatch):
    data = write_pdf(DEEP_LEARNING, tmp_path / "dl.pdf").read_bytes()
    monkeypatch.setattr(pdf_format, "MAX_PAGES", 1)
    assert formats.read_here("pdf", data, time.monotonic() + 60) == "too many pages (2 > 1)"
    monkeypatch.setattr(pdf_format, "MAX_PAGES", 10)
    assert formats.read_here("pdf", data, time.monotonic() - 1) == "reading took too long (stopped at page 1 of 2)"
    monkeypatch.setattr(formats, "MAX_SECONDS", 0.0)
    monkeypatch.setattr(isolated, "SLACK", 0.0)          # the child is stopped even before it answers
    assert formats.convert("dl.pdf", data) == "reading took over 0 s"


def test_a_pdf_that_unpacks_to_more_than_the_memory_limit_is_skipped(monkeypatch):
    assert formats.convert("small.pdf", bomb_pdf(1_000_000)).lines == ["bomb"]
    monkeypatch.setattr(formats, "MEMORY_MB", 300)
    assert formats.convert("bomb.pdf", bomb_pdf(400_000_000)) == (
        "needs over 300 MiB of memory to read (compressed content that unpacks to gigabytes?)")


# --- Word -----------------------------------------------------------------------------------------

def test_docx_headings_lists_code_and_tables(tmp_path):
    parsed = _parse(write_docx(tmp_path / "ml.docx"))
    assert [s.path[1:] for s in parsed.sections] == [
        ["机器学习面试笔记", "一、模型训练", "过拟合怎么解决？"], ["机器学习面试笔记", "一、模型训练", "梯度消失的原因是什么？"],
        ["机器学习面试笔记", "二、评估指标", "3. 精确率和召回率有什么区别？"]]
    text = "\n".join(c.text for c in parsed.chunks)
    assert "1. 增加训练数据或做数据增强\n2. 加入正则化项，例如权重衰减\n3. 使用早停和随机失活" in text
    assert [s.code for c in parsed.chunks for s in c.code] == [
        "def sigmoid_grad(x):\n    s = 1 / (1 + math.exp(-x))\n    return s * (1 - s)",
        "precision = tp / (tp + fp)\nrecall = tp / (tp + fn)"]
    assert "| 指标 | 含义 |\n| --- | --- |\n| F1 | 精确率和召回率的调和平均 |\n| AUC | ROC 曲线下的面积 |" in text


def test_every_docx_chunk_opens_at_its_paragraph(tmp_path):
    from ingest.formats.docx import docx
    path = write_docx(tmp_path / "ml.docx")
    paragraphs = [p.text for p in docx.Document(str(path)).paragraphs]
    chunks = _parse(path).chunks
    assert len(chunks) == 3
    for chunk in chunks:
        m = re.match(r"ml\.docx, paragraphs? (\d+)(?:-(\d+))?", chunk.location)
        assert m, chunk.location
        first = int(m.group(1))
        assert _flat(chunk.text).startswith(_flat(paragraphs[first - 1])), chunk.location
    assert chunks[0].location == "ml.docx, paragraphs 4-7"        # the answer and its numbered list


def test_a_docx_paragraph_that_looks_like_markup_stays_text(tmp_path):
    from ingest.formats.docx import docx
    document = docx.Document()
    document.add_paragraph("什么是残差连接？", style="Heading 1")
    document.add_paragraph("# 这一行是正文，不是标题")
    document.add_paragraph("```")
    document.add_paragraph("第一步", style="List Number")
    document.add_paragraph("正文打断了列表。")
    document.add_paragraph("新列表的第一步", style="List Number")
    document.add_paragraph("残差把输入直接加到输出上。")
    document.save(str(tmp_path / "r.docx"))
    parsed = _parse(tmp_path / "r.docx")
    assert [s.question for s in parsed.sections] == ["什么是残差连接？"]
    assert not parsed.chunks[0].code and "残差把输入直接加到输出上" in parsed.chunks[0].text
    assert "1. 第一步\n正文打断了列表。\n1. 新列表的第一步" in parsed.chunks[0].text


def test_a_broken_docx_gives_its_reason():
    assert formats.convert("x.docx", b"PK\x03\x04 not really a zip").startswith("not a readable Word file (")
    assert formats.convert("x.docx", b"\xd0\xcf\x11\xe0" + b"\0" * 600).startswith("encrypted or an old Word file")


# --- notebooks ------------------------------------------------------------------------------------

def test_notebook_sections_code_of_the_cell_before_and_no_outputs(tmp_path):
    parsed = _parse(write_notebook(tmp_path / "algo.ipynb"))
    assert [s.question for s in parsed.sections] == ["两数之和怎么做？", "二分查找的边界怎么处理？"]
    assert [c.location for c in parsed.chunks] == ["algo.ipynb, cells 2-3", "algo.ipynb, cells 4-5"]
    code = [(s.language, s.place, s.code.splitlines()[0]) for c in parsed.chunks for s in c.code]
    assert code == [("python", "cell 3", "def two_sum(nums, target):"), ("python", "cell 5", "def lower_bound(xs, t):")]
    assert "    while lo < hi:\n        mid = (lo + hi) // 2" in parsed.chunks[1].code[0].code
    assert not any("输出里的文字" in c.text for c in parsed.chunks)


def test_every_notebook_chunk_opens_at_its_cells(tmp_path):
    path = write_notebook(tmp_path / "algo.ipynb")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for chunk in _parse(path).chunks:
        m = re.match(r"algo\.ipynb, cells? (\d+)(?:-(\d+))?$", chunk.location)
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        sources = _flat("".join("".join(c["source"]) for c in cells[first - 1:last]))
        answer = "".join(cells[first - 1]["source"]).split("\n", 1)[1]          # the cell's text under its heading
        assert _flat(chunk.text) in sources and _flat(chunk.text).startswith(_flat(answer))


def test_a_notebook_nbformat_would_warn_about_is_read_quietly(tmp_path):
    path = write_notebook(tmp_path / "algo.ipynb")
    notebook = json.loads(path.read_text(encoding="utf-8"))
    notebook["cells"] += notebook["cells"]                     # the same cell ids twice
    path.write_text(json.dumps(notebook), encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert len(formats.convert("algo.ipynb", path.read_bytes()).lines) > 20
    assert not caught


def test_an_invalid_notebook_is_skipped_with_the_reason(tmp_path):
    (tmp_path / "bad.ipynb").write_text('{"cells": [', encoding="utf-8")
    skip = _parse(tmp_path / "bad.ipynb")
    assert isinstance(skip, Skip)
    assert skip.reason == "not a valid notebook (invalid JSON; Notebook does not appear to be JSON: '{\"cells\": [')"
    assert formats.convert("x.ipynb", b'{"nbformat": 3, "worksheets": []}').startswith("not a valid notebook")


# --- the place of a chunk, unsupported files, end to end -------------------------------------------

def test_places_name_units_and_sub_lines():
    lines = Lines("page")
    lines.add("# 第一章", 1, 1)
    lines.add("交并比是…", 1, 2, 3)
    lines.add("NMS…", 2, 1)
    lines.add_in("table", "| a |", 4, (2, 2))
    assert [lines.place(2, 2), lines.place(1, 2), lines.place(2, 3), lines.place(3, 4)] == [
        "page 1, lines 2-3", "page 1, lines 1-3", "pages 1-2", "page 2 to table 4"]
    assert lines.text == "# 第一章\n交并比是…\nNMS…\n| a |\n"


def test_unsupported_files_are_listed_once_with_the_reason(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("## 什么是IoU？\n交集除以并集。\n", encoding="utf-8")
    for name in ("x.png", "y.png", "old.doc", "all.zip", ".hidden.md", "README"):
        (notes / name).write_bytes(b"data")
    lines = ingest([notes], tmp_path / "index", _fake(), log=lambda m: None).lines()
    listed = [line for line in lines if "not read" in line]
    assert listed == ["  not read, 6 files: 2 images (.png) — not notes, iqa does no OCR; 1 archive (.zip) — unpack it to "
                      "index what it holds; 1 hidden — names starting with '.' are skipped; 1 old Word file (.doc) — save "
                      "it as .docx; 1 other file (no suffix) — not a note format (.md .markdown .txt .html .htm .pdf "
                      ".docx .ipynb are read)"]


def _fake():
    from conftest import FakeEmbedder
    return FakeEmbedder()


def _folder(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    write_pdf(DEEP_LEARNING, notes / "dl.pdf")
    write_docx(notes / "ml.docx")
    write_notebook(notes / "algo.ipynb")
    for font in notes.glob("*.ttf"):
        font.unlink()
    return notes


QUESTIONS = [("学习率预热有什么作用", "dl.pdf, page 2, lines 6-11"), ("梯度消失的原因是什么", "ml.docx, paragraphs 9-12"),
             ("二分查找的边界怎么处理", "algo.ipynb, cells 4-5")]


def test_ingest_search_and_ask_find_a_question_in_each_format(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("rag.embed.make_embedder", lambda *a, **k: _fake())
    notes, index = _folder(tmp_path), str(tmp_path / "index")
    summary = ingest([notes], tmp_path / "index", _fake(), log=lambda m: None)
    assert summary.files == 3 and not summary.skipped and summary.snippets == 6
    for question, location in QUESTIONS:
        # BM25: the fake embedder's hashed bigrams collide, so its vectors do not rank these few chunks
        assert main(["search", question, "--index", index, "--k", "1", "--json", "--retriever", "bm25"]) == 0
        assert json.loads(capsys.readouterr().out)["hits"][0]["location"] == location
        assert main(["ask", question + "？", "--index", index, "--no-llm", "--json", "--retriever", "bm25"]) == 0
        answer = json.loads(capsys.readouterr().out)
        assert answer["hits"][0]["location"] == location and answer["sources"]
        assert all(re.fullmatch(r"(dl\.pdf, page|ml\.docx, paragraph|algo\.ipynb, cell)s? [\d, a-z-]+", row["location"])
                   for row in answer["sources"])


@pytest.mark.slow
def test_the_real_embedder_finds_each_format(tmp_path, capsys):
    notes, index = _folder(tmp_path), str(tmp_path / "index")
    assert main(["ingest", str(notes), "--index", index]) == 0
    capsys.readouterr()
    for question, location in QUESTIONS:
        assert main(["search", question, "--index", index, "--k", "1", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["hits"][0]["location"] == location


def test_the_eval_baseline_reads_the_same_text_of_a_notebook_and_a_word_file(tmp_path):
    """The generic recipe iqa is compared with must see these files too, not skip them as binary."""
    from eval.baseline import baseline_passages
    write_notebook(tmp_path / "algo.ipynb")
    write_docx(tmp_path / "ml.docx")
    passages = baseline_passages(tmp_path)
    assert {source for source, _ in passages} == {"algo.ipynb", "ml.docx"}
    assert any("两数之和" in text for _, text in passages)
    assert not any("输出里的文字" in text for _, text in passages)
