"""HTML pages over a real database (64 seed papers + hand-made ones) and the real search engine."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import html as lhtml

from conftest_web import ARXIV_DAY, ARXIV_ID, OLD_DAY, OLD_ID, XSS_ID, XSS_TITLE

TODAY = datetime.now(UTC).strftime("%Y-%m-%d")  # the seed papers carry no date: listed today


def _doc(resp):
    return lhtml.fromstring(resp.text)


def _titles(doc) -> list[str]:
    return [a.text_content() for a in doc.xpath("//article[contains(@class,'card')]//h2/a")]


# -- home / day ------------------------------------------------------------------------------
def test_home_lists_latest_day_newest_first_with_pagination(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    doc = _doc(r)
    titles = _titles(doc)
    assert len(titles) == 25  # a page of 65 papers
    assert titles[0] == XSS_TITLE  # submitted latest, so first; rendered as text
    assert set(doc.xpath("//article//time/@datetime")) == {TODAY}
    assert "65 papers" in doc.xpath("string(//section[@class='dayhead'])")
    # previous day link, no next day (today is the latest)
    assert doc.xpath("//nav[@class='daynav']/a[@rel='prev']/@href") == [f"/day/{ARXIV_DAY}"]
    assert not doc.xpath("//nav[@class='daynav']/a[@rel='next']")
    # pagination: 3 pages, page 2 and 3 differ from page 1 and together cover all 65
    pages = doc.xpath("//nav[@class='pager']//a/@href")
    assert "/?page=2" in pages and "/?page=3" in pages
    seen = set(titles)
    for n, expected in ((2, 25), (3, 15)):
        t = _titles(_doc(client.get(f"/?page={n}")))
        assert len(t) == expected
        assert not seen & set(t)
        seen |= set(t)
    assert len(seen) == 65
    assert client.get("/?page=4").status_code == 404
    assert client.get("/?page=0").status_code == 400
    assert client.get("/?page=abc").status_code == 400


def test_day_page_neighbours_and_metadata(client):
    r = client.get(f"/day/{ARXIV_DAY}")
    assert r.status_code == 200
    doc = _doc(r)
    assert _titles(doc) == ["Iterative Refinement of Program Synthesis with Execution Feedback"]
    assert doc.xpath("//nav[@class='daynav']/a[@rel='prev']/@href") == [f"/day/{OLD_DAY}"]
    assert doc.xpath("//nav[@class='daynav']/a[@rel='next']/@href") == ["/"]  # the latest day is home
    card = doc.xpath("//article[contains(@class,'card')]")[0]
    authors = card.xpath("string(.//p[@class='authors'])")
    # 8 authors: the first 5, then et al. with the count
    assert "Ana Lima" in authors and "Emma Stone" in authors and "Femi Ade" not in authors
    assert "et al. (3 more, 8 authors)" in authors
    assert card.xpath(".//a[contains(@class,'chip')]/text()") == ["cs.CL", "cs.LG"]
    links = card.xpath(".//p[@class='links']/a/@href")
    assert f"https://arxiv.org/abs/{ARXIV_ID}" in links and f"https://arxiv.org/pdf/{ARXIV_ID}" in links
    assert "https://github.com/example/refine" in links
    # the abstract is collapsible without JavaScript
    assert card.xpath(".//details[@class='abstract']/summary/text()") == ["Abstract"]
    assert client.get(f"/day/{OLD_DAY}").status_code == 200


@pytest.mark.parametrize("path", ["/day/2001-02-03", "/day/2025-02-30", "/day/yesterday", "/day/2025-3-1"])
def test_unknown_or_bad_days_are_404(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert "Page not found" in r.text and r.headers["content-type"].startswith("text/html")


# -- escaping --------------------------------------------------------------------------------
def test_script_title_is_escaped_everywhere(client):
    for path in ("/", f"/papers/{XSS_ID}", "/search?q=alert+feedback"):
        body = client.get(path).text
        assert "<script>alert(1)</script>" not in body, path
        assert "&lt;script&gt;" in body and "&lt;/script&gt;" in body, path
        assert "<img src=x" not in body and "<b>bold</b>" not in body, path
        assert "<em>O'Hara</em>" not in body, path
        # the only scripts are our own
        scripts = re.findall(r"<script[^>]*>", body)
        assert scripts and all(
            re.fullmatch(r'<script src="/static/[a-z0-9./-]+\.[0-9a-f]{12}\.js"( defer)?>', s) for s in scripts
        ), (path, scripts)
    doc = _doc(client.get(f"/papers/{XSS_ID}"))
    assert doc.xpath("string(//h1)") == XSS_TITLE
    assert "\\alpha<\\beta" in doc.xpath("string(//h1)")


def test_security_headers_on_pages_api_and_errors(client):
    for path in ("/", "/api/health", "/nope", "/api/papers/nope", "/static/style.css"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert r.headers["x-frame-options"] == "DENY"


def test_pages_use_no_external_resources(client):
    for path in ("/", f"/papers/{ARXIV_ID}", "/search?q=code"):
        doc = _doc(client.get(path))
        for url in doc.xpath("//link/@href | //script/@src | //img/@src"):
            assert url.startswith("/"), (path, url)
        # landmarks and labelled inputs
        assert doc.xpath("//header[@role='banner']") and doc.xpath("//main[@id='main']")
        assert doc.xpath("//form[@role='search']")
        for inp in doc.xpath("//input[not(@type='hidden')]"):
            assert doc.xpath(f"//label[@for='{inp.get('id')}']"), (path, inp.get("id"))
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/app.js").status_code == 200


# -- paper page ------------------------------------------------------------------------------
def test_paper_page_full_metadata_bibtex_and_similar(client):
    r = client.get(f"/papers/{ARXIV_ID}")
    assert r.status_code == 200
    doc = _doc(r)
    assert doc.xpath("string(//h1)") == "Iterative Refinement of Program Synthesis with Execution Feedback"
    meta = doc.xpath("string(//dl[@class='meta-list'])")
    for text in (
        "arXiv:2503.11731",
        "(version 2)",
        "cs.CL",
        "cs.CL, cs.LG",
        "14 Mar 2025, 17:59 UTC",
        "20 Mar 2025, 09:00 UTC",
        "Monday, 17 March 2025",
        "10.48550/arXiv.2503.11731",
        "Proc. Test Conf. 2025, 1-12",
        "12 pages, 3 figures",
    ):
        assert text in meta, text
    hrefs = doc.xpath("//a/@href")
    assert "https://doi.org/10.48550/arXiv.2503.11731" in hrefs
    assert "https://github.com/example/refine" in hrefs and f"https://arxiv.org/pdf/{ARXIV_ID}" in hrefs
    # every author links to their author page
    author_links = doc.xpath("//p[contains(@class,'authors')]/a/@href")
    assert len(author_links) == 8
    assert author_links[0] == "/authors/Ana%20Lima"
    bib = doc.xpath("string(//code[@id='bibtex-text'])")
    assert bib.startswith("@misc{lima2025iterative,")
    assert "eprint        = {2503.11731}" in bib and "archivePrefix = {arXiv}" in bib
    assert "primaryClass  = {cs.CL}" in bib
    # similar papers come from the engine, link to paper pages, and exclude the paper itself
    similar = doc.xpath("//section[@class='similar']//li/a/@href")
    assert 3 <= len(similar) <= 8
    assert all(h.startswith("/papers/") for h in similar)
    assert f"/papers/{ARXIV_ID}" not in similar
    assert client.get(similar[0]).status_code == 200


def test_paper_ids_with_slash_and_colon(client):
    r = client.get(f"/papers/{OLD_ID}")
    assert r.status_code == 200
    assert _doc(r).xpath("string(//h1)") == "String Dualities in Low Dimensions"
    bib = client.get(f"/papers/{OLD_ID}/bibtex")
    assert bib.status_code == 200 and bib.headers["content-type"].startswith("application/x-bibtex")
    assert bib.text.startswith("@misc{other1999string,") and "eprint        = {hep-th/9901001}" in bib.text
    assert client.get(f"/papers/{XSS_ID}").status_code == 200
    assert client.get("/papers/local%3Axss-test").status_code == 200  # an encoded ':' works too
    # the day listing links to these pages with the id intact
    assert f'href="/papers/{OLD_ID}"' in client.get(f"/day/{OLD_DAY}").text


@pytest.mark.parametrize(
    "path",
    [
        "/papers/9999.99999",
        "/papers/hep-th/0000000",
        "/papers/local:none",
        "/papers/9999.99999/bibtex",
        "/no/such/page",
    ],
)
def test_unknown_pages_are_friendly_404s(client, path):
    r = client.get(path)
    assert r.status_code == 404
    doc = _doc(r)
    assert doc.xpath("string(//h1)") == "Page not found"
    assert doc.xpath("//a[@href='/']")


def test_server_error_page_is_friendly_and_has_headers(web_app):
    from fastapi.testclient import TestClient

    def boom():
        raise RuntimeError("kaboom")

    with TestClient(web_app, raise_server_exceptions=False) as c:
        engine = web_app.state.engine
        original = engine.search
        engine.search = lambda *a, **k: boom()
        try:
            r = c.get("/search?q=anything")
            api = c.get("/api/search?q=anything")
        finally:
            engine.search = original
    assert r.status_code == 500 and "Something went wrong" in r.text and "kaboom" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff" and "content-security-policy" in r.headers
    assert api.status_code == 500 and api.json() == {"error": "internal server error", "status": 500, "errors": []}


# -- search ----------------------------------------------------------------------------------
def test_search_results_highlight_and_link(client):
    r = client.get("/search", params={"q": "self-refine code generation"})
    assert r.status_code == 200
    doc = _doc(r)
    titles = _titles(doc)
    assert 1 <= len(titles) <= 20
    assert any("Self-Refine" in t or "Refine" in t for t in titles[:5])
    marks = [m.text_content().lower() for m in doc.xpath("//article//mark")]
    assert any(m.startswith("code") for m in marks) and any(m.startswith("refine") for m in marks)
    # the query is kept in the boxes, and the feed of this search is linked
    assert doc.xpath("//input[@id='q']/@value") == ["self-refine code generation"]
    feed = doc.xpath("//a[contains(@class,'feed')]/@href")[0]
    assert parse_qs(urlsplit(feed).query)["q"] == ["self-refine code generation"]
    assert "by meaning and words" in doc.xpath("string(//p[contains(@class,'summary')])")


def test_search_pagination(client):
    first = _doc(client.get("/search", params={"q": "language models"}))
    pager = first.xpath("//nav[@class='pager']//a/@href")
    assert pager, "a broad query over 67 papers has more than one page"
    nxt = first.xpath("//nav[@class='pager']/a[@rel='next']/@href")[0]
    assert parse_qs(urlsplit(nxt).query) == {"q": ["language models"], "page": ["2"]}
    second = _doc(client.get(nxt))
    assert not set(_titles(first)) & set(_titles(second))
    assert second.xpath("//ol/li/span[@aria-current='page']/text()") == ["2"]
    far = client.get("/search", params={"q": "language models", "page": 50})
    assert far.status_code == 200 and "No more results" in far.text
    assert client.get("/search", params={"q": "language models", "page": 51}).status_code == 400


def test_search_empty_state_with_suggestions(client):
    r = client.get("/search", params={"q": "cat:q-bio.NC has:code"})
    assert r.status_code == 200
    doc = _doc(r)
    assert not _titles(doc)
    assert doc.xpath(
        "string(//section[@class='empty']/h2)"
    ) == "No papers match “cat:q-bio.NC has:code”" or "No papers match" in doc.xpath(
        "string(//section[@class='empty']/h2)"
    )
    assert "Remove a filter" in r.text and "Check the spelling" in r.text


def test_search_error_state_shows_query_problems(client):
    r = client.get("/search", params={"q": "feedback after:2024-13-45"})
    assert r.status_code == 200
    doc = _doc(r)
    alert = doc.xpath("string(//div[@role='alert'])")
    assert "after:2024-13-45 is not a date" in alert


def test_search_without_query_shows_the_form(client):
    r = client.get("/search")
    assert r.status_code == 200
    doc = _doc(r)
    assert doc.xpath("string(//h1)") == "Search papers"
    assert doc.xpath("//form[@class='refine']//input[@name='cat']")
    assert not _titles(doc)
    long = client.get("/search", params={"q": "x" * 501})
    assert long.status_code == 400 and "too long" in long.text


def test_filter_fields_compose_the_query(client):
    r = client.get(
        "/search",
        params={"f": "1", "q": "refine cat:cs.AI", "cat": "cs.CL", "after": "2025-01-01", "before": "", "code": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    q = parse_qs(urlsplit(r.headers["location"]).query)["q"]
    assert q == ["refine cat:cs.CL after:2025-01-01 has:code"]
    # the fields are pre-filled from the query on the results page
    doc = _doc(client.get(r.headers["location"]))
    assert doc.xpath("//input[@id='cat']/@value") == ["cs.CL"]
    assert doc.xpath("//input[@id='after']/@value") == ["2025-01-01"]
    assert doc.xpath("//input[@id='code']/@checked")
    assert _titles(doc) == ["Iterative Refinement of Program Synthesis with Execution Feedback"]


def test_words_only_note_when_embeddings_pending(web_app):
    from fastapi.testclient import TestClient

    engine = web_app.state.engine
    original = engine.search

    def lexical(*a, **k):
        res = original(*a, **k)
        res.mode = "lexical"
        return res

    engine.search = lexical
    try:
        with TestClient(web_app) as c:
            text = c.get("/search", params={"q": "feedback"}).text
    finally:
        engine.search = original
    assert "words only" in text


def test_search_unavailable_without_engine(web_settings, web_store):
    from fastapi.testclient import TestClient

    from paperwire.web.app import create_app

    app = create_app(web_settings, store=web_store, engine=None, background=False)
    app.state.engine = None  # as if the search layer could not be loaded
    with TestClient(app) as c:
        r = c.get("/search", params={"q": "x"})
        assert r.status_code == 503 and "not available" in r.text
        assert c.get("/").status_code == 200
        page = c.get(f"/papers/{ARXIV_ID}")
        assert page.status_code == 200 and "appear once search is set up" in unescape(page.text)
        assert c.get("/api/search", params={"q": "x"}).status_code == 503


def test_star_counts_read_like_repository_pages():
    from paperwire.web.render import stars

    assert [stars(n) for n in (None, 0, 999, 1000, 1234, 9_960, 12_345, 123_456)] == [
        "",
        "0",
        "999",
        "1k",
        "1.2k",
        "10k",
        "12k",
        "123k",
    ]
