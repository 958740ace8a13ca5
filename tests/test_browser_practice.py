"""The Practice tab in headless Chromium: a question is drawn, an answer typed, the grade and missed points shown,
the review saved. Real e5 embedder; feedback without the model (the tab's checkbox off)."""
import shutil
import sqlite3
import tempfile

import pytest

from ingest.build import ingest
from rag.config import Settings
from rag.engine import Engine
from tests.conftest import DATA
from tests.browser import ARTIFACTS, launch_chromium
from tests.servers import free_port
from ui.web import launch

pytestmark = [pytest.mark.slow, pytest.mark.browser]
HOSTILE = ("问题1:注入是什么\n\n笔记里的 <img src=x onerror=\"document.title='owned'\"> 和 "
           "<script>document.title='owned'</script> 只是文字。\n")


@pytest.fixture(scope="module")
def practice_app(tmp_path_factory, real_embedder):
    base = tmp_path_factory.mktemp("browser-practice")
    # The home is a dot-folder outside the temp dir and the working directory, as the default ~/.iqa is:
    # Gradio serves no file from there. The temp dir is moved beside it, as /tmp is beside ~ for a user.
    home, elsewhere = base / ".iqa", base / "system-tmp"
    home.mkdir()
    elsewhere.mkdir()
    saved_tempdir, tempfile.tempdir = tempfile.tempdir, str(elsewhere)
    notes = base / "notes"
    shutil.copytree(DATA / "notes", notes)
    (notes / "zz-hostile.txt").write_text(HOSTILE, encoding="utf-8")
    ingest([notes], home / "index", real_embedder, log=lambda m: None)
    engine = Engine(Settings(home=home, index_dir=home / "index"), embedder=real_embedder, log=lambda m: None)
    port = free_port()
    app = launch(engine, port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/", home
    finally:
        app.close()
        tempfile.tempdir = saved_tempdir


def test_practice_tab_grades_an_answer(practice_app):
    from playwright.sync_api import sync_playwright
    url, home = practice_app
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        strips = page.get_by_role("tablist")
        strips.first.wait_for(timeout=30_000)
        assert strips.count() == 1 and strips.get_by_role("tab").all_inner_texts() == ["Ask", "Practice"]
        page.get_by_role("tab", name="Practice").click()
        page.locator("#iqa-practice-topic textarea").fill("detection")
        page.locator("#iqa-practice-next").click()
        question = page.locator("#iqa-practice-q h3")
        question.wait_for(timeout=60_000)
        assert question.inner_text() == "1.ROIPool和ROIAlign有什么区别？"
        assert "detection.md:8-15" in page.locator("#iqa-practice-q").inner_text()
        page.get_by_label("Feedback from the local model").uncheck()
        page.locator("#iqa-practice-answer textarea").fill("ROIAlign 不再取整，而是用双线性插值计算采样点的值。")
        page.locator("#iqa-practice-grade").click()
        score = page.locator("#iqa-practice-score")
        score.wait_for(timeout=120_000)
        text = score.inner_text()
        points = page.locator("#iqa-practice-points li.missed")
        assert "Score 55/100" in text and "hard" in text
        assert points.count() == 1 and "ROIPool 有两次量化" in points.first.inner_text()
        assert "detection.md:8" in points.first.inner_text()
        assert "没有答到的要点" in page.locator("#iqa-practice-feedback").inner_text()
        page.get_by_label("good").check()
        page.locator("#iqa-practice-save").click()
        page.locator("#iqa-practice-status").get_by_text("Saved as good").wait_for(timeout=30_000)
        page.get_by_text("Progress").click()
        page.locator("#iqa-practice-progress table").wait_for(timeout=30_000)
        page.locator("#iqa-practice img").first.wait_for(timeout=30_000)         # the scores plot is served
        assert page.locator("#iqa-practice").get_by_text("Error").count() == 0
        page.locator("#iqa-practice").screenshot(path=str(ARTIFACTS / "practice.png"))
        page.locator("#iqa-practice-topic textarea").fill("zz-hostile")
        page.locator("#iqa-practice-next").click()
        page.locator("#iqa-practice-q h3").get_by_text("问题1:注入是什么").wait_for(timeout=30_000)
        page.locator("#iqa-practice-reveal").click()
        page.locator("#iqa-practice-score").wait_for(timeout=30_000)
        shown = page.locator("#iqa-practice-result").inner_text()
        assert "<script>document.title='owned'</script>" in shown       # the note's markup shown as text
        assert page.locator("#iqa-practice-result script, #iqa-practice-result img").count() == 0
        assert page.title() != "owned"
        browser.close()
    assert (ARTIFACTS / "practice.png").stat().st_size > 10_000
    with sqlite3.connect(home / "practice.sqlite") as db:
        assert db.execute("SELECT score, suggested, rating FROM reviews").fetchall() == [(55, 2, 3)]
