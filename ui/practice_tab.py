"""The Practice tab of the web chat: a question from the notes, an answer box, the grade, a rating, progress.

ui/web.py stays the only module that imports gradio: it passes the module in.

    with gr.Blocks() as app:
        practice_tab(gr, engine)

Every piece of note, answer and model text reaches the page HTML-escaped (notes are data, never markup).
"""
from __future__ import annotations

import html
import os
import shutil
import tempfile
import time
from pathlib import Path

from practice import stats as statslib
from practice.cards import now_utc
from practice.grade import RATING_NAMES
from practice.service import Practice, Result
from practice.session import until

RATINGS = [RATING_NAMES[n] for n in (1, 2, 3, 4)]
PLOT_NAME = "practice-scores.png"
NO_QUESTION = '<p class="iqa-note">Press <b>Next question</b> to draw one from your notes.</p>'


def _text(value: str) -> str:
    """Escaped text that keeps its line breaks."""
    return f'<div class="iqa-quote">{html.escape(value or "")}</div>'


def question_html(q) -> str:
    return (f'<div id="iqa-practice-q"><p class="iqa-note">{html.escape(q.title)} — {html.escape(q.location)}</p>'
            f"<h3>{html.escape(q.question)}</h3></div>")


def result_html(result: Result) -> str:
    """Score, rating, covered and missed points with their citations, the feedback; all escaped."""
    g, q = result.grade, result.question
    rows = "".join(f'<li class="{"covered" if r.covered else "missed"}">{"✓" if r.covered else "✗"} '
                   f"{html.escape(r.point.text)} <code>{html.escape(r.point.citation)}</code></li>" for r in g.points)
    notice = f'<p class="iqa-note">{html.escape(result.notice)}</p>' if result.notice else ""
    answer = "" if result.answer else (f"<p><b>The note's answer</b> ({html.escape(q.location)}):</p>"
                                       f"{_text(q.answer)}")
    return (f'<div id="iqa-practice-score"><b>Score {g.score}/100</b> — suggested rating: '
            f"<b>{html.escape(g.rating_name)}</b> ({len(g.covered)} of {len(g.points)} key points)</div>"
            f'<ul id="iqa-practice-points">{rows}</ul>{answer}{notice}'
            f'<div id="iqa-practice-feedback">{_text(result.feedback)}</div>')


def stats_html(practice: Practice) -> tuple[str, str | None]:
    """The progress table by topic, and the plot's path (None before the first review)."""
    history = practice.cards.history()
    rows = statslib.topic_rows(practice.cards.cards(), history, now_utc())
    cells = "".join(f"<tr><td>{html.escape(r.topic)}</td><td>{r.cards}</td><td>{r.due}</td><td>{r.new}</td>"
                    f"<td>{r.reviewed}</td><td>{'-' if r.average is None else r.average}</td></tr>" for r in rows)
    table = ('<table id="iqa-practice-stats"><tr><th>topic</th><th>cards</th><th>due</th><th>new</th>'
             f"<th>reviewed</th><th>avg score</th></tr>{cells}</table>")
    if not history:
        return table, None
    return table, str(statslib.plot(history, plot_path()))


PLOT_PREFIX = "iqa-plot-"
PLOT_KEPT_S = 600          # Gradio copies a returned file into its cache at once; older plots are removed


def plot_path() -> Path:
    """A fresh path for the scores plot under the temp dir, the one place outside the working directory
    Gradio serves files from (a home under a dot-folder, as ~/.iqa is, is refused with InvalidPathError).
    Each save gets its own folder, so two saves at once never write one file; earlier ones are removed."""
    base = Path(tempfile.gettempdir())
    for old in base.glob(f"{PLOT_PREFIX}{os.getpid()}-*"):
        try:
            if time.time() - old.stat().st_mtime > PLOT_KEPT_S:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    return Path(tempfile.mkdtemp(prefix=f"{PLOT_PREFIX}{os.getpid()}-", dir=base)) / PLOT_NAME


