"""Answer generation over dev questions: time to first token, tokens/s, grounded citations,
and the same prompt sent to llama.cpp directly, so iqa's overhead shows as a ratio.

    python bench/generation_bench.py --index /tmp/iqa-bench-index --n 15
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import dev_questions, machine, median, save

from eval.questions import Question
from rag import prompt as promptlib
from rag.engine import Engine
from rag.config import load_settings


def raw_llama(llm, messages, max_tokens) -> tuple[float, float, int]:
    """(first token s, tokens/s, tokens) for the prompt sent straight to llama-cpp-python."""
    llm.llama.reset()
    t0, first, n = time.perf_counter(), None, 0
    for chunk in llm.llama.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.1,
                                                  top_p=0.9, repeat_penalty=1.1, stream=True):
        if chunk["choices"][0]["delta"].get("content"):
            first = first or time.perf_counter()
            n += 1
    end = time.perf_counter()
    return (first or end) - t0, (n - 1) / max(end - (first or end), 1e-9), n


def bench_model(model: str, index: Path, questions: list[dict]) -> dict:
    engine = Engine(load_settings(index_dir=index, llm_model=model), log=lambda m: None)
    llm = engine.llm()
    rows = []
    for q in questions:
        label = Question(q["id"], q["question"], q["source"], q["anchors"])
        llm.llama.reset()                           # no prompt cache between questions
        answer = engine.ask(q["question"])
        hits = engine.search(q["question"])
        passages = promptlib.select_passages(hits, engine.settings.context_tokens)
        messages = promptlib.build_messages(q["question"], passages)
        prompt_tokens = llm.count_tokens("".join(m["content"] for m in messages))
        raw_first, raw_tps, _ = raw_llama(llm, messages, engine.settings.max_tokens)
        rows.append({"id": q["id"], "mode": answer.mode, "first_token_s": answer.timings["first_token_ms"] / 1000,
                     "tokens_per_s": answer.timings["tokens_per_s"], "prompt_tokens": prompt_tokens,
                     "raw_first_token_s": raw_first, "raw_tokens_per_s": raw_tps,
                     "model_markers": answer.markers.valid, "attributed": answer.markers.attributed,
                     "cited": bool(answer.citations),
                     "cited_relevant": any(label.is_relevant(c.chunk.text) for c in answer.citations)})
    llm_rows = [r for r in rows if r["mode"] == "llm"]
    summary = {
        "model": model, "n": len(rows), "answered_by_llm": len(llm_rows),
        "median_first_token_s": median([r["first_token_s"] for r in llm_rows]),
        "median_tokens_per_s": median([r["tokens_per_s"] for r in llm_rows]),
        "median_prompt_tokens": median([r["prompt_tokens"] for r in llm_rows]),
        "raw_median_first_token_s": median([r["raw_first_token_s"] for r in llm_rows]),
        "raw_median_tokens_per_s": median([r["raw_tokens_per_s"] for r in llm_rows]),
        "share_with_valid_citation": sum(r["cited"] for r in rows) / len(rows),
        "share_citing_relevant": sum(r["cited_relevant"] for r in rows) / len(rows),
        "share_model_cited_itself": sum(r["model_markers"] > 0 for r in llm_rows) / max(len(llm_rows), 1),
    }
    summary["first_token_ratio_iqa_vs_raw"] = summary["median_first_token_s"] / summary["raw_median_first_token_s"]
    summary["tokens_per_s_ratio_iqa_vs_raw"] = summary["median_tokens_per_s"] / summary["raw_median_tokens_per_s"]
    return {"summary": summary, "rows": rows}


def budget_sweep(index: Path, questions: list[dict], budgets: list[int]) -> list[dict]:
    """Time to first token against the passage budget, default model."""
    out = []
    for budget in budgets:
        engine = Engine(load_settings(index_dir=index, context_tokens=budget, max_tokens=8), log=lambda m: None)
        llm = engine.llm()
        firsts = []
        for q in questions:
            llm.llama.reset()
            firsts.append(engine.ask(q["question"]).timings["first_token_ms"] / 1000)
        out.append({"context_tokens": budget, "median_first_token_s": median(firsts)})
        print(f"  passage budget {budget:>4} tokens: median first token {median(firsts):.2f}s")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path(tempfile.gettempdir()) / "iqa-bench-index")
    ap.add_argument("--n", type=int, default=15, help="questions per model (evenly spread over the dev set)")
    ap.add_argument("--models", default="qwen2.5-coder-1.5b,qwen2.5-coder-0.5b")
    ap.add_argument("--budgets", default="250,500,750,1000")
    args = ap.parse_args()
    all_q = dev_questions()
    questions = all_q[:: max(1, len(all_q) // args.n)][: args.n]
    result = {"machine": machine(), "models": {}}
    for model in args.models.split(","):
        res = bench_model(model, args.index, questions)
        s = res["summary"]
        result["models"][model] = res
        print(f"{model}: {s['n']} questions, {s['answered_by_llm']} by the model; median first token "
              f"{s['median_first_token_s']:.2f}s (raw llama.cpp {s['raw_median_first_token_s']:.2f}s, ratio "
              f"{s['first_token_ratio_iqa_vs_raw']:.2f}); {s['median_tokens_per_s']:.1f} tok/s (raw "
              f"{s['raw_median_tokens_per_s']:.1f}, ratio {s['tokens_per_s_ratio_iqa_vs_raw']:.2f}); prompt "
              f"{s['median_prompt_tokens']:.0f} tokens; answers with a valid citation {s['share_with_valid_citation']:.0%}, "
              f"citing a relevant passage {s['share_citing_relevant']:.0%}; model wrote its own markers in "
              f"{s['share_model_cited_itself']:.0%}")
    print("time to first token against the passage budget (qwen2.5-coder-1.5b, 5 questions):")
    result["budget_sweep"] = budget_sweep(args.index, questions[:5], [int(b) for b in args.budgets.split(",")])
    save("generation", result)


if __name__ == "__main__":
    main()
