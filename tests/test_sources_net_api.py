"""The arXiv API source against a local server serving the REAL recorded Atom responses."""

from __future__ import annotations

from datetime import date

import pytest

from arxiv_server import DATA, SKIP_REASON, Reply, make_settings, recorded, recorded_reply
from paperwire.sources.arxiv_api import ArxivApiError, fetch_by_ids, parse_atom
from paperwire.sources.harvest import make_api_source
from paperwire.sources.http import HttpError
from paperwire.sources.runner import run_ingest

pytestmark = pytest.mark.skipif(not (DATA / "arxiv-api-atom").exists(), reason=SKIP_REASON)

TODAY = date(2025, 1, 10)  # a Friday
PAGES = {s: f"q_testing_s{s}_m10_" for s in (0, 10, 20, 30, 40, 50)}


def paging_route(total: int = 60, fail_from: int | None = None):
    """Serve the recorded pages of 10 by start offset; an empty recorded feed past the end."""

    def route(req):
        start = int(req.query["start"])
        if fail_from is not None and start >= fail_from:
            raise RuntimeError("simulated outage")
        if start in PAGES and start < total:
            return recorded_reply(PAGES[start], total=total)
        return recorded_reply("id_0000.0000_", total=total)

    return route


def id_route(req):
    ids = req.query["id_list"].replace("/", "_").replace(",", "_")
    return recorded_reply(f"id_{ids}_s0_m100_")


def test_parse_recorded_entry_fields():
    page = parse_atom(recorded("q_testing_s0_m10_")["body"].encode("utf-8"))
    assert page.total == 214881 and page.start == 0 and len(page.entries) == 10
    location, p, error = page.entries[0]
    assert error is None and location == "entry arXiv:2202.12139"
    assert (p.id, p.version) == ("2202.12139", 1)
    assert p.title == "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    assert p.authors == ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"]
    assert p.categories == ["cs.SE", "cs.LG"] and p.primary_category == "cs.SE"
    assert p.submitted == "2022-02-24T15:05:19Z" and p.updated == "2022-02-24T15:05:19Z"
    assert p.doi == "10.1109/ICSTW55395.2022.00035"
    assert p.journal_ref.startswith("Artificial Intelligence in Software Testing @ 2022 IEEE")
    assert p.comments == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert p.abs_url == "https://arxiv.org/abs/2202.12139" and p.pdf_url == "https://arxiv.org/pdf/2202.12139"
    assert p.abstract.startswith("Deep Learning (DL) has revolutionized")


def test_paging_through_a_day_stores_every_page(srv, tmp_path, store, db_url):
    srv.route("/api/query", paging_route())
    settings = make_settings(tmp_path, srv, database_url=db_url)
    source = make_api_source(settings, store, ["cs.SE"], "2025-01-07", "2025-01-07", today=TODAY, page_size=10)
    report = run_ingest(store, source, batch_size=25, progress=False)
    reqs = srv.requests("/api/query")
    assert [int(r.query["start"]) for r in reqs] == [0, 10, 20, 30, 40, 50]  # stopped at totalResults
    q = reqs[0].query
    assert q["search_query"] == "cat:cs.SE AND submittedDate:[202501070000 TO 202501072359]"
    assert (q["sortBy"], q["sortOrder"], q["max_results"]) == ("submittedDate", "ascending", "10")
    assert report.inserted == 60 and report.skipped == 0 and store.papers.count() == 60
    assert report.warnings == []
    assert (
        store.papers.get("2405.13786").title
        == "Towards Explainable Test Case Prioritisation with Learning-to-Rank Models"
    )
    state = store.papers.source_state(source.key)
    assert state["resume"] is None and state["last"] == {"from": "2025-01-07", "until": "2025-01-07"}


def test_reharvest_is_idempotent(srv, tmp_path, store, db_url):
    srv.route("/api/query", paging_route(total=20))
    settings = make_settings(tmp_path, srv, database_url=db_url)
    first = run_ingest(
        store,
        make_api_source(settings, store, ["cs.SE"], "2025-01-07", "2025-01-07", today=TODAY, page_size=10),
        progress=False,
    )
    seq = store.papers.max_seq()
    second = run_ingest(
        store,
        make_api_source(settings, store, ["cs.SE"], "2025-01-07", "2025-01-07", today=TODAY, page_size=10),
        progress=False,
    )
    assert first.inserted == 20
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 20)
    assert store.papers.max_seq() == seq  # nothing changed, so the indexers have nothing to do


def test_one_query_per_day_and_or_of_categories(srv, tmp_path, store, db_url):
    srv.route("/api/query", paging_route(total=10))
    settings = make_settings(tmp_path, srv, database_url=db_url)
    source = make_api_source(settings, store, "cs.SE,cs.LG", "2025-01-06", "2025-01-12", today=TODAY, page_size=10)
    run_ingest(store, source, progress=False)
    queries = [r.query["search_query"] for r in srv.requests("/api/query")]
    # Mon 6 .. Fri 10; the 11th and 12th are after "today" and not asked for
    assert queries == [
        f"(cat:cs.SE OR cat:cs.LG) AND submittedDate:[2025010{d}0000 TO 2025010{d}2359]" for d in range(6, 10)
    ] + ["(cat:cs.SE OR cat:cs.LG) AND submittedDate:[202501100000 TO 202501102359]"]


