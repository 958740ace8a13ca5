"""Notes are data, never markup: the real chat in headless Chromium over an index of hostile notes.

The notes (tests/test_property.py's hostile corpus) hold raw <form>, <video>, <svg>, <iframe>, <object>
and <embed> tags, a file named "<img src=x onerror=alert(1)>.md", a ``` fence inside a ~~~ fence and
terminal escapes. Whatever the chat, the sources and the code panel show of them must be text: no element
a note or a file name brought in, no dialog, and no request to any address but the app's own server.
"""

import pytest

from ingest.build import ingest
from rag.config import Settings
from rag.engine import Engine
from tests.test_property import FORM, IMG_NAME, SVG, VIDEO, write_hostile_notes
from tests.browser import launch_chromium
from tests.servers import free_port
from ui.web import launch

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PANELS = ("#iqa-chat", "#iqa-sources", "#iqa-code")

# Anything in the page a note could have smuggled in: elements the app itself never shows, event handler
# attributes, and the notes' own values in an attribute that loads something (Gradio's aria-label
# repeating a message's text is text, not markup).
FIND_NOTE_MARKUP = """(panels) => {
  const found = [];
  const show = (el) => el.outerHTML.slice(0, 160);
  for (const el of document.querySelectorAll('form, iframe, object, embed, video, audio, image, input[type=password]'))
    found.push('element ' + show(el));
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const v = a.value || '';
      const loads = /^(src|srcset|href|xlink:href|poster|data|action|formaction|background|placeholder)$/i.test(a.name);
      if (/^on/i.test(a.name) || a.name === 'poster' || (loads && /example\\.invalid|alert\\(|重新登录|^x$/.test(v)))
        found.push('attribute ' + a.name + '=' + v.slice(0, 60) + ' on ' + show(el));
    }
  }
  for (const sel of panels) {
    const panel = document.querySelector(sel);
    if (!panel) continue;
    for (const el of panel.querySelectorAll('input, img, svg[width="2000"], svg[height="2000"], svg image'))
      found.push(sel + ' ' + show(el));
  }
  return found;
}"""


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory, real_embedder, small_llm, model_cache):
    base = tmp_path_factory.mktemp("browser-hostile")
    (base / "models").symlink_to(model_cache)
    write_hostile_notes(base / "notes")
    ingest([base / "notes"], base / "index", real_embedder, log=lambda m: None)
    engine = Engine(Settings(home=base, index_dir=base / "index", max_tokens=96, translate_model=""),
                    embedder=real_embedder, llm=small_llm, log=lambda m: None)
    port = free_port()
    app = launch(engine, port=port, block=False)
    yield f"http://127.0.0.1:{port}"
    app.close()


def _panel_text(page) -> dict[str, str]:
    """What each panel shows as text (the sources' closed <details> included)."""
    return {sel: page.locator(sel).evaluate("el => el.textContent") for sel in PANELS}


def _ask(page, question: str, source: str) -> None:
    page.get_by_role("button", name="New chat").click()
    page.locator("#iqa-sources details").first.wait_for(state="detached", timeout=10_000)
    page.locator("#iqa-input textarea").fill(question)
    page.locator("#iqa-input textarea").press("Enter")
    page.locator("#iqa-sources details#src-1").wait_for(timeout=120_000)
    page.wait_for_function("(s) => document.querySelector('#iqa-sources').innerText.includes(s)", arg=source,
                           timeout=10_000)


def test_hostile_notes_show_as_text_and_load_nothing(hostile_app):
    from playwright.sync_api import sync_playwright
    requests, dialogs = [], []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(hostile_app + "/")
        page.locator("#iqa-input textarea").wait_for(timeout=30_000)
        page.get_by_text("Settings").click()
        page.get_by_label("Extractive").check()
        seen = {}
        for question, source in (("登录表单为什么危险？", "form.md"),
                                 ("文件名里的图片标签会执行吗？", IMG_NAME),
                                 ("超大 SVG 有什么问题？", "svg.md"),
                                 ("怎样在网页里显示一个标签？", "shown.html"),
                                 ("波浪线围栏里能写反引号围栏吗？", "fence.md")):
            _ask(page, question, source)
            assert page.evaluate(FIND_NOTE_MARKUP, list(PANELS)) == [], question
            seen[source] = _panel_text(page)
        # Model mode: the answer model is shown the hostile passage and may repeat it.
        page.get_by_label("LLM").check()
        _ask(page, "视频标签会自动加载什么？", "video.md")
        page.wait_for_function("() => !document.querySelector('#iqa-chat').innerText.trim().endsWith('…')", timeout=60_000)
        assert page.evaluate(FIND_NOTE_MARKUP, list(PANELS)) == []
        seen["video.md"] = _panel_text(page)
        page.wait_for_timeout(500)          # anything the last render would load has been asked for by now
        browser.close()
    # What the notes hold is on the page as text, so the escaping did not just drop it.
    assert FORM in seen["form.md"]["#iqa-chat"] and FORM in seen["form.md"]["#iqa-sources"]
    assert IMG_NAME[:-3] in seen[IMG_NAME]["#iqa-sources"]
    assert SVG in seen["svg.md"]["#iqa-sources"]
    assert "<video src=x>" in seen["shown.html"]["#iqa-sources"]
    assert "```\nprint('inside')\n```" in seen["fence.md"]["#iqa-code"]
    assert VIDEO in seen["video.md"]["#iqa-sources"]
    assert dialogs == []
    foreign = [u for u in requests if not u.startswith((hostile_app + "/", "data:", "blob:"))]
    assert foreign == [], foreign
