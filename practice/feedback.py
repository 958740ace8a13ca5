"""The feedback paragraph after a graded answer.

With a local model: a few sentences from it that cite the note as [1], then the missed points quoted.
Without one (--no-llm, or no model available): the missed points quoted, each with `source:line`.
Either way, when the same file holds a neighbouring question, it is named as a likely follow-up.
"""
from __future__ import annotations

from practice.grade import Grade
from practice.questions import Question
from rag import text as textlib
from rag.backends.base import Request

NOTE_CHARS = 700            # the note answer and the candidate's answer are cut to fit a 2k-token context
ANSWER_CHARS = 600
MAX_TOKENS = 200
WORDS = {
    "zh": {"missed": "没有答到的要点（引自笔记）：", "none": "笔记里的要点都答到了。",
           "follow": "面试官可能会追问："},
    "en": {"missed": "Points of the note the answer missed:", "none": "The answer covers every point of the note.",
           "follow": "A likely follow-up question:"},
}
SYSTEM = {
    "zh": "你是技术面试官。评分已经由程序对照笔记完成，不要重新判断对错，也不要说“没有遗漏”。"
          "用两三句话给候选人反馈：先说他答到了哪些要点（一个都没答到就直说），再逐条解释没有答到的要点，"
          "引用笔记时写 [1]。只依据笔记 [1]，不要编造笔记以外的内容。",
    "en": "You are a technical interviewer. The answer was already graded against the note: do not judge it again "
          "and never say nothing is missing. In two or three sentences, say which points the candidate made (or that "
          "none was made), then explain each missed point, citing the note as [1]. Use only note [1], invent nothing.",
}


def _lang(question: Question) -> str:
    return textlib.language(question.question + question.answer[:200])


def missed_points(question: Question, grade: Grade) -> str:
    """The missed points quoted with their citations: "- 「…」 (detection.md:8)"."""
    words = WORDS[_lang(question)]
    if not grade.missed:
        return words["none"]
    lines = [f"- 「{r.point.text}」 ({r.point.citation})" for r in grade.missed]
    return "\n".join([words["missed"], *lines])


def follow_up(question: Question, neighbour: Question | None) -> str:
    if neighbour is None:
        return ""
    return f"{WORDS[_lang(question)]['follow']}{neighbour.question} ({neighbour.source}:{neighbour.line_start})"


def model_paragraph(model, question: Question, answer: str, grade: Grade) -> str:
    """The model's review citing the note as [1] ("" when the model says nothing)."""
    covered = "\n".join(f"- {r.point.text}" for r in grade.covered) or "（无）"
    missed = "\n".join(f"- {r.point.text}" for r in grade.missed) or "（无）"
    user = (f"候选人的回答：\n{answer[:ANSWER_CHARS]}\n\n题目：{question.question}\n\n"
            f"笔记 [1]（{question.location}）：\n{question.answer[:NOTE_CHARS]}\n\n评分：{grade.score}/100。\n"
            f"已答到的要点：\n{covered}\n没有答到的要点：\n{missed}\n\n请写给候选人的反馈（两三句话，引用笔记写 [1]）：")
    messages = [{"role": "system", "content": SYSTEM[_lang(question)]}, {"role": "user", "content": user}]
    text = "".join(model.stream(Request(question=question.question, passages=[], messages=messages,
                                        max_tokens=MAX_TOKENS, temperature=0.1))).strip()
    return f"{text}\n[1] {question.title} — {question.location}" if text else ""


def feedback(question: Question, answer: str, grade: Grade, model=None, neighbour: Question | None = None) -> str:
    """The paragraph shown after a grade: the model's review (if a model is given), missed points, follow-up."""
    parts = [model_paragraph(model, question, answer, grade) if model is not None else "",
             missed_points(question, grade), follow_up(question, neighbour)]
    return "\n\n".join(p for p in parts if p)
