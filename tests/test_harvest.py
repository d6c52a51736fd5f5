"""Incremental harvesting: windows, --since-last with overlap, zero-paper weekday warnings."""

from __future__ import annotations

from datetime import date

import pytest

from arxiv_server import ABS_0704, SKIP_REASON, OaiRepository, first_submitted, load_0704, make_settings, recorded_reply
from paperwire.sources.harvest import make_api_source, make_oai_source
from paperwire.sources.harvest_source import Window, choose_window
from paperwire.sources.http import HttpError
from paperwire.sources.runner import run_ingest

needs_data = pytest.mark.skipif(not ABS_0704.exists(), reason=SKIP_REASON)


# -- choosing the window ------------------------------------------------------------------------


def test_first_since_last_run_covers_the_last_three_days():
    w = choose_window(None, since_last=True, today=date(2025, 1, 10))
    assert w == Window(date(2025, 1, 8), date(2025, 1, 10))


def test_since_last_starts_overlap_days_before_the_last_until():
    stored = {"last": {"from": "2025-01-01", "until": "2025-01-07"}, "resume": None, "window": None}
    w = choose_window(stored, since_last=True, overlap_days=2, today=date(2025, 1, 10))
    assert w == Window(date(2025, 1, 5), date(2025, 1, 10))
    # run again the same day: still overlapping, never an empty window
    w = choose_window(
        {"last": {"from": "2025-01-05", "until": "2025-01-10"}},
        since_last=True,
        overlap_days=0,
        today=date(2025, 1, 10),
    )
    assert w == Window(date(2025, 1, 10), date(2025, 1, 10))


def test_explicit_dates_and_unfinished_runs():
    today = date(2025, 1, 10)
    assert choose_window(None, date_from="2024-12-30", date_to="2025-01-02", today=today) == Window(
        date(2024, 12, 30), date(2025, 1, 2)
    )
    unfinished = {"window": {"from": "2025-01-01", "until": "2025-01-03"}, "resume": {"token": "x"}}
    assert choose_window(unfinished, today=today) == Window(date(2025, 1, 1), date(2025, 1, 3))
    # other dates given: a new window, the unfinished one is dropped
    assert choose_window(unfinished, date_from="2025-01-05", today=today) == Window(date(2025, 1, 5), today)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        choose_window(None, date_from="01/05/2025", today=today)
    with pytest.raises(ValueError, match="empty date window"):
        choose_window(None, date_from="2025-01-05", date_to="2025-01-01", today=today)


# -- against the local server ---------------------------------------------------------------------


@needs_data
def test_since_last_second_run_overlaps_the_first(srv, tmp_path, store, db_url):
    srv.route("/oai", OaiRepository(load_0704(), page_size=100))
    settings = make_settings(tmp_path, srv, database_url=db_url, harvest_overlap_days=2)
    first = make_oai_source(settings, store, "math", "2007-04-02", None, since_last=True, today=date(2007, 4, 5))
    r1 = run_ingest(store, first, progress=False)
    assert srv.requests("/oai")[0].query["from"] == "2007-04-02"
    assert srv.requests("/oai")[0].query["until"] == "2007-04-05"
    assert store.papers.source_state(first.key)["last"] == {"from": "2007-04-02", "until": "2007-04-05"}

    n = len(srv.requests("/oai"))
    second = make_oai_source(settings, store, "math", None, None, since_last=True, today=date(2007, 4, 9))
    r2 = run_ingest(store, second, progress=False)
    q = srv.requests("/oai")[n].query
    assert (q["from"], q["until"]) == ("2007-04-03", "2007-04-09")  # previous until - 2 days
    # the overlap days (3rd-5th) come again and change nothing; the new days are added
    assert r1.inserted == 37 + 36 + 48 + 34
    assert r2.unchanged == 36 + 48 + 34 and r2.inserted == 40 + 7 + 3
    assert store.papers.source_state(second.key)["last"] == {"from": "2007-04-03", "until": "2007-04-09"}


