"""Answer quality and speed, this checkout against another one (e.g. the previous main), in one run.

Each dev question is answered by this code in process and by the other checkout's `iqa ask --json`
in a subprocess; both answers are scored by the same measures (eval/answers.py, rag/grounding.py),
and this code's prompt is also sent straight to llama.cpp so iqa's overhead shows as a ratio.

    git worktree add /tmp/old <commit>
    python bench/answer_bench.py --index /tmp/iqa-bench-index --old /tmp/old --old-index /tmp/old-index --n 30
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from common import dev_keypoints, dev_questions, machine, median, save

from eval.answer_run import keypoint_places, keypoint_summary
from eval.answers import defects
from eval.keypoints import parse as parse_keypoints
from eval.questions import Question, load_keypoints, with_keypoints
from rag.backends.base import LLMBackend
from rag.compose import text_judge
from rag.config import load_settings
from rag.engine import Engine
from rag.grounding import support
from rag.text import has_cjk


class Recording(LLMBackend):
    """The answer model, keeping the last request so the same prompt can go to llama.cpp directly."""

    def __init__(self, model):
        self.model, self.name, self.n_ctx, self.last = model, model.name, model.n_ctx, None

    def stream(self, request):
        self.last = request
        return self.model.stream(request)

    def complete(self, messages, max_tokens=48):
        return self.model.complete(messages, max_tokens)

    def count_tokens(self, text):
        return self.model.count_tokens(text)


def raw_first_token(llama, messages, max_tokens) -> float:
    """Seconds to the first token for the messages sent straight to llama-cpp-python, no cache."""
    llama.reset()
    t0 = time.perf_counter()
    for chunk in llama.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.1,
                                              top_p=0.9, repeat_penalty=1.1, stream=True):
        if chunk["choices"][0]["delta"].get("content"):
            return time.perf_counter() - t0
    return time.perf_counter() - t0


def scored(q: Question, data: dict, judge, retrieved: list[str] | None = None, prompt: str = "") -> dict:
    """The same measures for an answer from either checkout (its JSON form). The key points are
    checked in the answer, and, for this checkout, in what was retrieved and what the prompt showed
    (the other checkout's answer tells only the passages it was composed from)."""
    passages = {c["n"]: c["text"] for c in data["citations"]}
    sentences = support(data["answer"], passages, judge)
    verdicts = [s.supported for s in sentences if s.supported is not None]
    # sentences with Chinese are judged by their words; the others by the vectors (a weaker test)
    worded = [s.supported for s in sentences if s.supported is not None and has_cjk(data["answer"][s.start:s.end])]
    marked = data["answer"]
    for s in sorted(sentences, key=lambda s: -s.end):
        marked = marked[:s.end] + ("†" if s.supported is False else "") + marked[s.end:]
    row = {"id": q.id, "question": q.question, "mode": data["mode"], "answer": marked,
            "relevant_citation": any(q.is_relevant(c["text"]) for c in data["citations"]),
            "sentences": len(verdicts), "supported": sum(verdicts),
            "sentences_by_words": len(worded), "supported_by_words": sum(worded),
            "defects": defects(data["answer"], q.question, data["mode"]),
            # not a defect of the text shown, but the model stopped mid-sentence and iqa trimmed or marked it
            "unfinished_notice": "last sentence unfinished" in (data.get("notice") or ""),
            "first_token_ms": data["timings"]["first_token_ms"], "total_ms": data["timings"]["total_ms"],
            "prompt_tokens": data["timings"].get("prompt_tokens", 0),
            # what the answer was written from, so a sentence's verdict can be checked by reading
            "shown": {i: h["text"] for i, h in enumerate(data.get("hits", []), start=1)} if data["mode"] == "llm" else {},
            "chars": len(data["answer"]), "repairs": data.get("repairs")}
    passages = retrieved if retrieved is not None else [h["text"] for h in data.get("hits", [])]
    return {**row, **keypoint_places(q, data["answer"], row, passages, prompt)}


# Runs inside the other checkout: one engine answers question after question (a JSON line each way).
OTHER = """
import json, sys
from rag.config import load_settings
try:
    from rag.engine import Engine
except ImportError:                      # before the engine was split into stages
    from rag.answer import Engine
engine = Engine(load_settings(index_dir=sys.argv[1]), log=lambda m: None)
for line in sys.stdin:
    q = json.loads(line)
    print(json.dumps(engine.ask(q["question"], use_llm=q["use_llm"]).to_dict(), ensure_ascii=False), flush=True)
"""


class OtherCheckout:
    """The other checkout's engine in a subprocess (its own code on PYTHONPATH), asked one question at a time."""

    def __init__(self, root: str, index: str):
        env = dict(os.environ, PYTHONPATH=root)
        self.proc = subprocess.Popen([sys.executable, "-c", OTHER, index], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, cwd=root)

    def ask(self, question: str, use_llm: bool = True) -> dict:
        self.proc.stdin.write(json.dumps({"question": question, "use_llm": use_llm}, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())


def summary(rows: list[dict]) -> dict:
    llm = [r for r in rows if r["mode"] == "llm"]
    out = {"n": len(rows), "relevant_citation": round(sum(r["relevant_citation"] for r in rows) / len(rows), 3),
           "supported_sentences": round(sum(r["supported"] for r in rows) / max(1, sum(r["sentences"] for r in rows)), 3),
           "supported_judged_by_words": round(sum(r.get("supported_by_words", 0) for r in rows)
                                              / max(1, sum(r.get("sentences_by_words", 0) for r in rows)), 3)}
    for d in rows[0]["defects"]:
        out[d] = sum(r["defects"][d] for r in rows)
    out["unfinished_notice"] = sum(r.get("unfinished_notice", False) for r in rows)
    out["median_first_token_s"] = round(median([r["first_token_ms"] for r in llm]) / 1000, 2)
    out["median_total_s"] = round(median([r["total_ms"] for r in llm]) / 1000, 2)
    out["median_prompt_tokens"] = median([r["prompt_tokens"] for r in llm])
    out["median_chars"] = median([r["chars"] for r in rows])
    out.update(keypoint_summary(rows))
    if any(r.get("repairs") is not None for r in rows):    # the previous main does not name its repairs
        out["repairs_fired"] = repair_counts(rows)
    return out


def repair_counts(rows: list[dict]) -> dict:
    """How many answers each repair of rag/repairs.py changed (all of them listed, the ones that never fired too)."""
    from rag.repairs import REPAIRS
    return {r.__name__: sum(r.__name__ in (row.get("repairs") or []) for row in rows) for r in REPAIRS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True, help="index built by this checkout")
    ap.add_argument("--old", help="another checkout to compare with")
    ap.add_argument("--old-index", help="index built by that checkout")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--old-n", type=int, default=None, help="compare with the other checkout on the first N only")
    ap.add_argument("--questions", default="", help="a question file (JSON lines) instead of the dev questions")
    ap.add_argument("--keypoints", default="", help="key points by question id (default: the dev key points)")
    ap.add_argument("--no-llm", action="store_true", help="score the extractive answers (no model) instead")
    ap.add_argument("--out", default="answers", help="name of the result file in bench/out (default answers)")
    args = ap.parse_args()
    engine = Engine(load_settings(index_dir=args.index), log=lambda m: None)
    model, why = engine.models.answer_model()
    assert model is not None, why
    recorder = Recording(model)
    engine.models._loaded[engine.models._answer_key()] = recorder
    judge = text_judge(engine.live.scope, engine.embed_query)     # the engine's own rule, for both checkouts
    listed = [json.loads(line) for line in open(args.questions, encoding="utf-8") if line.strip()] if args.questions \
        else dev_questions()
    questions = [Question(q["id"], q["question"], q.get("source", ""), q.get("anchors", []),
                          keypoints=parse_keypoints(q)) for q in listed[: args.n]]
    questions = with_keypoints(questions, load_keypoints(args.keypoints) if args.keypoints else dev_keypoints())
    rows = {"now": [], "before": []}
    raw = []
    other = OtherCheckout(args.old, args.old_index) if args.old else None
    for i, q in enumerate(questions, start=1):
        model.llama.reset()
        answer = engine.ask(q.question, use_llm=not args.no_llm)
        rows["now"].append(scored(q, answer.to_dict(), judge, [h.chunk.text for h in answer.retrieved], answer.prompt))
        if answer.mode == "llm":
            raw.append((answer.timings["first_token_ms"] / 1000, raw_first_token(
                model.llama, recorder.last.messages, engine.settings.max_tokens)))
        if other and i <= (args.old_n or args.n):
            rows["before"].append(scored(q, other.ask(q.question, not args.no_llm), judge))
        print(f"{i}/{len(questions)} {q.id}", file=sys.stderr, flush=True)
        save(args.out, {"machine": machine(), "rows": rows, "raw_first_token_s": raw})   # kept if stopped early
    table = {k: summary(v) for k, v in rows.items() if v}
    if rows["before"] and len(rows["before"]) < len(rows["now"]):
        table["now, same questions as before"] = summary(rows["now"][: len(rows["before"])])
    if raw:
        table["now"]["raw_llama_median_first_token_s"] = round(median([r for _, r in raw]), 2)
        table["now"]["first_token_ratio_to_raw"] = round(median([a / r for a, r in raw]), 3)
    print(json.dumps(table, indent=1, ensure_ascii=False))
    save(args.out, {"machine": machine(), "summary": table, "rows": rows})


if __name__ == "__main__":
    main()
