"""What is shown is final (rag/settle.py): the stream shows checked sentences, never a draft."""
from rag.settle import Settler


def _feed(settler, text, size=3):
    return "".join(settler.feed(text[i:i + size]) for i in range(0, len(text), size))


def test_a_sentence_is_shown_once_the_next_one_is_finished_and_through_the_checks():
    settler = Settler(lambda raw: raw.replace("[9]", ""))
    shown = _feed(settler, "A 是 B [9]。C 是 D。E 是")
    assert shown == "A 是 B 。"                      # the finished second sentence is still held back
    rest, extends = settler.close("A 是 B 。C 是 D。")
    assert extends and shown + rest == "A 是 B 。C 是 D。"


def test_a_decline_sentence_is_held_as_an_answer_may_follow_it():
    settler = Settler(lambda raw: raw)
    assert _feed(settler, "笔记中没有相关内容。A 是 B。C 是 D。") == ""
    rest, extends = settler.close("A 是 B。C 是 D。")            # the checks drop the decline after an answer
    assert extends and rest == "A 是 B。C 是 D。"


def test_text_the_checks_would_rewrite_is_not_shown_and_the_final_text_says_so():
    drafts = iter(["A。", "X。"])
    settler = Settler(lambda raw: next(drafts))
    assert _feed(settler, "A。B。C。D。", size=2) == "A。"
    rest, extends = settler.close("Y。")
    assert not extends and rest == "Y。"


def test_nothing_inside_an_open_code_block_is_shown():
    settler = Settler(lambda raw: raw)
    assert _feed(settler, "A 是 B。\n```python\nx = 1\ny = 2\n") == "A 是 B。\n"


def test_a_semicolon_clause_is_shown_with_its_sentence_not_alone():
    settler = Settler(lambda raw: raw)
    shown = _feed(settler, "训练用批次均值 [1]；推理用滑动均值 [1]；推理不依赖批次 [1]。第二句。")
    assert shown == ""              # one sentence of three clauses, then one more: both still held back
    shown = _feed(settler, "第三句。")
    assert shown == "训练用批次均值 [1]；推理用滑动均值 [1]；推理不依赖批次 [1]。"
