"""Markdown report with a Recall@k plot (PNG) and the list of misses."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot(results: dict, ks: list[int], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, res in results.items():
        ax.plot(ks, [res["metrics"][f"recall@{k}"] for k in ks], marker="o", label=name)
    ax.set_xlabel("k")
    ax.set_ylabel("Recall@k")
    ax.set_ylim(0, 1)
    ax.set_xticks(ks)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(folder: Path, results: dict, ks: list[int], by_kind, answers: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    plot(results, ks, folder / "recall_at_k.png")
    cols = [f"recall@{k}" for k in ks] + ["mrr@10", "ndcg@10"]
    lines = ["# iqa retrieval evaluation", "", "| retriever | " + " | ".join(cols) + " | n |",
             "|---" * (len(cols) + 2) + "|"]
    for name, res in results.items():
        m = res["metrics"]
        lines.append(f"| {name} | " + " | ".join(f"{m[c]:.3f}" for c in cols) + f" | {m['n']} |")
    if answers:
        lines += ["", f"Answers ({answers['model']}, {answers['n']} questions): relevant citation "
                      f"{answers['relevant_citation']}, supported sentences {answers['supported_sentences']}; "
                      f"every answer with its scores: answers.md, answers.jsonl."]
    lines += ["", "![Recall@k](recall_at_k.png)", "", "## Recall@5 by question language", ""]
    lines += [f"- {name}: " + ", ".join(f"{g} {v:.3f}" for g, v in by_kind(res).items()) for name, res in results.items()]
    for name, res in results.items():
        explained = [q for q in res["per_question"] if "miss" in q]
        if explained:
            lines += ["", f"## First-place misses: {name} ({len(explained)}), by how the first hit relates to the "
                          "answering section", ""]
            lines += [f"- {kind}: {n}" for kind, n in sorted(res.get("miss_relations", {}).items(), key=lambda x: -x[1])]
            lines += [f"- **{q['id']}** {q['question']} — {q['miss']['relation']}: first {q['miss']['first'][:90]}; "
                      f"answering {q['miss']['right'][:90]}" for q in explained]
        misses = [q for q in res["per_question"] if not any(q["relevance"][:5])]
        lines += ["", f"## Misses at k=5: {name} ({len(misses)})", ""]
        for q in misses:
            rank = q["first_relevant"]
            lines.append(f"- **{q['id']}** {q['question']} — first relevant rank: {rank or 'none in top 10'}")
            lines += [f"  - {h['rank']}. {h['source']} · {h['heading'][:80]} · {h['text'][:80].strip()!r}"
                      for h in q["hits"][:3]]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
