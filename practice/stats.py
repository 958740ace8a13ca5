"""Progress by topic (cards, due now, reviewed, average score) and a PNG of scores over time.

    rows = topic_rows(store.cards(), store.history(), now)
    print(table(rows)); plot(store.history(), Path("scores.png"))
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from rag.errors import InputError

CJK_FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "Source Han Sans SC", "SimHei")


@dataclass
class TopicRow:
    topic: str
    cards: int          # live cards (sections still in the notes)
    due: int            # reviewed before and due by now
    new: int            # never reviewed
    reviewed: int       # cards reviewed at least once
    reviews: int
    average: float | None   # mean score of all reviews, None before the first


def topic_rows(cards: list[dict], history: list[dict], now: datetime) -> list[TopicRow]:
    """One row per topic of the live cards, then a row "all"."""
    seen = {h["key"] for h in history}
    live = [c for c in cards if not c["retired"]]
    rows = []
    for topic in sorted({c["topic"] for c in live}) + ["all"]:
        mine = [c for c in live if topic in ("all", c["topic"])]
        keys = {c["key"] for c in mine}
        scores = [h["score"] for h in history if h["key"] in keys]
        rows.append(TopicRow(topic, len(mine), sum(1 for c in mine if c["key"] in seen and c["due"] <= now.isoformat()),
                             sum(1 for c in mine if c["key"] not in seen), len(keys & seen), len(scores),
                             round(sum(scores) / len(scores), 1) if scores else None))
    return rows


def table(rows: list[TopicRow]) -> str:
    width = max([len(r.topic) for r in rows] + [5])
    lines = [f"{'topic':<{width}}  cards  due  new  reviewed  reviews  avg score"]
    for r in rows:
        average = f"{r.average:.1f}" if r.average is not None else "-"
        lines.append(f"{r.topic:<{width}}  {r.cards:>5}  {r.due:>3}  {r.new:>3}  {r.reviewed:>8}  {r.reviews:>7}  {average:>9}")
    return "\n".join(lines)


def plot(history: list[dict], out: Path) -> Path:
    """Scores over time, one series per topic, as a PNG at out (its folder is created)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"Cannot create the folder for the plot {out} ({e.strerror}); pass --plot with a writable path.") from e
    with matplotlib.rc_context({"font.family": _families()}):
        fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
        _draw(ax, history)
        fig.autofmt_xdate()
        fig.tight_layout()
        try:
            fig.savefig(out)
        except OSError as e:
            raise InputError(f"Cannot write the plot {out} ({e.strerror}); pass --plot with a writable path.") from e
        finally:
            plt.close(fig)
    return out


def _families() -> list[str]:
    """DejaVu Sans, then an installed CJK font for Chinese topic names (matplotlib falls back per glyph)."""
    from matplotlib import font_manager
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return ["DejaVu Sans"] + [name for name in CJK_FONTS if name in installed]


def _draw(ax, history: list[dict]) -> None:
    for topic in sorted({h["topic"] for h in history}):
        mine = [h for h in history if h["topic"] == topic]
        ax.plot([datetime.fromisoformat(h["at"]) for h in mine], [h["score"] for h in mine], "o-", label=topic)
    if not history:
        ax.text(0.5, 0.5, "no reviews yet", ha="center", va="center", transform=ax.transAxes)
    else:                               # half a day either side: one day of reviews is not drawn over years
        times = [datetime.fromisoformat(h["at"]) for h in history]
        ax.set_xlim(min(times) - timedelta(hours=12), max(times) + timedelta(hours=12))
    ax.set_ylim(-5, 105)
    ax.set_ylabel("score")
    ax.set_title("Practice scores over time")
    if history:
        ax.legend(fontsize="small", loc="lower right")


def report(cards, out: Path, now: datetime) -> str:
    """The stats table of a CardStore and the path of the plot written to out."""
    history = cards.history()
    if not cards.cards():
        return "No practice cards yet; run `iqa practice` first."
    path = plot(history, out)
    return f"{table(topic_rows(cards.cards(), history, now))}\nScores over time: {path}"
