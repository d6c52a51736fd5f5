"""Every date a source gives must be a real calendar date, and no paper may be listed or submitted
far in the future: a bad date is reported with the record's line and the reason, the record is
skipped whole, and the real papers keep the home page (the latest listing day). Real records
(arXiv daily listings, the arXiv 0704 snapshot, recorded arXiv API answers, OAI-PMH pages built
from real records, Hugging Face daily items) with their dates broken; a real database (SQLite,
then PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from paperwire.models import MAX_FUTURE_DAYS, Paper, RecordError, iso_datetime, validated
from paperwire.sources.jsonl import JsonlSource
from paperwire.sources.runner import run_ingest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DAILY = DATA / "arxiv-daily" / "sample_1000.jsonl"
SNAPSHOT = DATA / "arxiv-abs-0704" / "arxiv_0704_parsed.jsonl"

needs_data = pytest.mark.skipif(not DAILY.exists(), reason=f"shared test data not found at {DATA}")


def today() -> datetime:
    return datetime.now(UTC)


def day(offset: int) -> str:
    return (today() + timedelta(days=offset)).date().isoformat()


def real_lines(path: Path, n: int) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(next(f)) for _ in range(n)]


# -- the shared rules (models.py), which every source goes through ----------------------------


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("2026-13-45", "no such day"),
        ("2025-02-30", "no such day"),
        ("2025-00-10", "no such day"),
        ("2025-1-05", "YYYY-MM-DD"),
        ("2025-01-05x", "YYYY-MM-DD"),
        ("20250105", "YYYY-MM-DD"),  # date.fromisoformat takes it; a listing date is written out
        ("2025-W01-1", "YYYY-MM-DD"),
        ("2025-01-05\n2025-01-06", "YYYY-MM-DD"),
        (20250105, "YYYY-MM-DD"),
    ],
)
def test_listing_date_must_be_a_real_calendar_day(raw, reason):
    with pytest.raises(RecordError, match="invalid listing date") as e:
        validated(Paper(id="x:1", title="T", announced=raw))
    assert reason in str(e.value)


@pytest.mark.parametrize(
    "raw",
    [
        "2025-02-30",
        "2025-02-30T10:00:00Z",
        "2026-13-45T00:00:00",
        "Sun, 30 Feb 2025 10:00:00 GMT",
        "2025-02-28T25:00:00Z",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:00:00-05:00",
        "yesterday",
    ],
)
def test_submitted_and_updated_must_be_real_dates(raw):
    for name in ("submitted", "updated"):
        with pytest.raises(RecordError, match="invalid date"):
            validated(Paper(id="x:1", title="T", **{name: raw}))


def test_trailing_whitespace_is_not_stored():
    p = validated(Paper(id="x:1", title="T", announced="2026-12-01\n", submitted=" 2026-11-30\n"))
    assert (p.announced, p.submitted) == ("2026-12-01", "2026-11-30T00:00:00Z")
    assert iso_datetime("2024-02-29") == "2024-02-29T00:00:00Z"  # a real leap day stays
    assert iso_datetime("Mon, 2 Apr 2007 19:18:42 +0200") == "2007-04-02T17:18:42Z"


def test_far_future_dates_are_refused_a_few_days_ahead_are_not():
    ok = validated(Paper(id="x:1", title="T", announced=day(MAX_FUTURE_DAYS), submitted=day(1)))
    assert ok.announced == day(MAX_FUTURE_DAYS)
    for fields in (
        {"announced": day(MAX_FUTURE_DAYS + 1)},
        {"announced": "9999-12-31"},
        {"submitted": day(MAX_FUTURE_DAYS + 1)},
        {"submitted": "9999-12-31T00:00:00Z"},
        {"updated": "2999-01-01"},
    ):
        with pytest.raises(RecordError, match="in the future") as e:
            validated(Paper(id="x:1", title="T", **fields))
        assert f"{MAX_FUTURE_DAYS} days" in str(e.value)


# -- through a whole ingest, on both databases ---------------------------------------------------


@needs_data
def test_bad_dates_in_a_jsonl_file_are_reported_and_the_real_days_stay(store, tmp_path):
    recs = real_lines(DAILY, 6)
    real_latest = max(r["listing_date"] for r in recs)
    bad = [
        ({"id": "x:1", "title": "Bad date", "listing_date": "2026-13-45"}, "invalid listing date '2026-13-45'"),
        (dict(recs[0], id="2503.90001", listing_date="2025-02-30"), "no such day"),
        (dict(recs[1], id="2503.90002", published="2025-02-30"), "invalid date '2025-02-30'"),
        (dict(recs[2], id="2503.90003", listing_date="9999-12-31"), "in the future"),
        (dict(recs[3], id="2503.90004", listing_date=day(30)), "in the future"),
        (dict(recs[4], id="2503.90005", published="9999-12-31T00:00:00Z"), "in the future"),
    ]
    lines = [json.dumps(r) for r in recs]
    bad_lines = {}
    for rec, reason in bad:
        lines.append(json.dumps(rec))
        bad_lines[f"line {len(lines)}"] = reason
    newline = dict(recs[5], id="2503.90006", listing_date=recs[5]["listing_date"] + "\n")
    lines.append(json.dumps(newline))
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join(lines) + "\n")

    report = run_ingest(store, JsonlSource(path), progress=False)

    assert report.inserted == len(recs) + 1 and report.skipped == len(bad), report.errors
    got = dict(report.errors)
    assert sorted(got) == sorted(bad_lines)
    for where, reason in bad_lines.items():
        assert reason in got[where], (where, got[where])
    assert sorted(store.papers.run_errors(report.run_id)) == sorted(report.errors)
    for rec, _ in bad:
        assert store.papers.get(rec["id"]) is None
    assert store.papers.get("2503.90006").announced == recs[5]["listing_date"]  # no newline
    assert store.papers.latest_day() == real_latest
    assert store.papers.count_on_day(real_latest) == sum(r["listing_date"] == real_latest for r in recs + [recs[5]])


# -- every other source: its parser, then the shared validation the runner applies ----------------


@pytest.mark.skipif(not SNAPSHOT.exists(), reason=f"shared test data not found at {DATA}")
def test_snapshot_records_with_impossible_dates_are_refused():
    from paperwire.sources.snapshot import snapshot_record_to_paper

    rec = real_lines(SNAPSHOT, 1)[0]
    assert validated(snapshot_record_to_paper(rec)).submitted.startswith("2007-")
    broken = dict(rec, versions=[dict(rec["versions"][0], created="Fri, 30 Feb 2007 19:18:42 GMT")])
    with pytest.raises(RecordError, match="invalid date"):
        validated(snapshot_record_to_paper(broken))
    with pytest.raises(RecordError, match="invalid date"):
        validated(snapshot_record_to_paper(dict(rec, versions=[], update_date="2008-11-31")))


@pytest.mark.skipif(not (DATA / "arxiv-api-atom").exists(), reason=f"shared test data not found at {DATA}")
def test_arxiv_api_entries_with_impossible_dates_are_refused():
    import re

    from arxiv_server import recorded
    from paperwire.sources.arxiv_api import parse_atom

    body = recorded("q_testing_s0_m10_")["body"]
    assert all(validated(p) for _, p, err in parse_atom(body.encode()).entries if err is None)
    broken, n = re.subn(r"<published>[^<]*</published>", "<published>2025-02-30T10:00:00Z</published>", body, count=1)
    assert n == 1
    first = parse_atom(broken.encode()).entries[0]
    with pytest.raises(RecordError, match="invalid date '2025-02-30T10:00:00Z'"):
        validated(first[1])


@pytest.mark.skipif(not SNAPSHOT.exists(), reason=f"shared test data not found at {DATA}")
def test_arxiv_oai_records_with_impossible_dates_are_refused():
    import re

    from arxiv_server import load_0704, oai_list_records, oai_record_xml
    from paperwire.sources.arxiv_oai import parse_list_records

    recs = load_0704()[:2]
    xml = [oai_record_xml(r) for r in recs]
    xml[1], n = re.subn(r"<created>[^<]*</created>", "<created>2007-04-31</created>", xml[1])
    assert n == 1
    page = parse_list_records(
        oai_list_records(xml, {"verb": "ListRecords"}, token=None, cursor=0, complete_size=2).encode()
    )
    (loc0, good, _), (loc1, bad, _) = page.records
    assert validated(good).submitted.startswith("2007-")
    with pytest.raises(RecordError, match="invalid date '2007-04-31'"):
        validated(bad)


def test_hf_daily_items_with_impossible_or_future_dates_are_refused():
    from paperwire.sources.hf_daily import item_to_record
    from test_hf_import import item

    assert item_to_record(item(), None, "x").listed_day == "2026-08-21"
    it = item()
    it["_daily_date"] = "2026-02-30"
    with pytest.raises(RecordError, match="invalid _daily_date '2026-02-30'"):
        item_to_record(it, None, "x")
    with pytest.raises(RecordError, match="invalid date"):
        item_to_record(item(submittedOnDailyAt="2026-08-32T06:30:00.000Z"), None, "x")
    with pytest.raises(RecordError, match="in the future"):
        item_to_record(item(submittedOnDailyAt="9999-01-01T06:30:00.000Z"), None, "x")
    with pytest.raises(RecordError, match="in the future"):
        item_to_record(item(), "9999-12-31", "x")
