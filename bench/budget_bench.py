"""How the prompt's passage budget trades against the first token and the key points held.

The same dev questions with key points are answered at each budget (`context_tokens`), one engine and
one model for all, the model's cache reset before each answer; key points are counted in the prompt
and in the answer (eval/keypoints.py).

    python bench/budget_bench.py --index /tmp/iqa-bench-index --budgets 120,220,320,480 --n 20
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from answer_bench import scored
from common import dev_keypoints, dev_questions, machine, median, save

from eval.questions import Question, with_keypoints
from rag.compose import text_judge
from rag.config import load_settings
from rag.engine import Engine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--budgets", default="120,220,320,480", help="passage budgets in tokens, comma-separated")
    ap.add_argument("--n", type=int, default=20, help="the first N dev questions with key points")
    args = ap.parse_args()
    engine = Engine(load_settings(index_dir=args.index), log=lambda m: None)
    model, why = engine.models.answer_model()
    assert model is not None, why
    judge = text_judge(engine.live.scope, engine.embed_query)
    points = dev_keypoints()
    questions = with_keypoints([Question(q["id"], q["question"], q.get("source", ""), q["anchors"])
                                for q in dev_questions() if q["id"] in points][: args.n], points)
    table = {}
    for budget in [int(b) for b in args.budgets.split(",")]:
        engine.settings = replace(engine.settings, context_tokens=budget)
        rows = []
        for q in questions:
            model.llama.reset()
            answer = engine.ask(q.question)
            rows.append(scored(q, answer.to_dict(), judge, [h.chunk.text for h in answer.retrieved], answer.prompt))
            print(f"budget {budget}: {len(rows)}/{len(questions)} {q.id}", file=sys.stderr, flush=True)
        llm = [r for r in rows if r["mode"] == "llm"]
        table[budget] = {"median_prompt_tokens": median([r["prompt_tokens"] for r in llm]),
                         "median_first_token_s": round(median([r["first_token_ms"] for r in llm]) / 1000, 2),
                         "median_total_s": round(median([r["total_ms"] for r in llm]) / 1000, 2),
                         "prompt_recall": round(sum(r["prompt_recall"] or 0 for r in rows) / len(rows), 3),
                         "answer_recall": round(sum(r["keypoint_recall"] for r in rows) / len(rows), 3),
                         "right_answers": round(sum(r["right"] for r in rows) / len(rows), 3)}
        save("budget", {"machine": machine(), "table": table})
    print(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
