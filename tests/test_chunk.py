from ingest.chunk import BUDGET_TOKENS, est_tokens
from ingest.document import parse_text
from rag.text import words


def test_short_section_is_one_chunk_with_its_question():
    doc = parse_text("a.md", "## 什么是IoU？\n\nIoU 是交集除以并集。\n\n## 什么是NMS？\n\n去掉重复框。\n")
    assert [(c.question, c.text) for c in doc.chunks] == [("什么是IoU？", "IoU 是交集除以并集。"), ("什么是NMS？", "去掉重复框。")]


def test_long_answer_splits_at_sentences_and_every_part_keeps_the_question():
    body = "".join(f"第{i}点：特征金字塔网络把高层语义和低层细节结合起来，提升小目标检测的效果。" for i in range(60))
    doc = parse_text("fpn.md", f"## FPN 有什么用？\n\n{body}\n")
    assert len(doc.chunks) > 2
    for chunk in doc.chunks:
        assert chunk.question == "FPN 有什么用？" and chunk.heading == ["fpn", "FPN 有什么用？"]
        assert chunk.text.endswith("。") and est_tokens(chunk.text) <= BUDGET_TOKENS + 60
    assert "".join(c.text for c in doc.chunks) == body


def test_a_sentence_longer_than_the_budget_is_cut_only_between_jieba_words():
    sentence = "卷积神经网络的特征金字塔网络通过横向连接融合多尺度特征" * 40
    doc = parse_text("long.md", f"## 问题？\n\n{sentence}\n")
    assert len(doc.chunks) > 1
    boundaries = {e for _, _, e in words(sentence)}
    pos = 0
    for chunk in doc.chunks[:-1]:
        pos += len(chunk.text)
        assert pos in boundaries


def test_code_block_larger_than_the_budget_stays_whole():
    code = "\n".join(f"x_{i} = compute_feature_map(layer_{i}, stride={i})" for i in range(200))
    doc = parse_text("code.md", f"## 代码？\n\n说明。\n\n```python\n{code}\n```\n\n结尾。\n")
    holders = [c for c in doc.chunks if "x_0 = " in c.text]
    assert len(holders) == 1 and "x_199 = " in holders[0].text
    assert holders[0].code[0].code == code and holders[0].code[0].language == "python"
