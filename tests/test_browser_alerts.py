"""The alert preview and strictness in a real browser (Debian's Chromium via Playwright) against a
real uvicorn server over the seed papers (listed today) with the real search engine: a search page
and its feed page show what "Subscribe to this search" would have sent over the last 7 days at
each strictness; the chosen strictness goes with the subscription; the preferences page changes it."""

from __future__ import annotations

import re

import pytest

from paperwire.subscriptions import lifecycle
from test_browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS

QUERY = "differential privacy"
NOTHING = "protein folding structure prediction"


def _counts(summary: str) -> dict[str, int]:
    found = dict(re.findall(r"(broad|normal|strict) (\d+)", summary))
    assert set(found) == {"broad", "normal", "strict"}, summary
    return {k: int(v) for k, v in found.items()}


@pytest.fixture
def browser_page(page):
    """test_browser's page (its module's Chromium, the live server), failing on any console error."""
    yield page
    assert page.console_errors == []


def test_search_page_previews_each_strictness_and_subscribes_with_the_chosen_one(browser_page, web_store):
    page = browser_page
    page.goto(f"/search?q={QUERY.replace(' ', '+')}")
    preview = page.locator("details.alert-preview")
    summary = preview.locator("summary")
    counts = _counts(summary.inner_text())
    assert counts["broad"] >= counts["normal"] >= counts["strict"] >= 1, counts
    assert not page.get_by_role("heading", name=re.compile("^Normal: papers that match")).is_visible()
    summary.click()  # a <details>: the lists open on demand
    for level, label in (
        ("broad", "Broad: anything that may match"),
        ("normal", "Normal: papers that match"),
        ("strict", "Strict: only clear matches"),
    ):
        heading = page.get_by_role("heading", name=re.compile(f"^{re.escape(label)}: {counts[level]} paper"))
        heading.wait_for()
    normal = preview.locator('section[data-strictness="normal"] li a')
    titles = normal.all_inner_texts()
    assert titles and any("Privacy" in t or "Private" in t for t in titles), titles
    assert all(
        href.startswith("/papers/") for href in normal.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    )

    # the picker beside the button shows the same counts; choose strict and subscribe
    page.get_by_role("radio", name=f"Strict: only clear matches ({counts['strict']} in the last 7 days)").check()
    page.get_by_role("button", name="Subscribe to this search").click()
    page.wait_for_url(re.compile(r"/subscribe\?query=differential\+privacy&strictness=strict$"))
    assert page.get_by_role("radio", name="Strict: only clear matches").is_checked()
    assert page.get_by_label("Saved search (optional)").input_value() == QUERY
    page.get_by_label("Email address").fill("alerts-browser@example.org")
    page.get_by_role("button", name="Subscribe", exact=True).click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    sub = web_store.subscribers.by_email("alerts-browser@example.org")
    assert [(s.query, s.strictness) for s in web_store.subscribers.saved_searches(sub.id)] == [(QUERY, "strict")]


def test_nothing_relevant_previews_nothing_and_the_feed_page_has_the_preview(browser_page):
    page = browser_page
    page.goto(f"/feeds/search?q={NOTHING.replace(' ', '+')}")
    summary = page.locator("details.alert-preview summary")
    assert _counts(summary.inner_text()) == {"broad": 0, "normal": 0, "strict": 0}
    summary.click()
    assert page.get_by_text("Nothing: no new paper would have been sent.").count() == 3
    page.goto(f"/feeds/search?q={QUERY.replace(' ', '+')}")
    assert _counts(page.locator("details.alert-preview summary").inner_text())["normal"] >= 1
    page.get_by_role("radio", name=re.compile(r"^Broad: anything that may match \(\d+ in the last 7 days\)")).check()
    page.get_by_role("button", name="Subscribe to this search").click()
    page.wait_for_url(re.compile(r"strictness=broad$"))


def test_preferences_page_changes_a_searchs_strictness(browser_page, web_store, web_settings):
    from paperwire import subscriptions as subs

    def compose(sub, n):
        return None

    lifecycle.request(
        web_store,
        email="alerts-prefs@example.org",
        prefs={},
        query="graph neural networks",
        limits=[],
        now=0.0,
        compose=compose,
        max_saved=5,
    )
    sub = web_store.subscribers.by_email("alerts-prefs@example.org")
    sub = lifecycle.confirm(web_store, sub.id, sub.token_version)
    token = subs.make_token(web_settings, "preferences", sub)
    page = browser_page
    page.goto(f"/preferences?token={token}")
    page.get_by_label("Strictness of “graph neural networks”").select_option("strict")
    page.get_by_role("button", name="Save strictness of graph neural networks").click()
    page.get_by_text("“graph neural networks” is now strict.").wait_for()
    assert [s.strictness for s in web_store.subscribers.saved_searches(sub.id)] == ["strict"]
    assert page.get_by_label("Strictness of “graph neural networks”").input_value() == "strict"
    # a new saved search with its own strictness
    page.get_by_label("New saved search").fill("federated learning")
    page.get_by_role("radio", name="Broad: anything that may match").check()
    page.get_by_role("button", name="Add search").click()
    page.get_by_text("Saved search added: “federated learning” (broad).").wait_for()
    assert [(s.query, s.strictness) for s in web_store.subscribers.saved_searches(sub.id)] == [
        ("graph neural networks", "strict"),
        ("federated learning", "broad"),
    ]
