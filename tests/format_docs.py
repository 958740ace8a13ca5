"""Small notes written for the format tests and the PDF benchmark, and writers that turn them into PDF.

A PDF is typeset from a markdown subset: '#'-headings in larger bold type, fenced code in a monospace
font (indentation kept), other lines as wrapped body text; a line '<<<page>>>' starts a new page,
'<<<picture>>>' draws a box with no text.
CJK text uses Noto Sans CJK: either as shipped (CFF outlines, which fpdf2 embeds with its own CMap) or
converted to TrueType outlines first (embedded as Identity-H, as word processors write Chinese PDFs).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

NOTO = "/usr/share/fonts/opentype/noto/NotoSansCJK-{}.ttc"
MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
PAGE = "<<<page>>>"
PICTURE = "<<<picture>>>"          # a filled box and no text: what a scanned page looks like to a reader

DEEP_LEARNING = """# 深度学习面试题

## 一、目标检测

1. 什么是交并比？
交并比（IoU）是预测框与真实框交集面积除以并集面积，常用来判断检测是否正确，阈值一般取零点五。

```python
def iou(a, b):
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, x2 - x1) * max(0, y2 - y1)
    if inter == 0:
        return 0.0
    return inter / (area(a) + area(b) - inter)
```

2. 非极大值抑制是怎么做的？
按置信度从高到低排序，保留得分最高的框，删除与它交并比超过阈值的其余框，再对剩下的框重复这一步。
<<<page>>>
## 二、训练技巧

3. 为什么要用批归一化？
批归一化把每层输入拉回均值为零、方差为一的分布，缓解内部协变量偏移，允许更大的学习率，训练更快更稳。

4. 学习率预热有什么作用？
训练开始时参数是随机的，过大的学习率容易让损失发散；先用很小的学习率逐步升高，可以让模型平稳进入训练。

```python
def warmup(step, base_lr, warm_steps):
    if step < warm_steps:
        return base_lr * (step + 1) / warm_steps
    return base_lr
```
"""

ALGORITHMS = """# 算法题笔记

## 链表

1. 如何判断链表有环？
用快慢两个指针，快指针每次走两步，慢指针每次走一步，如果两者相遇说明有环，快指针走到末尾说明无环。

```python
def has_cycle(head):
    slow = fast = head
    while fast and fast.next:
        slow, fast = slow.next, fast.next.next
        if slow is fast:
            return True
    return False
```

2. 反转链表的思路是什么？
遍历链表，把每个节点的后继指针改为指向前一个节点，同时记录前驱和当前节点，遍历结束时前驱就是新的头节点。
<<<page>>>
## 排序

3. 快速排序的平均复杂度是多少？
平均时间复杂度是 O(n log n)，最坏情况是 O(n^2)，发生在每次选到的基准都是最大或最小值的时候。

```python
def quick_sort(xs):
    if len(xs) <= 1:
        return xs
    pivot, rest = xs[0], xs[1:]
    left = [x for x in rest if x < pivot]
    right = [x for x in rest if x >= pivot]
    return quick_sort(left) + [pivot] + quick_sort(right)
```
"""

LANGUAGE_MODELS = """# 大模型面试题

## 注意力机制

1. 自注意力为什么要除以根号 d？
点积的方差随维度 d 增大而增大，数值过大会让 softmax 进入梯度很小的饱和区，除以根号 d 把方差拉回一左右。

2. 多头注意力有什么好处？
不同的头可以在不同的子空间里关注不同位置的信息，例如一个头看语法关系，另一个头看指代关系，最后拼接起来。
<<<page>>>
## 推理优化

3. 什么是键值缓存？
自回归生成时，每一步只新增一个词元，之前词元的键和值不变，缓存下来就不必重复计算，生成速度大大提高。

```python
class KVCache:
    def __init__(self):
        self.keys, self.values = [], []

    def append(self, k, v):
        self.keys.append(k)
        self.values.append(v)
```
"""

SAMPLES = {"deep_learning": DEEP_LEARNING, "algorithms": ALGORITHMS, "language_models": LANGUAGE_MODELS}


def truetype_fonts(folder: Path, text: str) -> tuple[Path, Path]:
    """Noto Sans CJK SC (regular, bold) cut down to text's characters, with TrueType outlines."""
    out, chars = [], sorted(set(text) | set("0123456789 ."))
    tag = hashlib.sha1("".join(chars).encode()).hexdigest()[:8]
    for weight in ("Regular", "Bold"):
        path = folder / f"cjk-{weight.lower()}-{tag}.ttf"
        if not path.exists():
            _to_truetype(NOTO.format(weight), chars, path)
        out.append(path)
    return out[0], out[1]


def _to_truetype(src: str, chars, path: Path) -> None:
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.subset import Options, Subsetter
    from fontTools.ttLib import TTFont, newTable
    font = TTFont(src, fontNumber=2)                     # 2: the Simplified Chinese face
    options = Options()
    options.name_IDs, options.layout_features = ["*"], []
    subsetter = Subsetter(options)
    subsetter.populate(text="".join(chars))
    subsetter.subset(font)
    glyphs, glyf = font.getGlyphSet(), newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = font.getGlyphOrder(), {}
    for name in glyf.glyphOrder:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["glyf"], font["loca"] = glyf, newTable("loca")
    for table in ("CFF ", "VORG"):
        if table in font:
            del font[table]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 1 if attr == "maxZones" else 0)
    font["head"].indexToLocFormat = font["head"].glyphDataFormat = 0
    font["post"].formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"
    font.save(str(path))


