from ingest.clean import clean
from ingest.code import fenced_blocks, restore, unfenced_blocks


def test_offset_map_points_back_into_raw_text():
    raw = '<h2 id="q1">1.什么是BN？</h2>\n\nBN 对每个通道<font color=red>归一化</font>。见 https://x.y/z 。\n'
    doc = clean(raw)
    assert doc.text.startswith("## 1.什么是BN？")
    i = doc.text.index("归一化")
    assert raw[doc.to_raw(i):doc.to_raw(i + 3, end=True)] == "归一化"
    assert "<font" not in doc.text and "https://" not in doc.text


def test_table_of_contents_and_page_junk_are_dropped():
    raw = ("当前位置: 首页 > news >正文\n点赞 37\n# 目录\n\n- [1.A？](#1.A？)\n\t- [2.B？](#2.B？)\n\n"
           "## 1.A？\n答案 A。\n相关推荐\n点赞 评论 收藏\n分享\n")
    text = clean(raw).text
    assert "目录" not in text and "](#" not in text and "点赞" not in text and "首页" not in text
    assert "答案 A。" in text


def test_html_document_becomes_markdown_with_offsets():
    raw = "<html><head><title>T</title></head><nav>菜单</nav><h2>问题？</h2><p>答 &amp; 解</p><script>x()</script></html>"
    doc = clean(raw, is_html=True)
    assert "## 问题？" in doc.text and "答 & 解" in doc.text
    assert "菜单" not in doc.text and "x()" not in doc.text and "T" not in doc.text.split("##")[0]
    i = doc.text.index("问题")
    assert raw[doc.to_raw(i):doc.to_raw(i + 2, end=True)] == "问题"


def test_glued_numbered_question_is_split_in_plain_text():
    raw = "1. 第一题?\nprint(x)2. 词向量有哪些表示方法?\n答: 很多。\n"
    assert "print(x)\n2. 词向量" in clean(raw, plain=True).text


def test_fenced_blocks_found_whole_even_with_blank_lines():
    text = "前文\n```python\ndef f():\n\n    return 1\n```\n后文\n"
    (a, b, lang), = fenced_blocks(text)
    assert lang == "python" and text[a:b].startswith("```python") and text[a:b].rstrip().endswith("```")


def test_glued_python_is_restored_to_lines():
    glued = "import torch.nn as nnclass FPN(nn.Module):def __init__(self):super().__init__()def forward(self, x):return x"
    code = restore(glued)
    assert code.splitlines() == ["import torch.nn as nn", "class FPN(nn.Module):", "    def __init__(self):",
                                 "        super().__init__()", "    def forward(self, x):", "        return x"]


def test_unfenced_code_detected_but_prose_and_formulas_are_not():
    text = "这是一段说明文字。\nimport numpy as np\nx = np.zeros(3)\nprint(x)\n后面的解释。\nL=αLc+βLs 公式很长" + "很" * 100 + "\n"
    blocks = unfenced_blocks(text)
    assert len(blocks) == 1
    a, b, _ = blocks[0]
    assert text[a:b].startswith("import numpy") and "print(x)" in text[a:b] and "解释" not in text[a:b]
