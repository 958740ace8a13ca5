"""Interview notes in markup styles beyond '## question' headings: each question becomes its own section
with the right heading path, and every chunk's location opens at the text it quotes."""
import re

import pytest

from ingest.document import parse_text
from tests.test_shared_corpus import is_subsequence


def _opens_at_its_text(raw: str, chunks) -> None:
    lines = raw.splitlines()
    for c in chunks:
        span = raw[c.start:c.end]
        assert is_subsequence(re.sub(r"\s+", "", c.text), re.sub(r"\s+", "", span)), c.heading
        assert c.line_start == raw.count("\n", 0, c.start) + 1
        assert c.text.splitlines()[0].strip()[:6] in lines[c.line_start - 1]


def _sections(source: str, raw: str):
    doc = parse_text(source, raw)
    _opens_at_its_text(raw, doc.chunks)
    return {tuple(c.heading): c.text for c in doc.chunks}


NUMBERED = """# 第三章 卷积网络

## 3.1 基础

### 3.1.1 什么是感受野？

感受野是输出特征图上一个像素对应的输入区域。

### 3.1.2 卷积层的参数量怎么算？

参数量等于卷积核大小乘输入通道数再乘输出通道数。

## 3.2 经典结构

## 3.2.1 ResNet 为什么能训练很深的网络？

残差连接让梯度可以直接传回浅层。

## 3.2.2 1x1 卷积有什么用？

它可以升降通道数并增加非线性。

## 附录

一些参考资料。
"""


def test_numbered_headings_nest_by_their_numbers():
    got = _sections("cnn.md", NUMBERED)
    chapter = ("cnn", "第三章 卷积网络")
    assert got == {
        chapter + ("3.1 基础", "3.1.1 什么是感受野？"): "感受野是输出特征图上一个像素对应的输入区域。",
        chapter + ("3.1 基础", "3.1.2 卷积层的参数量怎么算？"): "参数量等于卷积核大小乘输入通道数再乘输出通道数。",
        # same '#' level, but 3.2.1 extends 3.2: it nests; an unnumbered sibling does not
        chapter + ("3.2 经典结构", "3.2.1 ResNet 为什么能训练很深的网络？"): "残差连接让梯度可以直接传回浅层。",
        chapter + ("3.2 经典结构", "3.2.2 1x1 卷积有什么用？"): "它可以升降通道数并增加非线性。",
        chapter + ("附录",): "一些参考资料。",
    }


BOLD = """## 第一部分 机器学习

**Q1: 什么是过拟合？**

A: 模型在训练集上很好，在测试集上变差。

**Q2：怎么缓解过拟合？**

A: 正则化、数据增强、提前停止。

**为什么 L1 正则会产生稀疏解？**

L1 的等值线在坐标轴上有尖角，最优解常落在轴上。

## 第二部分 深度学习

### BN 的作用是什么？

BN 让每层输入的分布稳定。

**为什么测试时用滑动平均？**

测试时一次只有一个样本，算不出批统计量。
"""


def test_bold_question_lines_are_questions_when_a_section_lists_several():
    got = _sections("ml.md", BOLD)
    part1 = ("ml", "第一部分 机器学习")
    assert got == {
        part1 + ("Q1: 什么是过拟合？",): "A: 模型在训练集上很好，在测试集上变差。",
        part1 + ("Q2：怎么缓解过拟合？",): "A: 正则化、数据增强、提前停止。",
        part1 + ("为什么 L1 正则会产生稀疏解？",): "L1 的等值线在坐标轴上有尖角，最优解常落在轴上。",
        # one bold follow-up inside an answer stays in that answer
        ("ml", "第二部分 深度学习", "BN 的作用是什么？"):
            "BN 让每层输入的分布稳定。\n\n**为什么测试时用滑动平均？**\n\n测试时一次只有一个样本，算不出批统计量。",
    }


DIALOGUE = """面试官：先介绍一下 BN 吧？
答：BN 对每个通道在批内做归一化，再做缩放和平移。
面试官：那 LN 和 BN 有什么区别？
答：LN 在单个样本的特征维上归一化，不依赖批大小。
面试官：Transformer 为什么用 LN？
答：序列长度不一，批统计量不稳定。
"""


@pytest.mark.parametrize("source, prefix", [("一面.txt", ("一面",)), ("一面.md", ("一面", "字节一面"))])
def test_interview_dialogues_give_one_section_per_interviewer_question(source, prefix):
    raw = DIALOGUE if source.endswith(".txt") else "## 字节一面\n\n" + DIALOGUE
    got = _sections(source, raw)
    assert got == {
        prefix + ("先介绍一下 BN 吧？",): "答：BN 对每个通道在批内做归一化，再做缩放和平移。",
        prefix + ("那 LN 和 BN 有什么区别？",): "答：LN 在单个样本的特征维上归一化，不依赖批大小。",
        prefix + ("Transformer 为什么用 LN？",): "答：序列长度不一，批统计量不稳定。",
    }


FAQ = """# 目标检测 FAQ

## 常见问题

| 问题 | 答案 |
| --- | --- |
| 什么是 IoU？ | 两个框的交集面积除以并集面积。 |
| NMS 怎么做？ | 按分数排序，删掉与高分框 IoU 过大的框。 |
| **mAP** 怎么算 | 各类别 AP 的平均，AP 是 PR 曲线下的面积。 |

表格之后的补充说明。

## 其他

别的内容。
"""


def test_a_faq_table_gives_one_section_per_row():
    got = _sections("det.md", FAQ)
    faq = ("det", "目标检测 FAQ", "常见问题")
    assert got == {
        faq + ("什么是 IoU？",): "两个框的交集面积除以并集面积。",
        faq + ("NMS 怎么做？",): "按分数排序，删掉与高分框 IoU 过大的框。",
        faq + ("mAP 怎么算",): "各类别 AP 的平均，AP 是 PR 曲线下的面积。",
        faq: "表格之后的补充说明。",
        ("det", "目标检测 FAQ", "其他"): "别的内容。",
    }


def test_an_ordinary_table_stays_whole_inside_its_section():
    raw = "## 激活函数怎么选？\n\n| 函数 | 特点 |\n| --- | --- |\n| ReLU | 简单 |\n| GELU | 平滑 |\n\n看任务。\n"
    got = _sections("act.md", raw)
    table = "| 函数 | 特点 |\n| --- | --- |\n| ReLU | 简单 |\n| GELU | 平滑 |\n"
    assert got == {("act", "激活函数怎么选？"): table + "看任务。"}
