"""Traditional Chinese notes: BM25 meets simplified and traditional text on simplified tokens (OpenCC t2s),
while chunks and hits keep the note's own characters; an index tokenised by another rule is rebuilt."""
import json
import shutil

import pytest

from ingest.build import ingest
from ingest.document import parse_text
from rag import store as storelib
from rag import text as textlib
from rag.lexical import Lexical, chunk_tokens
from tests.conftest import FakeEmbedder

TRADITIONAL = ("## 過擬合怎麼處理？\n\n過擬合時模型在訓練集上表現很好，在測試集上變差。"
               "常用的辦法有正則化、資料增強和提前停止。\n")
SIMPLIFIED = "## 梯度消失是什么？\n\n反向传播时梯度逐层变小，浅层的参数几乎不更新。\n"
OTHERS = ("## 注意力机制怎么计算？\n\n用查询和键的相似度给值加权求和。\n"
          "## 卷积层的参数量怎么算？\n\n卷积核大小乘输入通道数再乘输出通道数。\n"
          "## 模型训练时学习率怎么选？\n\n先用较大的学习率，再逐步衰减。\n")


@pytest.fixture
def chunks():
    return (parse_text("繁體.md", TRADITIONAL).chunks + parse_text("simplified.md", SIMPLIFIED).chunks
            + parse_text("others.md", OTHERS).chunks)


@pytest.mark.parametrize("query, source", [
    ("过拟合怎么缓解", "繁體.md"),              # simplified question, traditional note
    ("正则化和数据增强", "繁體.md"),
    ("梯度消失是什麼？", "simplified.md"),       # traditional question, simplified note
    ("淺層參數為什麼不更新", "simplified.md"),
])
def test_a_question_in_either_script_finds_the_note_in_the_other(chunks, query, source):
    lexical = Lexical.build([chunk_tokens(c) for c in chunks])
    (row, score), *_ = lexical.search(query, 3)
    assert chunks[row].source == source and score > 0


def test_chunks_quote_the_note_as_written(chunks):
    trad = [c for c in chunks if c.source == "繁體.md"]
    assert [c.heading for c in trad] == [["繁體", "過擬合怎麼處理？"]]
    assert trad[0].text.startswith("過擬合時模型在訓練集上表現很好") and "资料" not in trad[0].text


def test_tokens_are_the_same_in_both_scripts_and_conversion_leaves_other_text_alone():
    assert textlib.tokenize("特徵金字塔網絡怎麼融合多尺度特徵") == textlib.tokenize("特征金字塔网络怎么融合多尺度特征")
    assert textlib.to_simplified("過擬合") == "过拟合"
    assert textlib.to_simplified("ROIAlign vs ROIPool") == "ROIAlign vs ROIPool"


def _manifest(index):
    return storelib.current_folder(index) / "manifest.json"


@pytest.mark.parametrize("change", [
    lambda versions: versions.update(script="opencc 1.0 s2t"),
    lambda versions: versions.pop("script"),                 # saved before the rule existed
], ids=["other-rule", "no-rule"])
def test_an_index_tokenised_by_another_script_rule_is_rebuilt_in_memory(tmp_path, change):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "繁體.md").write_text(TRADITIONAL, encoding="utf-8")
    (notes / "others.md").write_text(OTHERS, encoding="utf-8")
    index = tmp_path / "index"
    ingest([notes], index, FakeEmbedder(), log=lambda m: None)
    data = json.loads(_manifest(index).read_text(encoding="utf-8"))
    assert data["versions"]["script"] == textlib.SCRIPT_RULE and textlib.SCRIPT_RULE.endswith(" t2s")
    change(data["versions"])
    _manifest(index).write_text(json.dumps(data), encoding="utf-8")
    shutil.rmtree(storelib.current_folder(index) / "bm25")          # the saved BM25 must not be read
    messages = []
    store = storelib.load(index, log=messages.append)
    assert store.lexical_rebuilt and len(messages) == 1 and "rebuilt in memory" in messages[0]
    (row, _), *_ = store.lexical.search("过拟合怎么缓解", 3)
    assert store.chunks[row].source == "繁體.md"
