"""Refresh docs/screenshot.png: the chat answering "ROIAlign vs ROIPool?" with the default model.

    make demo && .venv/bin/python scripts/screenshot.py
"""
import shutil
import socket
from pathlib import Path

from playwright.sync_api import sync_playwright

from rag.engine import Engine
from rag.config import load_settings
from ui.web import launch

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshot.png"


def main():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = launch(Engine(load_settings()), port=port, block=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/")
        page.locator("#iqa-input textarea").fill("ROIAlign vs ROIPool?")
        page.locator("#iqa-input textarea").press("Enter")
        page.locator("#iqa-sources details#src-1").wait_for(timeout=180_000)
        page.locator("#iqa-chat a[href='#src-1']").first.click()
        page.wait_for_timeout(500)
        page.screenshot(path=str(OUT), full_page=True)
        browser.close()
    app.close()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
