"""`iqa eval QUESTIONS --answers N`: ask the model, score every answer, write JSON lines and a report.

    rows = [score(engine, q) for q in questions]; summary(rows) -> {"relevant_citation": 0.9, ...}
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from eval.answers import defects
from eval.questions import Question

DEFECTS = ("decline_appended", "cut_mid_sentence", "repeated_sentence", "bare_marker", "wrong_language",
           "declined_covered")
TIMINGS = ("first_token_ms", "tokens_per_s", "prompt_tokens", "total_ms")


def score(engine, question: Question) -> dict:
    """Ask one question and score the answer (eval/answers.py; sentence support is the answer's own)."""
    answer = engine.ask(question.question)
    verdicts = [s.supported for s in answer.sentences if s.supported is not None]
    return {"id": question.id, "question": question.question, "mode": answer.mode, "answer": answer.text,
            "citations": [{"n": c.n, "location": c.chunk.location, "relevant": question.is_relevant(c.chunk.text)}
                          for c in answer.citations],
            "relevant_citation": any(question.is_relevant(c.chunk.text) for c in answer.citations),
            "sentences": len(verdicts), "supported": sum(verdicts),
            "defects": defects(answer.text, question.question, answer.mode),
            **{t: answer.timings.get(t, 0) for t in TIMINGS}}


def summary(rows: list[dict]) -> dict:
    n = len(rows) or 1
    sentences = sum(r["sentences"] for r in rows)
    out = {"n": len(rows), "relevant_citation": round(sum(r["relevant_citation"] for r in rows) / n, 3),
           "supported_sentences": round(sum(r["supported"] for r in rows) / max(1, sentences), 3)}
    out.update({d: sum(r["defects"][d] for r in rows) for d in DEFECTS})
    out.update({f"median_{t}": statistics.median([r[t] for r in rows if r["mode"] == "llm"] or [0]) for t in TIMINGS})
    return out


def badness(row: dict) -> tuple:
    return (row["relevant_citation"], row["supported"] / max(1, row["sentences"]), -sum(row["defects"].values()))


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
        parts.append(f"### {row['id']}: {row['question']}\n\n{row['answer']}\n\nrelevant citation: "
                     f"{row['relevant_citation']}; supported {row['supported']}/{row['sentences']}; defects: {flags}\n")
    (folder / "answers.md").write_text("\n".join(parts), encoding="utf-8")
    return folder / "answers.md"