@needs_data
def test_zero_paper_weekday_warning_and_recheck(srv, tmp_path, store, db_url):
    records = load_0704()
    late = [r for r in records if first_submitted(r) != "2007-04-04"]  # arXiv has not indexed Wednesday yet
    repo = OaiRepository(late, page_size=100)
    srv.route("/oai", repo)
    settings = make_settings(tmp_path, srv, database_url=db_url, harvest_overlap_days=2)
    source = make_oai_source(settings, store, "cs", "2007-04-02", "2007-04-06", since_last=True, today=date(2007, 4, 6))
    report = run_ingest(store, source, progress=False)
    assert report.inserted == 5 + 5 + 5 + 9
    assert report.warnings == [
        "no cs papers for Wed 2007-04-04: arXiv may be late; the next --since-last run re-checks this day"
    ]
    # the next --since-last run starts at the 4th (6th - 2 days): Wednesday's papers are found
    repo.records = records
    again = make_oai_source(settings, store, "cs", None, None, since_last=True, today=date(2007, 4, 9))
    report2 = run_ingest(store, again, progress=False)
    assert report2.inserted == 5 + 2 and report2.unchanged == 5 + 9  # Wednesday's 5, Saturday's 2
    assert store.papers.day_counts("cs.", "2007-04-04")["2007-04-04"] == 5
    # no warning: Wednesday is there now, the weekend (7th, 8th) is never judged, and
    # Monday the 9th is "today": not over yet, judged by the next run
    assert report2.warnings == []
    later = make_oai_source(settings, store, "cs", None, None, since_last=True, today=date(2007, 4, 11))
    report3 = run_ingest(store, later, progress=False)
    assert report3.warnings == [  # the data has no cs paper submitted on Mon 9th or Tue 10th
        "no cs papers for Mon 2007-04-09: arXiv may be late; the next --since-last run re-checks this day",
        "no cs papers for Tue 2007-04-10: arXiv may be late; the next --since-last run re-checks this day",
    ]


def interrupted_harvest(srv, tmp_path, store, db_url):
    """An OAI harvest of cs for 2007-04-02..03 that fails from its second page on (5 papers a page):
    returns the repository (set ``fail_from_page = None`` to heal it) and the settings."""
    repo = OaiRepository(load_0704(), page_size=5)
    repo.fail_from_page = 2
    srv.route("/oai", repo)
    settings = make_settings(tmp_path, srv, database_url=db_url, http_retries=0)
    with pytest.raises(HttpError, match="HTTP 500"):
        run_ingest(
            store,
            make_oai_source(settings, store, "cs", "2007-04-02", "2007-04-03", today=date(2007, 4, 6)),
            batch_size=5,
            progress=False,
        )
    return repo, settings


@needs_data
def test_weekday_check_counts_papers_stored_by_an_earlier_interrupted_run(srv, tmp_path, store, db_url):
    repo, settings = interrupted_harvest(srv, tmp_path, store, db_url)
    assert store.papers.count() == 5  # Monday's five
    repo.fail_from_page = None
    report = run_ingest(
        store, make_oai_source(settings, store, "cs", today=date(2007, 4, 6)), batch_size=5, progress=False
    )
    assert report.resumed_from and report.inserted == 5
    assert report.warnings == []  # Monday was harvested by the first run, not this one


@needs_data
def test_api_weekday_warning_for_a_day_without_results(srv, tmp_path, store, db_url):
    def route(req):
        if "20250106" in req.query["search_query"]:
            return recorded_reply("q_testing_s0_m10_", total=10)
        return recorded_reply("id_0000.0000_")  # totalResults 0

    srv.route("/api/query", route)
    settings = make_settings(tmp_path, srv, database_url=db_url)
    source = make_api_source(
        settings, store, ["cs.SE"], "2025-01-04", "2025-01-07", today=date(2025, 1, 10), page_size=10
    )
    report = run_ingest(store, source, progress=False)
    assert report.inserted == 10
    assert report.warnings == [
        "no cs.SE papers for Tue 2025-01-07: arXiv may be late; the next --since-last run re-checks this day"
    ]
    assert len(srv.requests("/api/query")) == 4  # Sat, Sun, Mon, Tue: one query each


@needs_data
def test_new_dates_abandon_an_unfinished_window(srv, tmp_path, store, db_url):
    repo, settings = interrupted_harvest(srv, tmp_path, store, db_url)
    repo.fail_from_page = None
    n = len(srv.requests("/oai"))
    report = run_ingest(
        store,
        make_oai_source(settings, store, "cs", "2007-04-05", "2007-04-06", today=date(2007, 4, 6)),
        progress=False,
    )
    assert report.resumed_from is None
    assert srv.requests("/oai")[n].query["from"] == "2007-04-05"  # a fresh listing, not the old token
    assert report.inserted == 5 + 9
