"""Practice mode through the CLI and the service: real SQLite file, scripted answers, FSRS due dates,
re-ingest, Anki export. The fake embedder stands in for e5 here (answers are the note's own sentences
or share none of its words); tests/test_practice_grade.py grades paraphrases with the real e5."""
import dataclasses
import io
import json
import sqlite3
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from ingest.build import ingest
from practice import schedule
from practice.anki import answer_html
from practice.cards import CardStore
from practice.grade import key_points, rating_for
from practice.questions import questions
from practice.service import Practice
from rag import store as storelib
from rag.engine import Engine
from tests.conftest import FakeEmbedder, FakeLLM
from ui.cli import main

UNRELATED = "Redis 用 RDB 和 AOF 两种方式做持久化。"


@pytest.fixture
def fake_cli(monkeypatch):
    """The CLI's engine gets the fake embedder the fake index was built with."""
    monkeypatch.setattr("rag.embed.make_embedder", lambda spec, threads=1: FakeEmbedder())


def copy_of(answer: str) -> str:
    """The note's answer as a candidate types it: blank lines would end the answer, so they go."""
    return "\n".join(line for line in answer.splitlines() if line.strip())


def session(args, stdin: str, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["practice", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def reviews(home) -> list[dict]:
    with sqlite3.connect(home / "practice.sqlite") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM reviews ORDER BY id")]


def practice_for(settings, **kw) -> Practice:
    return Practice(Engine(settings, embedder=FakeEmbedder(), log=lambda m: None, **kw), use_llm="llm" in kw)


def test_cli_session_grades_rates_and_schedules(fake_index, iqa_home, fake_cli, capsys, monkeypatch):
    qs = questions(storelib.load(fake_index).chunks)
    roi = next(q for q in qs if "ROIAlign" in q.question)
    script = f"{copy_of(roi.answer)}\n\n\n{UNRELATED}\n\n\n"          # answer, empty line, Enter keeps the rating
    code, out, err = session(["--topic", "detection", "-n", "2", "--no-llm", "--index", str(fake_index)],
                             script, capsys, monkeypatch)
    assert code == 0, err
    assert "[1/2] detection › 1.ROIPool和ROIAlign有什么区别？" in out and "[2/2] detection › 2.NMS是怎么工作的？" in out
    assert "Score 100/100 — suggested rating: easy" in out and "Score 0/100 — suggested rating: again" in out
    first, second = reviews(iqa_home)
    assert first["score"] >= 90 and first["rating"] in (3, 4)
    assert second["score"] <= 20 and second["rating"] == 1
    # FSRS's defaults: a new card rated easy is due after 8 days (its initial stability w3 = 8.3 days);
    # one rated again comes back at the first learning step, a minute later.
    at = {r["id"]: datetime.fromisoformat(r["at"]) for r in (first, second)}
    assert datetime.fromisoformat(first["due_after"]) - at[first["id"]] == timedelta(days=8)
    assert datetime.fromisoformat(second["due_after"]) - at[second["id"]] == schedule.LEARNING_STEPS[0]
    assert CardStore(iqa_home / "practice.sqlite").card(first["key"])["due"] == first["due_after"]
    assert "「按置信度排序，保留最高分的框，删除与它 IoU 大于阈值的框，重复直到没有剩余框。」 (detection.md:19)" in out


def test_partial_answer_lists_missed_points_and_rating_can_be_overridden(fake_index, iqa_home, fake_cli, capsys,
                                                                         monkeypatch):
    partial = "训练时用当前 batch 的均值和方差归一化，并用动量更新 running_mean 和 running_var。"
    code, out, _ = session(["--topic", "scraped", "-n", "1", "--no-llm", "--index", str(fake_index)],
                           f"{partial}\n\n4\n", capsys, monkeypatch)
    (review,) = reviews(iqa_home)
    assert code == 0 and 20 < review["score"] < 90 and review["suggested"] in (2, 3)
    assert review["rating"] == 4                                    # the candidate's override is kept
    assert "「推理时使用训练阶段累计的全局统计量，不依赖当前 batch。」 (scraped.txt:7)" in out
    assert "「训练时用当前 batch" not in out


def test_skip_reveal_and_quit(fake_index, iqa_home, fake_cli, capsys, monkeypatch):
    code, out, _ = session(["-n", "5", "--no-llm", "--index", str(fake_index)], ":skip\n:reveal\n\n:quit\n",
                           capsys, monkeypatch)
    (review,) = reviews(iqa_home)
    assert code == 0 and review["score"] == 0 and review["rating"] == 1
    assert "The note's answer (detection.md:19-24)" in out and "Reviewed 1 of 5." in out


def test_due_reviews_come_before_new_cards(settings):
    practice = practice_for(settings)
    t0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
    first = practice.next(n=10, now=t0)
    assert len(first) == 7 and first[0].question.startswith("1.ROIPool")        # new cards in note order
    nms = first[1]
    practice.record(practice.grade(nms.key, UNRELATED), when=t0)                  # again: due a minute later
    assert practice.next(n=10, now=t0 + timedelta(seconds=30))[0].key != nms.key  # not due yet: new ones first
    later = practice.next(n=3, now=t0 + timedelta(minutes=2))
    assert later[0].key == nms.key and len(later) == 3


def test_reingest_keeps_history_follows_renames_and_retires(notes, fake_index, settings, fake_embedder):
    practice = practice_for(settings)
    qs = {q.question: q for q in practice.questions()}
    roi, nms = qs["1.ROIPool和ROIAlign有什么区别？"], qs["2.NMS是怎么工作的？"]
    kv = qs["KV cache 为什么能加速？"]
    for q in (roi, nms, kv):
        practice.record(practice.grade(q.key, copy_of(q.answer)))
    md = notes / "detection.md"
    text = md.read_text(encoding="utf-8").replace("对小目标更准确。", "对小目标更准确，Mask R-CNN 用的就是它。")
    md.write_text(text.split('<h2 id="2.')[0], encoding="utf-8")               # NMS section removed
    html_note = notes / "lora.html"
    html_note.write_text(html_note.read_text(encoding="utf-8").replace("KV cache 为什么能加速？", "KV cache 怎么加速推理？"),
                         encoding="utf-8")
    ingest([notes], fake_index, fake_embedder, log=lambda m: None)
    after = {q.question: q for q in practice.questions()}
    assert after["1.ROIPool和ROIAlign有什么区别？"].key == roi.key and "Mask R-CNN" in after["1.ROIPool和ROIAlign有什么区别？"].answer
    assert practice.synced.retired == 1 and practice.synced.moved == 1 and "2.NMS是怎么工作的？" not in after
    assert len(practice.cards.history(roi.key)) == 1                            # edited answer: same card, same history
    renamed = after["KV cache 怎么加速推理？"]
    assert renamed.key != kv.key and len(practice.cards.history(renamed.key)) == 1
    gone = practice.cards.card(nms.key)
    assert gone["retired"] == 1 and len(practice.cards.history(nms.key)) == 1   # retired, not lost
    assert nms.key not in [q.key for q in practice.next(n=20, now=datetime.now(timezone.utc) + timedelta(days=400))]


def test_model_feedback_cites_the_note(settings):
    llm = FakeLLM("回答提到了双线性插值 [1]，但没有说 ROIPool 的两次量化。")
    practice = Practice(Engine(settings, embedder=FakeEmbedder(), llm=llm, log=lambda m: None), use_llm=True)
    roi = practice.next(n=1)[0]
    result = practice.grade(roi.key, "ROIAlign 去掉取整，用双线性插值计算采样点的值，对小目标更准确。")
    assert result.feedback.startswith("回答提到了双线性插值 [1]")
    assert "[1] detection › 1.ROIPool和ROIAlign有什么区别？ — detection.md:8-15" in result.feedback
    assert "「ROIPool 有两次量化" in result.feedback and "面试官可能会追问：2.NMS是怎么工作的？" in result.feedback
    sent = llm.messages[0][1]["content"]
    assert "ROIPool 有两次量化" in sent and "对小目标更准确" in sent and "detection.md:8-15" in sent


def test_no_llm_feedback_never_calls_the_model(settings):
    llm = FakeLLM("不应出现")
    practice = Practice(Engine(settings, embedder=FakeEmbedder(), llm=llm, log=lambda m: None), use_llm=False)
    roi = practice.next(n=1)[0]
    result = practice.grade(roi.key, "")
    assert result.grade.score == 0 and not llm.requests and "不应出现" not in result.feedback


def test_key_points_skip_code_headings_and_tiny_lines(settings):
    qs = {q.question: q for q in practice_for(settings).questions()}
    points = key_points(qs["2.NMS是怎么工作的？"])
    assert [p.citation for p in points] == ["detection.md:19", "detection.md:19", "detection.md:24"]
    assert points[2].text == "NMS 的复杂度是 O(n²)。"
    assert all("def bilinear" not in p.text for p in key_points(qs["1.ROIPool和ROIAlign有什么区别？"]))
    assert [rating_for(s) for s in (0, 34, 35, 64, 65, 89, 90, 100)] == [1, 1, 2, 2, 3, 3, 4, 4]


def test_stats_table_and_plot(fake_index, iqa_home, fake_cli, capsys, monkeypatch, tmp_path):
    session(["-n", "2", "--no-llm", "--index", str(fake_index)], f"{UNRELATED}\n\n\n{UNRELATED}\n\n\n", capsys, monkeypatch)
    png = tmp_path / "plots" / "scores.png"
    code, out, _ = session(["--stats", "--plot", str(png)], "", capsys, monkeypatch)
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:] if line.strip()}
    assert code == 0 and rows["detection.md"][1:] == ["2", "0", "0", "2", "2", "0.0"]
    assert rows["all"][1:4] == ["7", "0", "5"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert f"Scores over time: {png}" in out


def test_bad_input_is_one_sentence(fake_index, fake_cli, capsys, monkeypatch, tmp_path):
    code, _, err = session(["-n", "0", "--index", str(fake_index)], "", capsys, monkeypatch)
    assert code == 2 and "at least 1" in err
    code, _, err = session(["--topic", "nosuch", "--index", str(fake_index)], "", capsys, monkeypatch)
    assert code == 2 and "No question section matches the topic 'nosuch'" in err
    code = main(["export", "anki", str(tmp_path / "out.zip"), "--index", str(fake_index)])
    assert code == 2 and "must end in .apkg" in capsys.readouterr().err
    with pytest.raises(Exception, match="must be 1"):
        CardStore(tmp_path / "p.sqlite").record("x", 0, 1, 7)


def read_apkg(path) -> tuple[list[tuple], dict, dict]:
    """(notes as (guid, fields, tags), models, decks) from the package's SQLite collection."""
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None and "collection.anki2" in z.namelist()
        data = z.read("collection.anki2")
    db_path = path.with_suffix(".anki2")
    db_path.write_bytes(data)
    with sqlite3.connect(db_path) as db:
        notes = [(g, f.split("\x1f"), t) for g, f, t in db.execute("SELECT guid, flds, tags FROM notes ORDER BY guid")]
        models, decks = (json.loads(x) for x in db.execute("SELECT models, decks FROM col").fetchone())
    return notes, models, decks


def test_anki_export_is_a_valid_package_with_stable_ids(notes, fake_index, settings, fake_embedder, capsys, tmp_path):
    first, second = tmp_path / "a" / "notes.apkg", tmp_path / "b" / "notes.apkg"
    for out in (first, second):
        assert main(["export", "anki", str(out), "--index", str(fake_index)]) == 0
    assert "Wrote 7 notes" in capsys.readouterr().out
    rows, models, decks = read_apkg(first)
    sections = [q for q in practice_for(settings).questions()]
    assert len(rows) == len(sections) == 7
    assert all(len(fields) == 4 and all(f.strip() for f in fields) for _, fields, _ in rows)
    by_question = {fields[0]: fields for _, fields, _ in rows}
    roi = by_question["1.ROIPool和ROIAlign有什么区别？"]
    assert roi[1] == "detection › 1.ROIPool和ROIAlign有什么区别？" and roi[3] == "detection.md:8-15"
    assert "<pre><code>def bilinear(f, y, x):" in roi[2] and "```" not in roi[2]
    assert "B 初始化为 0 &amp; 训练开始时输出不变" in by_question["LoRA 的原理是什么？"][2]
    again, models2, decks2 = read_apkg(second)
    assert [n[0] for n in again] == [n[0] for n in rows]                      # guids: Anki updates, never duplicates
    assert list(models2) == list(models) and sorted(decks2) == sorted(decks)
    md = notes / "detection.md"                                                 # an edited answer keeps its guid
    md.write_text(md.read_text(encoding="utf-8").replace("对小目标更准确。", "对小目标更准确，也更稳定。"), encoding="utf-8")
    ingest([notes], fake_index, fake_embedder, log=lambda m: None)
    third = tmp_path / "c" / "notes.apkg"
    assert main(["export", "anki", str(third), "--index", str(fake_index)]) == 0
    edited, _, _ = read_apkg(third)
    assert [n[0] for n in edited] == [n[0] for n in rows]
    assert any("也更稳定" in fields[2] for _, fields, _ in edited)


def test_anki_answer_is_escaped():
    out = answer_html('<img src=x onerror="alert(1)">说明\n```html\n<script>x()</script>\n```')
    assert "<img" not in out and "<script>" not in out and "&lt;script&gt;x()&lt;/script&gt;" in out


def test_tab_shows_note_text_escaped(settings):
    from practice.feedback import feedback
    from practice.grade import Grader
    from practice.questions import Part
    from practice.service import Result
    from ui.practice_tab import PracticeHandler, question_html, result_html
    practice = practice_for(settings)
    hostile = "<script>alert(2)</script> 把输入映射成概率分布。<iframe src=x></iframe> 输出之和为 1。"
    q = dataclasses.replace(practice.questions()[0], question='<img src=x onerror="alert(1)">？', heading=["<b>x</b>", "q"],
                            parts=[Part(hostile, 3, 3)])
    answer = "<script>alert(2)</script> 把输入映射成概率分布。"
    grade = Grader(FakeEmbedder()).grade(q, answer)
    result = Result(q, answer, grade, feedback(q, answer, grade))
    page = question_html(q) + result_html(result)
    assert len(grade.covered) == 1 and len(grade.missed) == 1
    assert "<img" not in page and "<script>" not in page and "<iframe" not in page and "<b>x</b>" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    handler = PracticeHandler(practice)
    shown, _, _, state, status = handler.next("detection")
    assert "1.ROIPool和ROIAlign有什么区别？" in shown and state["key"] and not status
    html_out, rating, state, _ = handler.grade(copy_of(practice.question(state["key"]).answer), state, False)
    assert "Score 100/100" in html_out and rating == "easy"
    status, table, plot = handler.save("hard", state)
    assert status.startswith("Saved as hard") and practice.cards.history(state["key"])[0]["rating"] == 2
    assert "detection.md" in table and plot.endswith("practice-scores.png")


def test_a_long_section_is_one_question_and_keys_tell_repeated_headings_apart():
    from practice.grade import topic_words
    from practice.questions import section_key
    from rag.schema import Chunk

    def chunk(i, heading, text, line):
        return Chunk(f"c{i}", "nn.md", 0, 1, line, line + text.count("\n"), heading, heading[-1] if len(heading) > 1 else "", text)
    chunks = [chunk(0, ["nn"], "目录", 1),
              chunk(1, ["nn", "什么是激活函数？"], "激活函数给神经网络引入非线性。\n没有它神经网络只是线性模型。", 3),
              chunk(2, ["nn", "什么是激活函数？"], "常见的有 ReLU 和 GELU 两种。\n神经网络的深层常用 ReLU。", 9),
              chunk(3, ["nn", "补充"], "另一个问题的答案在这里。", 20),
              chunk(4, ["nn", "什么是激活函数？"], "同名的第二节，答案不同。", 30)]
    first, extra, again = questions(chunks)
    assert [len(q.parts) for q in (first, extra, again)] == [2, 1, 1]
    assert first.location == "nn.md:3-10" and first.key == section_key("nn.md", ["nn", "什么是激活函数？"], 1)
    assert again.key == section_key("nn.md", ["nn", "什么是激活函数？"], 2) != first.key
    points = key_points(first)
    assert [p.citation for p in points] == ["nn.md:3", "nn.md:4", "nn.md:9", "nn.md:10"]
    assert {"神经", "网络", "神经网络"} <= topic_words(points) and "relu" not in topic_words(points)
