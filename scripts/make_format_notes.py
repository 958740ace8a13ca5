"""Write the starter corpus's PDF, Word and notebook notes (corpus/formats/) from the texts below.

    python scripts/make_format_notes.py        # needs Debian's fonts-noto-cjk and fonts-dejavu-core

The files are committed; this script is how they were made, so they can be made again after an edit.
"""
from __future__ import annotations

import sys
from pathlib import Path

import docx
import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from format_docs import write_pdf  # noqa: E402  (the typesetter the PDF tests use)

OUT = Path(__file__).resolve().parents[1] / "corpus" / "formats"

TRAINING = """# 训练技巧面试题
## 梯度裁剪是做什么的？
梯度裁剪在反向传播后、参数更新前把梯度的范数限制在阈值以内，防止 RNN 或很深的网络出现梯度爆炸导致 loss 变成 NaN。
常用按全局 L2 范数裁剪：总范数超过 max_norm 时，所有梯度按同一比例缩小，方向不变。
```python
loss.backward()
torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
optimizer.step()
```
## 学习率预热（warmup）为什么有用？
训练刚开始时参数是随机的，Adam 的二阶矩估计也不准，大学习率容易让训练发散。
warmup 在最初几百到几千步把学习率从很小线性升到目标值，之后再按余弦或线性衰减，Transformer 训练几乎都这样做。
## 混合精度训练要注意什么？
混合精度用 FP16 或 BF16 做前向和反向，用 FP32 保存主权重，显存减半、速度更快。
FP16 的数值范围小，梯度容易下溢成零，所以要做 loss scaling：先把 loss 放大再反向，更新前再缩回去；BF16 范围和 FP32 相同，一般不需要。
"""

NOTEBOOK = [
    ("md", "# 手撕代码：链表与栈"),
    ("md", "## 反转链表怎么写？\n用三个指针迭代：保存下一个节点，把当前节点指向前一个节点，再整体前移，时间复杂度 O(n)，空间 O(1)。"),
    ("code", "def reverse_list(head):\n    prev = None\n    while head:\n        nxt = head.next\n"
             "        head.next = prev\n        prev, head = head, nxt\n    return prev"),
    ("md", "## 有效的括号怎么判断？\n遍历字符串，左括号入栈，右括号时检查栈顶是否是对应的左括号，最后栈为空才有效。"),
    ("code", "def is_valid(s):\n    pairs = {')': '(', ']': '[', '}': '{'}\n    stack = []\n    for ch in s:\n"
             "        if ch in pairs:\n            if not stack or stack.pop() != pairs[ch]:\n                return False\n"
             "        else:\n            stack.append(ch)\n    return not stack"),
]


def write_docx(path: Path) -> None:
    document = docx.Document()
    code = document.styles.add_style("Code", docx.enum.style.WD_STYLE_TYPE.PARAGRAPH)
    code.font.name = "Consolas"
    document.add_paragraph("模型部署面试笔记", style="Title")
    document.add_paragraph("PyTorch 模型怎么导出成 ONNX？", style="Heading 2")
    document.add_paragraph("用 torch.onnx.export 传入模型和一个示例输入，按示例输入走一遍前向记录计算图；"
                           "输入尺寸会变的维度要在 dynamic_axes 里声明，否则会被固定。")
    for line in ("model.eval()", "x = torch.randn(1, 3, 224, 224)",
                 "torch.onnx.export(model, x, 'model.onnx', opset_version=17,",
                 "                  dynamic_axes={'input': {0: 'batch'}})"):
        document.add_paragraph(line, style="Code")
    document.add_paragraph("INT8 量化部署有哪些方式？", style="Heading 2")
    document.add_paragraph("训练后量化（PTQ）用几百张校准图统计激活范围，不用重新训练；"
                           "量化感知训练（QAT）在训练中插入伪量化节点，精度损失更小但要再训练。")
    table = document.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("方式", "特点"), ("PTQ", "快，只需校准数据"), ("QAT", "精度高，需要再训练")]):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    document.save(str(path))


def write_notebook(path: Path) -> None:
    v4 = nbformat.v4
    cells = [v4.new_markdown_cell(text) if kind == "md" else v4.new_code_cell(text) for kind, text in NOTEBOOK]
    path.write_text(nbformat.writes(v4.new_notebook(cells=cells)), encoding="utf-8")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    write_pdf(TRAINING, OUT / "training_tricks.pdf", truetype=False)
    write_docx(OUT / "deployment.docx")
    write_notebook(OUT / "coding.ipynb")
    print(f"wrote {', '.join(sorted(p.name for p in OUT.iterdir()))} in {OUT}")
