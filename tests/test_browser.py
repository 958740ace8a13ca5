"""End to end in headless Chromium (Debian's package, driven by Playwright; no browser download)."""

import pytest

from rag.engine import Engine
from rag.config import Settings
from tests.browser import ARTIFACTS, launch_chromium
from tests.servers import free_port
from ui.web import launch

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, real_embedder, small_llm, model_cache, notes_index):
    base = tmp_path_factory.mktemp("browser")
    (base / "models").symlink_to(model_cache)
    engine = Engine(Settings(home=base, index_dir=notes_index, max_tokens=160), embedder=real_embedder,
                    llm=small_llm, log=lambda m: None)
    port = free_port()
    app = launch(engine, port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()


def test_chat_streams_answer_with_sources_and_code(live_app):
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(live_app)
        page.locator("#iqa-input textarea").fill("ROIAlign vs ROIPool?")
        page.locator("#iqa-input textarea").press("Enter")
        source = page.locator("#iqa-sources details#src-1")
        source.wait_for(timeout=120_000)
        assert "detection.md" in source.inner_text()
        answer = page.locator("#iqa-chat .message").last
        assert "[1]" in answer.inner_text()
        code = page.locator("#iqa-code pre").first
        code.wait_for(timeout=10_000)
        assert "def bilinear" in code.inner_text()
        page.locator("#iqa-chat a[href='#src-1']").first.click()
        assert source.evaluate("d => d.open")
        page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
        browser.close()
    assert (ARTIFACTS / "chat.png").stat().st_size > 10_000
