"""The site in a real browser: Debian's Chromium, headless, driven by Playwright, against a real
uvicorn server on 127.0.0.1."""

from __future__ import annotations

import re

from conftest_browser import ARGS, BROWSER_MARKS, CHROMIUM  # noqa: F401  (re-exported for the other browser modules)
from conftest_web import XSS_ID, XSS_TITLE

pytestmark = BROWSER_MARKS


def test_search_open_paper_follow_similar(page):
    page.goto("/")
    assert page.locator("article.card").count() == 25
    page.get_by_label("Search papers").fill("self-refine code generation with feedback")
    page.get_by_label("Search papers").press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=self-refine"))
    results = page.locator("article.card h2.title a")
    assert results.count() > 0
    assert page.locator("article.card mark").count() > 0  # matched words highlighted
    first_title = results.first.inner_text()
    results.first.click()
    page.wait_for_url(re.compile(r"/papers/"))
    assert page.locator("h1").inner_text() == first_title
    assert page.locator("#bibtex-text").inner_text().startswith("@misc{")
    # app.js runs under the CSP (self only): it reveals the copy button
    assert page.locator("button.copy").is_visible()
    similar = page.locator("section.similar li a")
    assert similar.count() > 0
    similar_title = similar.first.inner_text()
    paper_url = page.url
    similar.first.click()
    page.wait_for_url(lambda url: url != paper_url and "/papers/" in url)
    assert page.locator("h1").inner_text() == similar_title != first_title
    assert page.console_errors == []


def test_script_title_renders_as_text(page):
    page.goto(f"/papers/{XSS_ID}")
    h1 = page.locator("h1")
    # the text stays text; its TeX ($\alpha<\beta$) is rendered by KaTeX, which keeps the source
    text, math = XSS_TITLE.split(" $")[0], XSS_TITLE.split("$")[1]
    h1.locator(".katex").wait_for()
    assert h1.inner_text().startswith(text)
    assert h1.locator("annotation").all_text_contents() == [math]
    assert h1.is_visible()
    assert page.locator("h1 script").count() == 0
    page.goto("/")
    assert page.get_by_text("<script>alert(1)</script>", exact=False).first.is_visible()
    page.goto("/search?q=alert")
    title = page.locator("article.card h2.title").first
    title.locator(".katex").wait_for()
    assert title.inner_text().startswith(text) and title.locator("annotation").all_text_contents() == [math]
    page.wait_for_timeout(300)  # give a (wrongly) injected script time to fire
    assert page.dialogs == []
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0


def test_abstract_opens_without_javascript(browser, live_server):
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    pg = context.new_page()
    try:
        pg.goto("/")
        abstract = pg.locator("article.card details.abstract").first
        assert not abstract.locator("p").is_visible()
        abstract.locator("summary").click()
        assert abstract.locator("p").is_visible()
    finally:
        context.close()
