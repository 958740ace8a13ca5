"""Markdown exports (Obsidian, Notion, Hugo): front matter as metadata, wiki links and callouts as their
text, tables kept as tables, and one fence rule (markdown-it's) for cleaning, sections and code."""
import re

from ingest import markdown as md
from ingest.chunk import BUDGET_TOKENS, est_tokens
from ingest.clean import clean
from ingest.code import fenced_blocks
from ingest.document import parse_text
from ingest.frontmatter import read
from ingest.structure import find_headings
from rag.lexical import chunk_tokens

NOTE = """---
title: 归一化面试题
tags: [深度学习, "#normalization"]
aliases: BN
---
## BN 和 LN 有什么区别？

BN 在批内归一化，见 [[Batch Norm|批归一化]] 和 [[Layer Norm#公式]]。![[bn.png]]

> [!tip]- 面试提示
> 先说归一化的维度。
"""


def test_front_matter_is_metadata_and_not_text():
    doc = parse_text("norm.md", NOTE)
    (chunk,) = doc.chunks
    assert chunk.meta == {"title": "归一化面试题", "tags": ["深度学习", "normalization"]}
    assert chunk.heading == ["norm", "BN 和 LN 有什么区别？"]
    assert "title" not in chunk.text and "aliases" not in " ".join(chunk_tokens(chunk))
    assert chunk.line_start == 8 and NOTE.splitlines()[7].startswith("BN 在批内归一化")


def test_a_rule_at_the_top_or_prose_between_rules_is_not_front_matter():
    for raw in ("---\n只是一条分隔线后的正文。\n---\n", "---\n定义: 这是正文\n---\n", "---\ntitle: 没有结束\n正文\n"):
        assert read(raw) == ({}, 0)
        assert clean(raw).text == raw and clean(raw).meta == {}
    assert clean("---\ntitle: x\n---\n正文\n", plain=True).text.startswith("---")     # .txt: no front matter


def test_wiki_links_embeds_and_callouts_keep_only_their_shown_text():
    doc = clean(NOTE)
    assert "见 批归一化 和 Layer Norm。\n" in doc.text
    assert "[[" not in doc.text and "bn.png" not in doc.text and "[!tip]" not in doc.text
    assert "> 面试提示\n> 先说归一化的维度。" in doc.text
    i = doc.text.index("批归一化")
    assert NOTE[doc.to_raw(i):doc.to_raw(i + 4, end=True)] == "批归一化"


def test_a_table_that_fits_is_one_piece_with_its_rows_on_their_own_lines():
    rows = "".join(f"| 模型{i} | 参数量 {i}M |\n" for i in range(10))
    table = f"| 模型 | 规模 |\n| --- | --- |\n{rows}"
    prose = "这一句是表格前面的说明文字。" * 22                  # the table would straddle the budget
    raw = f"## 常见模型有多大？\n\n{prose}\n\n{table}\n总结。\n"
    chunks = parse_text("size.md", raw).chunks
    assert est_tokens(prose + table) > BUDGET_TOKENS and len(chunks) == 2
    assert chunks[0].text == prose and chunks[1].text.startswith(table)


def test_a_table_over_the_budget_is_cut_only_between_rows():
    rows = [f"| 第{i}行的模型名称 | 这一行写了一段比较长的说明文字用来撑大表格的尺寸 |" for i in range(40)]
    table = "| 名称 | 说明 |\n| --- | --- |\n" + "\n".join(rows) + "\n"
    raw = "## 表格很长怎么办？\n\n" + "前言。" * 30 + "\n\n" + table
    chunks = parse_text("long.md", raw).chunks
    assert len(chunks) > 2
    holding = [c for c in chunks if "| 第" in c.text]
    for c in holding:
        assert all(line.startswith("| ") and line.endswith(" |") for line in c.text.splitlines() if "第" in line)
        assert est_tokens(c.text) <= BUDGET_TOKENS + 60
    assert sum(c.text.count("| 第") for c in holding) == 40


FENCED = """## 正则怎么写？

```text
a+
```+
see https://example.invalid/x
# 不是标题
```

正文 https://example.invalid/y
"""


def test_one_fence_rule_for_cleaning_sections_and_code():
    doc = clean(FENCED)
    assert "see https://example.invalid/x" in doc.text              # inside the fence: kept as written
    assert "正文 \n" in doc.text                                      # outside: the URL goes
    (a, b, lang), = fenced_blocks(doc.text)
    assert lang == "text" and "```+" in doc.text[a:b] and "# 不是标题" in doc.text[a:b]
    assert doc.text[a:b].endswith("# 不是标题\n```\n")
    assert [t for *_, t in find_headings(doc.text, True)] == ["正则怎么写？"]
    (chunk,) = parse_text("re.md", FENCED).chunks
    assert chunk.code[0].code == "a+\n```+\nsee https://example.invalid/x\n# 不是标题"


def test_block_offsets_count_markdown_it_lines_in_the_raw_text():
    raw = "## 一？\r\n\r\n答一。\r\n\r\n## 二？\r\n答二。\u2028仍是答二。\r\n## 三？\r\n答三。\r\n"
    heads = md.headings(raw)
    assert [raw[h.start:h.end] for h in heads] == ["## 一？\r\n", "## 二？\r\n", "## 三？\r\n"]
    chunks = parse_text("crlf.md", raw).chunks
    assert [(c.heading[-1], c.line_start) for c in chunks] == [("一？", 3), ("二？", 6), ("三？", 8)]
    assert re.sub(r"\s", "", chunks[1].text) == "答二。仍是答二。"