def write_pdf(markdown: str, path: Path, truetype: bool = True) -> Path:
    """Typeset markdown (see the module docstring) into path."""
    from fpdf import FPDF
    pdf = FPDF()
    regular, bold = truetype_fonts(path.parent, markdown) if truetype else (NOTO.format("Regular"), NOTO.format("Bold"))
    pdf.add_font("cjk", "", str(regular))
    pdf.add_font("cjk", "B", str(bold))
    pdf.add_font("mono", "", MONO)
    pdf.add_page()
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif line == PAGE:
            pdf.add_page()
        elif line == PICTURE:
            pdf.rect(20, 20, 120, 160, style="F")
        elif in_code:
            pdf.set_font("mono", "", 9)
            pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            pdf.set_font("cjk", "B", {1: 18, 2: 15}.get(level, 13))
            pdf.multi_cell(0, 10, line.lstrip("# "), new_x="LMARGIN", new_y="NEXT")
        elif line.strip():
            pdf.set_font("cjk", "", 11)
            pdf.multi_cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def write_docx(path: Path) -> Path:
    """A Word file of interview notes: heading styles, a plain numbered question, a numbered list, code in a
    code style and in a monospace font, and a table."""
    from ingest.formats.docx import docx          # python-docx, reached through its one importer
    WD_STYLE_TYPE = docx.enum.style.WD_STYLE_TYPE
    document = docx.Document()
    code = document.styles.add_style("Code", WD_STYLE_TYPE.PARAGRAPH)
    code.font.name = "Consolas"
    document.add_paragraph("机器学习面试笔记", style="Title")
    document.add_paragraph("一、模型训练", style="Heading 1")
    document.add_paragraph("过拟合怎么解决？", style="Heading 2")
    document.add_paragraph("过拟合指模型在训练集上表现好、在测试集上表现差，常见的解决办法有下面几种。")
    for item in ("增加训练数据或做数据增强", "加入正则化项，例如权重衰减", "使用早停和随机失活"):
        document.add_paragraph(item, style="List Number")
    document.add_paragraph("梯度消失的原因是什么？", style="Heading 2")
    document.add_paragraph("反向传播时梯度逐层相乘，激活函数导数小于一时梯度指数级变小，靠近输入的层几乎学不到东西。")
    document.add_paragraph("def sigmoid_grad(x):", style="Code")
    document.add_paragraph("    s = 1 / (1 + math.exp(-x))", style="Code")
    document.add_paragraph("    return s * (1 - s)", style="Code")
    document.add_paragraph("二、评估指标", style="Heading 1")
    document.add_paragraph("3. 精确率和召回率有什么区别？")
    document.add_paragraph("精确率是预测为正的样本里真正为正的比例，召回率是真正为正的样本里被找出来的比例。")
    run = document.add_paragraph().add_run("precision = tp / (tp + fp)\nrecall = tp / (tp + fn)")
    run.font.name = "Courier New"
    document.add_paragraph("常用指标对照：")
    table = document.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("指标", "含义"), ("F1", "精确率和召回率的调和平均"), ("AUC", "ROC 曲线下的面积")]):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    document.save(str(path))
    return path


def write_notebook(path: Path) -> Path:
    """A notebook: markdown cells with the questions and answers, code cells after them, one with output."""
    from ingest.formats.notebook import nbformat  # reached through its one importer
    new_code_cell, new_markdown_cell = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    new_notebook, new_output = nbformat.v4.new_notebook, nbformat.v4.new_output
    cells = [
        new_markdown_cell("# 算法题笔记"),
        new_markdown_cell("## 两数之和怎么做？\n用哈希表记录每个数的下标，遍历时查找目标值减去当前值是否出现过，时间复杂度是 O(n)。"),
        new_code_cell("def two_sum(nums, target):\n    seen = {}\n    for i, x in enumerate(nums):\n"
                      "        if target - x in seen:\n            return [seen[target - x], i]\n        seen[x] = i",
                      outputs=[new_output("stream", name="stdout", text="输出里的文字不应被索引\n")]),
        new_markdown_cell("## 二分查找的边界怎么处理？\n左闭右开区间时循环条件是 left < right，"
                          "中点偏左，找到第一个不小于目标的位置。"),
        new_code_cell("def lower_bound(xs, t):\n    lo, hi = 0, len(xs)\n    while lo < hi:\n"
                      "        mid = (lo + hi) // 2\n        if xs[mid] < t:\n            lo = mid + 1\n"
                      "        else:\n            hi = mid\n    return lo"),
    ]
    notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                  "display_name": "Python 3"}})
    path.write_text(nbformat.writes(notebook), encoding="utf-8")
    return path


def bomb_pdf(unpacked: int) -> bytes:
    """A one-page PDF whose content stream is a few words and `unpacked` blanks, deflated (a kilobyte per MB)."""
    import zlib
    stream = zlib.compress(b"BT /F1 12 Tf 72 712 Td (bomb) Tj ET\n" + b" " * unpacked, 9)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


# --- other readers, for checking and comparing (iqa itself reads PDFs with PDFium: ingest/formats/pdf.py) ---

def pdfplumber_pages(path: Path) -> list[list[str]]:
    """Each page's text lines as pdfplumber (pdfminer.six) reads them."""
    import pdfplumber
    with pdfplumber.open(path) as pdf:
        return [[line["text"] for line in page.extract_text_lines()] for page in pdf.pages]


def pdfplumber_text(path: Path) -> tuple[str, int]:
    import pdfplumber
    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages), len(pdf.pages)


def pdfminer_text(path: Path) -> tuple[str, int]:
    from pdfminer.high_level import extract_text
    text = extract_text(path)
    return text, text.count("\f")


def pdfium_text(path: Path) -> tuple[str, int]:
    from ingest.formats.pdf import pdfium
    doc = pdfium.PdfDocument(path)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))), len(doc)
    finally:
        doc.close()
