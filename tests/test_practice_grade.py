"""Grading with the real multilingual e5: the calibration examples behind practice/grade.py's thresholds,
and a whole CLI session over a real e5 index with scripted answers."""
import io
import sqlite3

import pytest

from practice.grade import Grader
from practice.questions import Part, Question
from ui.cli import main

pytestmark = pytest.mark.slow

# (a note's point, the same point in other words, another claim on the same topic, an unrelated sentence)
CALIBRATION = [
    ("BatchNorm 在训练时使用当前 mini-batch 的均值和方差做归一化。", "训练阶段 BN 拿这个 batch 自己的 mean 和 variance 来标准化。",
     "BatchNorm 可以缓解梯度消失，让学习率设得更大。", "Redis 的持久化有 RDB 和 AOF 两种方式。"),
    ("推理时 BatchNorm 使用训练中滑动平均得到的 running mean 和 running var。"
     "", "推断的时候用训练过程中用动量累计的全局均值方差，不再依赖当前 batch。",
     "BatchNorm 层有 gamma 和 beta 两个可学习参数。", "TCP 三次握手用来建立可靠连接。"),
    ("Dropout 在训练时以概率 p 随机把神经元输出置零。", "训练的时候按概率 p 随机丢掉一部分神经元的输出。",
     "Dropout 常放在全连接层之后。", "快速排序的平均复杂度是 O(n log n)。"),
    ("Transformer 的自注意力用 Q 和 K 的点积除以根号 d_k 得到注意力权重。", "attention 权重是 query 和 key 做内积，"
                                                      "再除以 sqrt(d_k) 后 softmax。",
     "Transformer 的位置编码可以用正弦函数。", "Kubernetes 用 Pod 作为最小调度单位。"),
    ("Adam 同时维护梯度的一阶矩和二阶矩估计，并做偏差修正。", "Adam 会记录梯度的均值（一阶动量）和平方的均值（二阶动量），"
                                      "还有 bias correction。",
     "Adam 的默认学习率一般是 1e-3。", "HTTP 状态码 404 表示资源不存在。"),
    ("Focal Loss 给易分样本更小的权重，让训练关注难分样本。", "Focal Loss 降低了容易分类样本的 loss 权重，模型更关注 hard example。",
     "Focal Loss 最早用在 RetinaNet 上。", "MySQL 的 InnoDB 支持事务和行锁。"),
    ("梯度裁剪把梯度范数限制在阈值内，防止梯度爆炸。", "gradient clipping 会把超过阈值的梯度 norm 缩放回来，避免梯度爆炸。",
     "梯度消失常见于很深的 sigmoid 网络。", "Git rebase 会改写提交历史。"),
    ("LoRA 把权重更新分解为两个低秩矩阵 A 和 B 的乘积，只训练这两个矩阵。", "LoRA 冻结原模型，只训练低秩分解的 A、B 两个小矩阵，"
                                                "它们的乘积就是权重增量。",
     "LoRA 的 rank 一般取 8 或 16。", "Linux 用 chmod 修改文件权限。"),
]


# The same point's words in another sense: shares many tokens, means something else.
SAME_WORDS = [
    ("Dropout 在训练时以概率 p 随机把神经元输出置零。", "我训练小狗时它会随机把玩具叼出去，概率挺高的，输出全靠心情。"),
    ("梯度裁剪把梯度范数限制在阈值内，防止梯度爆炸。", "煤气罐的阈值限制在安全范围内，防止爆炸。"),
    ("LoRA 把权重更新分解为两个低秩矩阵 A 和 B 的乘积，只训练这两个矩阵。", "健身时把训练计划分解为两个部分，"
                                                "权重轻的器械和矩阵式的动作。"),
    ("Focal Loss 给易分样本更小的权重，让训练关注难分样本。", "考试复习时给容易的题目更小的权重，关注难题，样本卷多做几套。"),
    ("推理时 BatchNorm 使用训练中滑动平均得到的 running mean 和 running var。", "侦探推理时使用平均的线索，"
                                                               "滑动门后面藏着训练有素的猫。"),
]


def one_point(text: str) -> Question:
    return Question("k", "calibration.md", ["calibration", "题目是什么？"], "题目是什么？", [Part(text, 1, 1)])


def test_calibration_examples(real_embedder):
    grader = Grader(real_embedder)
    covered = {"same point": 0, "other claim": 0, "unrelated": 0}
    for point, *answers in CALIBRATION:
        for kind, answer in zip(covered, answers):
            covered[kind] += grader.grade(one_point(point), answer).score == 100
    # Six of eight restatements pass; the two that swap most Chinese words for English ones
    # (the BatchNorm rows) share too few tokens and score below e5's cosine-alone bar.
    assert covered == {"same point": 6, "other claim": 0, "unrelated": 0}


def test_the_point_s_words_in_another_sense_do_not_cover_it(real_embedder):
    grader = Grader(real_embedder)
    results = [grader.grade(one_point(point), answer).points[0] for point, answer in SAME_WORDS]
    assert all(r.terms >= 0.25 for r in results)            # the words alone would pass every one
    assert not any(r.covered for r in results)


def test_cli_session_with_the_real_embedder(notes_index, iqa_home, capsys, monkeypatch):
    roi_copy = ("ROIPool 有两次量化：候选框坐标取整，bin 边界再取整，造成特征错位。ROIAlign 去掉取整，"
                "用双线性插值计算采样点的值，对小目标更准确。\n```python\ndef bilinear(f, y, x):\n"
                "    # 示例：双线性插值\n    return f[int(y), int(x)]\n```")
    nms_partial = "先按置信度从高到低排序，留下分数最高的框，把和它 IoU 超过阈值的框删掉，一直重复到没有框。"
    script = f"{roi_copy}\n\n\n{nms_partial}\n\n\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(script))
    assert main(["practice", "--topic", "detection", "-n", "2", "--no-llm", "--index", str(notes_index)]) == 0
    out = capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("量子计算机用量子比特做并行计算。\n\n\n"))
    assert main(["practice", "--topic", "lora", "-n", "1", "--no-llm", "--index", str(notes_index)]) == 0
    out += capsys.readouterr().out
    with sqlite3.connect(iqa_home / "practice.sqlite") as db:
        (copy, partial, unrelated) = db.execute("SELECT score, rating FROM reviews ORDER BY id").fetchall()
    assert copy[0] >= 90 and copy[1] in (3, 4)
    assert 20 < partial[0] < 90 and partial[1] in (2, 3)
    assert unrelated[0] <= 20 and unrelated[1] == 1
    assert "「Soft-NMS 改为衰减分数而不是删除。」 (detection.md:19)" in out
    assert "「NMS 的复杂度是 O(n²)。」 (detection.md:24)" in out
    assert "「按置信度排序" not in out                      # the point the partial answer made is not listed as missed