class PracticeHandler:
    """The tab's events; a Result travels between them in the browser session's state."""

    def __init__(self, practice: Practice):
        self.practice = practice

    def next(self, topic: str):
        """(question HTML, cleared answer, cleared result, state, status)."""
        try:
            found = self.practice.next(topic or "", 1)
        except Exception as e:  # a bad topic or a missing index reads as a sentence
            return NO_QUESTION, "", "", None, html.escape(str(e))
        if not found:
            return NO_QUESTION, "", "", None, "Nothing is due and every question has been seen; come back later."
        q = found[0]
        return question_html(q), "", "", {"key": q.key}, ""

    def grade(self, answer: str, state, use_llm: bool):
        """(result HTML, rating, state with the Result, status)."""
        if not state:
            return "", None, state, "Draw a question first."
        try:
            result = self.practice.grade(state["key"], answer or "", use_llm=bool(use_llm))
        except Exception as e:  # the embedder or model failing reads as a sentence
            return "", None, state, html.escape(str(e))
        return result_html(result), result.grade.rating_name, {**state, "result": result}, ""

    def reveal(self, state):
        if not state:
            return "", None, state, "Draw a question first."
        result = self.practice.reveal(state["key"])
        return result_html(result), result.grade.rating_name, {**state, "result": result}, ""

    def save(self, rating: str, state):
        """(status, stats table, plot): the review logged with the chosen rating."""
        if not state or "result" not in state:
            return "Grade an answer (or reveal the note) before saving a review.", *stats_html(self.practice)
        chosen = RATINGS.index(rating) + 1 if rating in RATINGS else None
        now = now_utc()
        due = self.practice.record(state["result"], chosen, now)
        kept = RATING_NAMES[chosen or state["result"].grade.rating]
        status = f"Saved as {kept}; next review {due:%Y-%m-%d %H:%M} UTC ({until(due, now)})."
        return status, *stats_html(self.practice)


def practice_tab(gr, engine) -> None:
    """Add the Practice tab to the Blocks being built (call inside `with gr.Blocks()`)."""
    handler = PracticeHandler(Practice(engine, use_llm=True))
    with gr.Tab("Practice", elem_id="iqa-practice"):
        with gr.Row():
            topic = gr.Textbox(label="Topic (folder, file or heading prefix; empty = all)", elem_id="iqa-practice-topic")
            use_llm = gr.Checkbox(value=True, label="Feedback from the local model")
            draw = gr.Button("Next question", variant="primary", elem_id="iqa-practice-next")
        question = gr.HTML(NO_QUESTION, elem_id="iqa-practice-question")
        answer = gr.Textbox(lines=6, label="Your answer", elem_id="iqa-practice-answer")
        with gr.Row():
            grade = gr.Button("Grade my answer", variant="primary", elem_id="iqa-practice-grade")
            reveal = gr.Button("Reveal the note", elem_id="iqa-practice-reveal")
        result = gr.HTML(elem_id="iqa-practice-result")
        with gr.Row():
            rating = gr.Radio(RATINGS, label="Rating (change it to override the grade)", elem_id="iqa-practice-rating")
            save = gr.Button("Save review", elem_id="iqa-practice-save")
        status = gr.Markdown(elem_id="iqa-practice-status")
        with gr.Accordion("Progress", open=False):
            table = gr.HTML(elem_id="iqa-practice-progress")
            plot = gr.Image(type="filepath", label="Scores over time", show_label=True)
        state = gr.State(None)
        draw.click(handler.next, [topic], [question, answer, result, state, status], api_visibility="private")
        # Grading may run the answer model: it queues with the chat's answers (the same concurrency group).
        grade.click(handler.grade, [answer, state, use_llm], [result, rating, state, status], api_visibility="private",
                    concurrency_id="engine", concurrency_limit=getattr(engine.models, "parallel", 1))
        reveal.click(handler.reveal, [state], [result, rating, state, status], api_visibility="private")
        save.click(handler.save, [rating, state], [status, table, plot], api_visibility="private")
