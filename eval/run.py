"""`iqa eval`: score retrievers on labelled questions; print a table, write runs, JSON and a report."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from eval.metrics import aggregate, first_relevant_rank
from collections import Counter

from eval import misses
from eval.questions import Question, load_keypoints, load_questions, unanchored, with_keypoints
from rag.errors import InputError
from rag.text import is_english, squash

TOP = 10


def evaluate(search, questions: list[Question], corpus_texts: list[str], name: str, ks: list[int]) -> dict:
    """search(question, k) -> [(source, start, end, heading, text, score)]; returns metrics + per question."""
    squashed = [squash(t) for t in corpus_texts]
    per_question = []
    for q in questions:
        hits = search(q.question, TOP)
        relevance = [q.is_relevant(h["text"]) for h in hits]
        n_relevant = sum(1 for t in squashed if any(a in t for a in q.squashed_anchors))
        per_question.append({"id": q.id, "question": q.question, "kind": q.kind, "retriever": name,
                             "relevance": relevance, "n_relevant": n_relevant, "hits": hits,
                             "first_relevant": first_relevant_rank(relevance)})
    return {"metrics": aggregate(per_question, ks), "per_question": per_question}


def engine_search(engine, retriever: str):
    def search(question: str, k: int):
        return [h.to_dict() for h in engine.search(question, k, retriever)]
    return search


def baseline_search(baseline, retriever: str):
    def search(question: str, k: int):
        return [{"rank": r, "score": round(s, 6), "source": baseline.passages[i][0], "start": None, "end": None,
                 "heading": "", "text": baseline.texts[i]}
                for r, (i, s) in enumerate(baseline.search(question, k, retriever), start=1)]
    return search


def answer_check(engine, questions: list[Question]) -> tuple[dict, list[dict]]:
    """Ask the model each question and score its answer (eval/answers.py); (summary, rows)."""
    from eval.answer_run import score, summary
    rows = []
    for i, q in enumerate(questions, start=1):
        rows.append(score(engine, q))
        print(f"  answered {i}/{len(questions)}: {q.id}", file=sys.stderr, flush=True)
    return {**summary(rows), "model": engine.model_name}, rows


def table(results: dict, ks: list[int]) -> str:
    cols = [f"recall@{k}" for k in ks] + ["mrr@10", "ndcg@10"]
    lines = [f"{'retriever':<18}" + "".join(f"{c:>11}" for c in cols) + f"{'n':>5}"]
    for name, res in results.items():
        m = res["metrics"]
        lines.append(f"{name:<18}" + "".join(f"{m[c]:>11.3f}" for c in cols) + f"{m['n']:>5}")
    return "\n".join(lines)


def by_kind(result: dict, k: int = 5) -> dict[str, float]:
    """Recall@k split by question language: English-only questions vs the rest."""
    groups: dict[str, list[bool]] = {}
    for q in result["per_question"]:
        group = "english" if is_english(q["question"]) else "chinese/mixed"
        groups.setdefault(group, []).append(any(q["relevance"][:k]))
    return {g: round(sum(v) / len(v), 3) for g, v in groups.items()}


def parse_ks(text: str) -> list[int]:
    """--k "1,3,5,10" -> [1, 3, 5, 10]; anything but positive whole numbers is an InputError."""
    parts = [x.strip() for x in str(text).split(",") if x.strip()]
    if not parts or not all(x.isdecimal() and x.isascii() and int(x) > 0 for x in parts):
        raise InputError(f"--k takes positive whole numbers separated by commas, like 1,3,5,10, not {text!r}.")
    return sorted({int(x) for x in parts})


def check_outputs(args) -> None:
    """Every output path usable, checked before any question is asked (a bad path used to fail only
    after minutes of work). --report is a folder: created if missing, report.md written into it."""
    files = {flag: Path(path) for flag, path in (("--runs", args.runs), ("--json", args.json_out)) if path}
    if len(files) == 2 and _same(*files.values()):
        raise InputError("--runs and --json name the same file; pass two different paths.")
    for flag, path in files.items():
        if _same(path, args.questions):
            raise InputError(f"{flag} {path} is the question file itself; pass another path for the output.")
        if path.is_dir():
            raise InputError(f"{flag} {path} is a folder; pass a file path such as {path / 'out.json'}.")
        if not path.parent.is_dir():
            raise InputError(f"{flag} {path}: the folder {path.parent} does not exist; create it or pass another path.")
        _probe(flag, path)
    if args.report:
        _check_report(Path(args.report))


def _check_report(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--report {folder} is a file; pass a folder (report.md and the plot are written into it).")
    parent = next(p for p in [folder, *folder.absolute().parents] if p.exists())
    if not parent.is_dir():
        raise InputError(f"--report {folder}: {parent} is a file, so the folder cannot be made; pass another folder.")
    _probe("--report", parent / f".iqa-write-test-{os.getpid()}")


def _probe(flag: str, path: Path) -> None:
    """Open path for appending (nothing is truncated) and remove it again if it did not exist."""
    existed = path.exists()
    try:
        with open(path, "a", encoding="utf-8"):
            pass
        if not existed:
            path.unlink()
    except OSError as e:
        raise InputError(f"{flag} {path} cannot be written ({e.strerror or e}); pass a writable path.") from e


def _same(a: Path, b: Path) -> bool:
    return Path(a).absolute().resolve() == Path(b).absolute().resolve()


def run_cli(args, settings, make_engine) -> int:
    t0 = time.perf_counter()
    ks = parse_ks(args.k)
    if getattr(args, "answers", 0) < 0:
        raise InputError(f"--answers takes how many questions to ask the model (0 or more), not {args.answers}.")
    questions = load_questions(args.questions)
    if getattr(args, "keypoints", None):
        questions = with_keypoints(questions, load_keypoints(args.keypoints))
    check_outputs(args)
    engine = make_engine(settings)
    texts = [c.text for c in engine.store.chunks]
    missing = unanchored(questions, texts)
    for q in missing:
        print(f"warning: line {q.line} ({q.id}): no anchor occurs in the indexed passages; it can only miss")
    retrievers = ["hybrid", "dense", "bm25"] if args.retriever == "all" else [args.retriever]
    results = {r: evaluate(engine_search(engine, r), questions, texts, r, ks) for r in retrievers}
    if args.baseline:
        from eval.baseline import Baseline
        base = Baseline(Path(engine.store.manifest.root), engine.embedder(), settings.home / "cache")
        for r in ("bm25", "dense"):
            results[f"baseline-{r}"] = evaluate(baseline_search(base, r), questions, base.texts, f"baseline-{r}", ks)
    print(table(results, ks))
    for name, res in results.items():
        split = by_kind(res)
        print(f"{name}: Recall@5 by question language: " + ", ".join(f"{g} {v:.3f}" for g, v in split.items()))
    for name in retrievers:     # what ranked first instead, and how it relates to the answering section
        res = results[name]
        res["miss_relations"] = dict(misses.explain(res["per_question"], questions, engine.store.chunks))
        print(misses.summary_line(name, Counter(res["miss_relations"])))
    answers, rows = answer_check(engine, questions[: args.answers]) if getattr(args, "answers", 0) else (None, [])
    if answers:
        from eval.answer_run import table as answer_table
        print(f"answers ({answers['model']}):\n" + answer_table(answers))
    write_outputs(args, results, ks, answers)
    if rows and args.report:
        from eval.answer_run import write
        print(f"answer report: {write(Path(args.report), rows, answers['model'])}")
    print(f"{len(questions)} questions, {time.perf_counter() - t0:.1f}s")
    return 0


def write_outputs(args, results: dict, ks: list[int], answers: dict | None) -> None:
    try:
        _write_outputs(args, results, ks, answers)
    except OSError as e:        # checked before the run; the disk can still fill up or vanish since
        raise InputError(f"Cannot write the results to {e.filename or 'disk'} ({e.strerror or e}); "
                         f"free space or pass other output paths.") from e


def _write_outputs(args, results: dict, ks: list[int], answers: dict | None) -> None:
    if args.runs:
        with open(args.runs, "w", encoding="utf-8") as f:
            for res in results.values():
                for q in res["per_question"]:
                    f.write(json.dumps({"id": q["id"], "question": q["question"], "retriever": q["retriever"],
                                        "hits": q["hits"]}, ensure_ascii=False) + "\n")
    if args.json_out:
        metrics = {n: {**r["metrics"], **({"first_place_misses": r["miss_relations"]} if "miss_relations" in r else {})}
                   for n, r in results.items()}
        if answers:
            metrics["answers"] = answers
        Path(args.json_out).write_text(json.dumps(metrics, indent=1))
    if args.report:
        from eval.report import write_report
        path = write_report(Path(args.report), results, ks, by_kind, answers)
        print(f"report: {path}")
