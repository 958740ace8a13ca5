"""`iqa eval QUESTIONS --answers N`: ask the model, score every answer, write JSON lines and a report.

    rows = [score(engine, q) for q in questions]; summary(rows) -> {"relevant_citation": 0.9, ...}
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from eval.answers import defects, visible_defect
from eval.keypoints import verdict
from eval.questions import Question

DEFECTS = ("decline_appended", "cut_mid_sentence", "repeated_sentence", "bare_marker", "wrong_language",
           "declined_covered")
TIMINGS = ("first_token_ms", "tokens_per_s", "prompt_tokens", "total_ms")


def score(engine, question: Question) -> dict:
    """Ask one question and score the answer (eval/answers.py; sentence support is the answer's own)."""
    answer = engine.ask(question.question)
    verdicts = [s.supported for s in answer.sentences if s.supported is not None]
    row = {"id": question.id, "question": question.question, "mode": answer.mode, "answer": answer.text,
            "citations": [{"n": c.n, "location": c.chunk.location, "relevant": question.is_relevant(c.chunk.text)}
                          for c in answer.citations],
            "relevant_citation": any(question.is_relevant(c.chunk.text) for c in answer.citations),
            "sentences": len(verdicts), "supported": sum(verdicts),
            "defects": defects(answer.text, question.question, answer.mode),
            "chars": len(answer.text), **{t: answer.timings.get(t, 0) for t in TIMINGS}}
    return {**row, **keypoint_places(question, answer.text, row, [h.chunk.text for h in answer.retrieved],
                                     answer.prompt)}


def keypoint_places(question: Question, text: str, row: dict, passages: list[str], prompt: str) -> dict:
    """Key-point recall in the retrieved passages, the prompt and the answer, and the answer's verdict
    (nothing when the question has no key points)."""
    points = question.keypoints
    if not points:
        return {}
    return {"keypoints": len(points.points), "passages_recall": round(points.recall("\n".join(passages)), 3),
            "prompt_recall": round(points.recall(prompt), 3) if prompt else None,
            "points_held": points.held(text),
            **verdict(points, text, row["relevant_citation"], visible_defect(row["defects"]))}


def summary(rows: list[dict]) -> dict:
    n = len(rows) or 1
    sentences = sum(r["sentences"] for r in rows)
    out = {"n": len(rows), "relevant_citation": round(sum(r["relevant_citation"] for r in rows) / n, 3),
           "supported_sentences": round(sum(r["supported"] for r in rows) / max(1, sentences), 3)}
    out.update({d: sum(r["defects"][d] for r in rows) for d in DEFECTS})
    out.update(keypoint_summary(rows))
    out["median_chars"] = statistics.median([r.get("chars", 0) for r in rows] or [0])
    out.update({f"median_{t}": statistics.median([r[t] for r in rows if r["mode"] == "llm"] or [0]) for t in TIMINGS})
    return out


def keypoint_summary(rows: list[dict]) -> dict:
    """Mean key-point recall at the three places, wrong-claim hits and the share of right answers,
    over the rows whose question has key points."""
    pointed = [r for r in rows if "keypoint_recall" in r]
    if not pointed:
        return {}
    def mean(key: str) -> float:
        return round(statistics.fmean([r[key] for r in pointed if r.get(key) is not None] or [0]), 3)
    return {"keypoint_questions": len(pointed), "passages_recall": mean("passages_recall"),
            "prompt_recall": mean("prompt_recall"), "answer_recall": mean("keypoint_recall"),
            "wrong_claims": sum(bool(r["wrong_claims"]) for r in pointed),
            "right_answers": round(sum(r["right"] for r in pointed) / len(pointed), 3)}


def badness(row: dict) -> tuple:
    """Wrong answers first, then the fewest key points, then citations, support and defects."""
    return (row.get("right", True), row.get("keypoint_recall", 1), row["relevant_citation"],
            row["supported"] / max(1, row["sentences"]), -sum(row["defects"].values()))


def table(s: dict) -> str:
    lines = ["| measure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in s.items()]
    return "\n".join(lines)


def write(folder: Path, rows: list[dict], model: str, worst: int = 5) -> Path:
    """answers.jsonl (every answer with its scores) and answers.md (the table and the worst answers)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "answers.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    parts = [f"# Answer quality ({model}, {len(rows)} questions)\n", table(summary(rows)), "\n## Worst answers\n"]
    for row in sorted(rows, key=badness)[:worst]:
        flags = ", ".join(d for d, bad in row["defects"].items() if bad) or "none"
        points = (f"; key points {sum(row['points_held'])}/{row['keypoints']}, right: {row['right']}"
                  if "keypoints" in row else "")
        parts.append(f"### {row['id']}: {row['question']}\n\n{row['answer']}\n\nrelevant citation: "
                     f"{row['relevant_citation']}; supported {row['supported']}/{row['sentences']}; defects: {flags}"
                     f"{points}\n")
    (folder / "answers.md").write_text("\n".join(parts), encoding="utf-8")
    return folder / "answers.md"
