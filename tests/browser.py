"""Debian's headless Chromium for the browser tests, driven by Playwright (no browser download)."""
import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"        # screenshots the tests leave for a reader


def launch_chromium(playwright):
    """A headless Chromium that fetches nothing on its own (no component updates, no background requests)."""
    assert Path(CHROMIUM).exists(), "Debian's chromium package is required (make test installs it)"
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
