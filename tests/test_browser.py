"""End to end in headless Chromium (Debian's package, driven by Playwright; no browser download)."""
import shutil
from pathlib import Path

import pytest

from ingest.build import ingest
from rag.engine import Engine
from rag.config import Settings
from tests.conftest import DATA
from tests.test_web import free_port
from ui.web import launch

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, real_embedder, small_llm, model_cache):
    base = tmp_path_factory.mktemp("browser")
    (base / "models").symlink_to(model_cache)
    ingest([DATA / "notes"], base / "index", real_embedder, log=lambda m: None)
    engine = Engine(Settings(home=base, index_dir=base / "index", max_tokens=160), embedder=real_embedder,
                    llm=small_llm, log=lambda m: None)
    port = free_port()
    app = launch(engine, port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()


def test_chat_streams_answer_with_sources_and_code(live_app):
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), "Debian's chromium package is required (make test installs it)"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
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
