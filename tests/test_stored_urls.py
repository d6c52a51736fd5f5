"""Links stored with a paper (abs_url, pdf_url, code_url) must parse as http(s) URLs with a real
host, not merely start like one: they are shown as links on every card and in the feeds."""

from __future__ import annotations

import json

import pytest

from paperwire.models import Paper, RecordError, is_http_url, validated

GOOD = [
    "https://github.com/owner/repo",
    "http://example.org",
    "HTTPS://GitHub.com/x",
    "https://[::1]:8080/x",
    "http://127.0.0.1/",
    "https://bücher.de/x",
    "https://example.org/?q=a&b=<c>",
    "https://host.org:443/",
]
BAD = [
    "https://",
    "http:// github.com/x",
    "https://exa mple.org",
    "https://[::1",
    "https://host:99999/",
    "http://<script>/x",
    "https://host:abc/",
    "https:///path",
    "https://-bad-.org/",
    "https://a..b/",
    "https://github.com/x\ty",
    "javascript:alert(1)",
    "ftp://example.org/x",
    "//example.org/x",
    "github.com/x",
]


@pytest.mark.parametrize("url", GOOD)
def test_http_urls_that_parse_are_kept(url):
    assert is_http_url(url)
    assert validated(Paper(id="local:u", title="T", code_url=url, pdf_url=url)).code_url == url


@pytest.mark.parametrize("url", BAD)
def test_urls_that_only_start_like_one_are_refused(url):
    assert not is_http_url(url)
    for field in ("code_url", "abs_url", "pdf_url"):
        with pytest.raises(RecordError, match=f"{field} must be an http\\(s\\) URL"):
            validated(Paper(id="local:u", title="T", **{field: url}))


def test_a_line_with_a_broken_code_url_is_reported_and_the_rest_stored(tmp_path, store):
    from paperwire.sources.jsonl import JsonlSource
    from paperwire.sources.runner import run_ingest

    path = tmp_path / "papers.jsonl"
    lines = [
        {"id": "local:a", "title": "Kept", "code_url": "https://github.com/a/b"},
        {"id": "local:b", "title": "Refused", "code_url": "https://"},
        {"id": "local:c", "title": "Refused too", "pdf_url": "http://exa mple.org/c.pdf"},
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    report = run_ingest(store, JsonlSource(path), progress=False)
    assert report.inserted == 1 and store.papers.get("local:a").code_url == "https://github.com/a/b"
    assert store.papers.get("local:b") is None and store.papers.get("local:c") is None
    assert report.skipped == 2
    reasons = [reason for _, reason in report.errors]
    assert "code_url must be an http(s) URL, not 'https://'" in reasons
    assert any(r.startswith("pdf_url must be an http(s) URL") for r in reasons), reasons


def test_hugging_face_import_drops_a_repo_link_that_does_not_parse_and_keeps_the_paper():
    from paperwire.sources.hf_daily import item_to_record

    paper = {
        "id": "2608.00001",
        "title": "A Paper",
        "summary": "We study things.",
        "upvotes": 1,
        "authors": [{"name": "Ada Lovelace"}],
        "publishedAt": "2026-08-20T00:00:00.000Z",
        "githubRepo": "https://github.com/Owner/Repo oops",
    }
    rec = item_to_record({"paper": paper, "title": "A Paper"}, "2026-08-21", "x item 1")
    assert rec.paper.id == "2608.00001" and rec.paper.code_url is None


def test_hugging_face_repo_links_lose_tabs_and_newlines_as_in_a_browser():
    from paperwire.sources.hf_daily import item_to_record

    paper = {
        "id": "2608.00002",
        "title": "B Paper",
        "summary": "We study things.",
        "upvotes": 1,
        "authors": [{"name": "Ada Lovelace"}],
        "publishedAt": "2026-08-20T00:00:00.000Z",
        "githubRepo": "https://github.com/\nFightingFighting/NeuroAda.git",
    }  # as in the real data
    rec = item_to_record({"paper": paper, "title": "B Paper"}, "2026-08-21", "x item 1")
    assert rec.paper.code_url == "https://github.com/FightingFighting/NeuroAda.git"
    assert rec.github_repo == "fightingfighting/neuroada"