def test_empty_page_despite_total_is_retried_then_reported(srv, tmp_path, store, db_url):
    srv.route("/api/query", paging_route(total=60))
    # start=10 keeps coming back empty although totalResults says 60
    srv.route(
        "/api/query",
        lambda req: (
            recorded_reply(PAGES[0], total=60)
            if req.query["start"] == "0"
            else recorded_reply("id_0000.0000_", total=60)
        ),
    )
    settings = make_settings(tmp_path, srv, database_url=db_url)
    source = make_api_source(settings, store, ["cs.SE"], "2025-01-07", "2025-01-07", today=TODAY, page_size=10)
    report = run_ingest(store, source, progress=False)
    starts = [r.query["start"] for r in srv.requests("/api/query")]
    assert starts == ["0", "10", "10", "10"]
    assert report.inserted == 10
    assert len(report.warnings) == 1
    assert "empty page although totalResults=60" in report.warnings[0] and "2025-01-07" in report.warnings[0]


def test_empty_page_recovers_on_retry(srv, tmp_path, store, db_url):
    srv.route("/api/query", paging_route(total=20))
    srv.queue("/api/query", recorded_reply(PAGES[0], total=20), recorded_reply("id_0000.0000_", total=20))
    settings = make_settings(tmp_path, srv, database_url=db_url)
    report = run_ingest(
        store,
        make_api_source(settings, store, ["cs.SE"], "2025-01-07", "2025-01-07", today=TODAY, page_size=10),
        progress=False,
    )
    assert [r.query["start"] for r in srv.requests("/api/query")] == ["0", "10", "10"]
    assert report.inserted == 20 and report.warnings == []


def test_error_entry_with_400_is_reported_at_once(srv, tmp_path, store, db_url):
    srv.route("/api/query", lambda req: recorded_reply("id_abc_"))  # HTTP 400 + an "Error" entry
    settings = make_settings(tmp_path, srv, database_url=db_url)
    source = make_api_source(settings, store, ["cs.SE"], "2025-01-07", "2025-01-07", today=TODAY, page_size=10)
    with pytest.raises(ArxivApiError, match="arXiv API error: incorrect id format for abc"):
        run_ingest(store, source, progress=False)
    assert len(srv.requests("/api/query")) == 1
    assert store.papers.count() == 0


def test_transient_error_entry_is_retried(srv, tmp_path, store, db_url):
    error_body = recorded("id_abc_")["body"]
    srv.route("/api/query", paging_route(total=10))
    srv.queue("/api/query", Reply(200, error_body))
    settings = make_settings(tmp_path, srv, database_url=db_url)
    report = run_ingest(
        store,
        make_api_source(settings, store, ["cs.SE"], "2025-01-07", "2025-01-07", today=TODAY, page_size=10),
        progress=False,
    )
    assert len(srv.requests("/api/query")) == 2 and report.inserted == 10


def test_persistent_error_entry_fails_after_retries(srv, tmp_path, store, db_url):
    error_body = recorded("id_abc_")["body"]
    srv.route("/api/query", lambda req: Reply(200, error_body))
    settings = make_settings(tmp_path, srv, database_url=db_url)
    source = make_api_source(settings, store, ["cs.SE"], "2025-01-07", "2025-01-07", today=TODAY, page_size=10)
    with pytest.raises(ArxivApiError) as err:
        run_ingest(store, source, progress=False)
    assert "3 tries" in str(err.value) and "resumes at this page" in str(err.value)
    assert len(srv.requests("/api/query")) == 3


def test_killed_harvest_resumes_from_last_committed_page(srv, tmp_path, store, db_url):
    srv.route("/api/query", paging_route(total=60, fail_from=30))
    settings = make_settings(tmp_path, srv, database_url=db_url)

    def make():
        return make_api_source(settings, store, ["cs.SE"], "2025-01-07", "2025-01-07", today=TODAY, page_size=10)

    with pytest.raises(HttpError, match="HTTP 500"):
        run_ingest(store, make(), batch_size=10, progress=False)
    assert store.papers.count() == 30
    assert store.papers.source_state(make().key)["resume"]["start"] == 30

    srv.route("/api/query", paging_route(total=60))
    n_before = len(srv.requests("/api/query"))
    report = run_ingest(store, make(), batch_size=10, progress=False)
    resumed = [int(r.query["start"]) for r in srv.requests("/api/query")[n_before:]]
    assert resumed == [30, 40, 50]  # not one page fetched twice
    assert report.resumed_from == "2025-01-07 offset 30"
    assert report.inserted == 30 and store.papers.count() == 60


def test_fetch_by_ids_with_recorded_lookups(srv, tmp_path):
    srv.route("/api/query", id_route)
    settings = make_settings(tmp_path, srv)
    [old] = fetch_by_ids(settings, ["astro-ph/0601001"])
    assert old.id == "astro-ph/0601001" and old.version == 1
    assert old.authors == ["Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski"]
    assert old.journal_ref == "ActaAstron.56:1-50,2006" and old.primary_category == "astro-ph"
    [versioned] = fetch_by_ids(settings, ["arXiv:2104.12255v1"])
    assert versioned.id == "2104.12255" and versioned.version == 1
    assert srv.requests("/api/query")[-1].query["id_list"] == "2104.12255v1"
    # one id arXiv does not have, one it has
    found = fetch_by_ids(settings, ["0808.05394", "https://arxiv.org/abs/1707.08567"])
    assert [p.id for p in found] == ["1707.08567"]
    assert fetch_by_ids(settings, ["0808.05394"]) == []


def test_fetch_by_ids_rejects_non_ids_without_asking(srv, tmp_path):
    settings = make_settings(tmp_path, srv)
    with pytest.raises(ValueError, match="not arXiv ids: 'abc'"):
        fetch_by_ids(settings, ["abc"])
    assert srv.requests() == []


def test_fetch_by_ids_reports_arxiv_error(srv, tmp_path):
    srv.queue("/api/query", recorded_reply("id_abc_"))
    with pytest.raises(ArxivApiError, match="incorrect id format for abc"):
        fetch_by_ids(make_settings(tmp_path, srv), ["1605.08386"])
