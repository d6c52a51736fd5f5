"""Hugging Face daily-papers import: the three real input shapes (day file, JSON lines, tar of day
files with Python-repr items and one wrapped file), malformed items, idempotence, local votes
kept, richer records left alone, and the `paperwire import-hf` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHARED_DATA, sign_in
from paperwire.models import Paper
from paperwire.sources.hf_daily import item_to_record, read_hf
from paperwire.trending.hf_import import import_hf

HF = SHARED_DATA / "hf-daily-papers"
SAMPLE = HF / "sample_raw_2026-08-21.json"
NORMALIZED = HF / "hf_daily_papers_normalized.jsonl.gz"
RAW_TAR = HF / "raw_daily_papers_json.tar.gz"
needs_hf = pytest.mark.skipif(not SAMPLE.exists(), reason=f"Hugging Face daily papers not found at {HF}")


def item(pid="2608.00001", title="A Paper", upvotes=3, **paper_fields) -> dict:
    """One API item in the API's shape (fictitious content)."""
    paper = {
        "id": pid,
        "authors": [{"_id": "x", "name": "Ada Lovelace", "hidden": False}, {"name": "Bo Li"}],
        "publishedAt": "2026-08-20T00:00:00.000Z",
        "submittedOnDailyAt": "2026-08-21T06:30:00.000Z",
        "title": title,
        "summary": "We study  things.",
        "upvotes": upvotes,
        "githubRepo": "https://github.com/Owner/Repo",
        "githubStars": 12,
        **paper_fields,
    }
    return {"paper": paper, "publishedAt": "2026-08-19T20:00:00.000Z", "title": title, "numComments": 0}


def community(store, paper_id):
    row = store.conn.execute(
        "SELECT pc.* FROM paper_community pc JOIN papers p ON p.pk = pc.paper_pk WHERE p.id=?", (paper_id,)
    ).fetchone()
    return dict(row) if row else None


def table_counts(store) -> dict:
    return {
        t: store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("papers", "paper_community", "repo_stars", "repos")
    }


# -- parsing -----------------------------------------------------------------------------------


def test_item_to_record_maps_every_field():
    rec = item_to_record(item(), "2026-08-21", "x item 1")
    p = rec.paper
    assert (p.id, p.title, p.abstract, p.authors) == (
        "2608.00001",
        "A Paper",
        "We study things.",
        ["Ada Lovelace", "Bo Li"],
    )
    assert (p.submitted, p.announced, p.source) == ("2026-08-20T00:00:00Z", "2026-08-21", "hf-daily")
    assert p.code_url == "https://github.com/Owner/Repo" and p.abs_url == "https://arxiv.org/abs/2608.00001"
    assert (rec.listed_day, rec.listed_at, rec.upvotes) == ("2026-08-21", "2026-08-21T06:30:00Z", 3)
    assert (rec.github_repo, rec.github_stars) == ("owner/repo", 12)
    # without submittedOnDailyAt: the item's publishedAt when on the daily date, else the day itself
    it = item()
    del it["paper"]["submittedOnDailyAt"]
    assert item_to_record(it, "2026-08-21", "x").listed_at == "2026-08-21T00:00:00Z"  # item time is the 19th
    assert item_to_record(it, "2026-08-19", "x").listed_at == "2026-08-19T20:00:00Z"
    # the day from _daily_date when the file gives none
    it["_daily_date"] = "2026-08-22"
    assert item_to_record(it, None, "x").listed_day == "2026-08-22"


def test_repr_string_items_are_parsed_without_eval(tmp_path):
    marker = tmp_path / "pwned"
    good = repr(item(pid="2412.07730", githubStars=None, githubRepo=None) | {"isAuthorParticipating": False})
    evil = f"__import__('os').system('touch {marker}')"
    day = tmp_path / "2024-12-11.json"
    day.write_text(json.dumps([good, evil, "{'paper': {'id': "]))
    got = list(read_hf(day))
    assert got[0].record is not None and got[0].record.paper.id == "2412.07730"
    assert got[0].record.listed_day == "2024-12-11" and got[0].record.github_repo is None
    assert got[1].record is None and "not a Python literal" in got[1].error
    assert got[2].record is None and "not a Python literal" in got[2].error
    assert not marker.exists()


def test_wrapped_day_file_takes_its_date(tmp_path):
    f = tmp_path / "whatever.json"
    f.write_text(json.dumps({"status": "success", "date": "2025-01-10", "count": 1, "data": [repr(item())]}))
    (got,) = list(read_hf(f))
    assert got.record.listed_day == "2025-01-10" and got.location == "whatever.json item 1"


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda it: it.pop("paper"), "missing 'paper' object"),
        (lambda it: it["paper"].update(id="not an id"), "invalid id"),
        (lambda it: it["paper"].update(id="local:abc"), "invalid arXiv id"),
        (lambda it: it["paper"].update(upvotes="many"), "upvotes must be a whole number"),
        (lambda it: it["paper"].update(upvotes=True), "upvotes must be a whole number"),
        (lambda it: it["paper"].update(githubStars=-4), "githubStars must be >= 0"),
        (lambda it: it["paper"].update(title=None) or it.update(title=None), "missing title"),
        (lambda it: it["paper"].update(publishedAt="yesterday"), "invalid date"),
        (lambda it: it["paper"].update(authors="Ada"), "authors must be a list"),
        (lambda it: it["paper"].update(githubRepo=5), "githubRepo must be a string"),
    ],
)
def test_malformed_items_are_reported_with_the_reason(mutate, reason):
    it = item()
    mutate(it)
    from paperwire.models import RecordError

    with pytest.raises(RecordError) as err:
        item_to_record(it, "2026-08-21", "x")
    assert reason in str(err.value)


def test_no_daily_date_anywhere_is_an_error():
    it = item()
    del it["paper"]["submittedOnDailyAt"]
    from paperwire.models import RecordError

    with pytest.raises(RecordError, match="no daily date"):
        item_to_record(it, None, "x")


def test_organisation_page_keeps_the_link_but_no_stars():
    rec = item_to_record(item(githubRepo="https://github.com/DFIR-Metric"), "2026-08-21", "x")
    assert (
        rec.github_repo is None and rec.github_stars is None and rec.paper.code_url == "https://github.com/DFIR-Metric"
    )


@needs_hf
def test_real_day_file():
    got = list(read_hf(SAMPLE))
    assert len(got) == 17 and all(g.record for g in got)
    first = got[0].record
    assert (first.paper.id, first.upvotes, first.github_repo, first.github_stars) == (
        "2608.19880",
        163,
        "google-research/envharness",
        8,
    )
    assert first.paper.title == "EnvHarness: Awakening Static Worlds for Agent Learning"
    assert len(first.paper.authors) == 17 and first.paper.abstract.startswith("LLM agents learn")
    assert (first.listed_day, first.listed_at, first.paper.submitted) == (
        "2026-08-21",
        "2026-08-21T00:00:00Z",
        "2026-08-20T00:00:00Z",
    )


@needs_hf
@pytest.mark.skipif(not RAW_TAR.exists() or not NORMALIZED.exists(), reason="full Hugging Face files not found")
def test_real_tar_and_jsonl_agree():
    """All 9,881 items of both real files parse (the tar holds 300 repr-string items in 22 files and
    the wrapped 2025-01-10 file), and both give the same records."""
    tar = [g for g in read_hf(RAW_TAR)]
    lines = [g for g in read_hf(NORMALIZED)]
    assert len(tar) == len(lines) == 9881
    assert [g.error for g in tar if g.error] == [] and [g.error for g in lines if g.error] == []
    wrapped = [g.record for g in tar if "2025-01-10.json" in g.location]
    assert len(wrapped) == 9 and {r.listed_day for r in wrapped} == {"2025-01-10"}
    repr_day = [g.record for g in tar if "2024-12-11.json" in g.location]
    assert repr_day and all(r.paper.title for r in repr_day)
    key = lambda r: (r.paper.id, r.listed_day)  # noqa: E731
    by_tar = {key(g.record): g.record for g in tar}
    for g in lines:
        t = by_tar[key(g.record)]
        assert (t.upvotes, t.github_repo, t.github_stars, t.paper.title, t.listed_at) == (
            g.record.upvotes,
            g.record.github_repo,
            g.record.github_stars,
            g.record.paper.title,
            g.record.listed_at,
        )


# -- storing -----------------------------------------------------------------------------------


@needs_hf
def test_import_is_idempotent(store):
    first = import_hf(store, SAMPLE, progress=False)
    assert (first.inserted, first.skipped, first.listed, first.star_points) == (17, 0, 17, 12)
    after_first = table_counts(store)
    assert after_first == {"papers": 17, "paper_community": 17, "repo_stars": 12, "repos": 12}
    second = import_hf(store, SAMPLE, progress=False)
    assert (second.inserted, second.updated, second.unchanged, second.listed) == (0, 0, 17, 0)
    assert table_counts(store) == after_first
    row = community(store, "2608.19880")
    assert (row["imported_upvotes"], row["upvotes"], row["listed_day"], row["github_repo"]) == (
        163,
        0,
        "2026-08-21",
        "google-research/envharness",
    )
    assert store.stars.state("google-research/envharness").stars == 8


def write_day(path: Path, items: list) -> Path:
    path.write_text(json.dumps(items))
    return path


def test_local_votes_survive_and_upvotes_are_set_not_added(store, tmp_path):
    day = write_day(tmp_path / "2026-08-21.json", [item(upvotes=3)])
    import_hf(store, day, progress=False)
    account, _ = sign_in(store, "voter@example.org")
    pk = store.papers.pks_for(["2608.00001"])["2608.00001"]
    assert store.community.set_vote(account.id, pk, True) == 1
    write_day(day, [item(upvotes=40)])  # HF's count grew
    import_hf(store, day, progress=False)
    import_hf(store, day, progress=False)
    row = community(store, "2608.00001")
    assert (row["upvotes"], row["imported_upvotes"]) == (1, 40)
    assert store.community.state([pk])[pk].upvotes == 41


def test_listing_is_not_moved_by_a_later_import(store, tmp_path):
    import_hf(store, write_day(tmp_path / "2026-08-21.json", [item()]), progress=False)
    later = item()
    later["paper"]["submittedOnDailyAt"] = "2026-08-25T00:00:00.000Z"
    import_hf(store, write_day(tmp_path / "2026-08-25.json", [later]), progress=False)
    row = community(store, "2608.00001")
    assert (row["listed_day"], row["listed_at"]) == ("2026-08-21", "2026-08-21T06:30:00Z")


def test_a_richer_record_is_left_alone(store, tmp_path):
    arxiv = Paper(
        id="2608.00001",
        title="A Paper",
        abstract="The arXiv abstract.",
        categories=["cs.CL"],
        version=2,
        submitted="2026-08-19T10:00:00Z",
        announced="2026-08-20",
        source="arxiv-api",
    )
    store.papers.upsert([arxiv])
    report = import_hf(store, write_day(tmp_path / "2026-08-21.json", [item(upvotes=9)]), progress=False)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 1)
    p = store.papers.get("2608.00001")
    assert (p.source, p.categories, p.abstract, p.announced) == (
        "arxiv-api",
        ["cs.CL"],
        "The arXiv abstract.",
        "2026-08-20",
    )
    row = community(store, "2608.00001")
    assert (row["imported_upvotes"], row["listed_day"]) == (9, "2026-08-21")


def test_bad_items_are_skipped_reported_and_nothing_half_written(store, tmp_path):
    items = [
        item(pid="2608.00001"),
        item(pid="2608.00002", upvotes="lots"),
        "{'broken': ",
        item(pid="2608.00003", githubStars=-1),
        item(pid="2608.00001"),
    ]
    report = import_hf(store, write_day(tmp_path / "2026-08-21.json", items), progress=False)
    assert (report.inserted, report.skipped, report.items) == (1, 4, 5)
    reasons = dict(store.papers.run_errors(report.run_id))
    assert "upvotes must be a whole number" in reasons["2026-08-21.json item 2"]
    assert "not a Python literal" in reasons["2026-08-21.json item 3"]
    assert "githubStars must be >= 0" in reasons["2026-08-21.json item 4"]
    assert "duplicate: paper 2608.00001" in reasons["2026-08-21.json item 5"]
    assert table_counts(store) == {"papers": 1, "paper_community": 1, "repo_stars": 1, "repos": 1}
    assert store.papers.pks_for(["2608.00002", "2608.00003"]) == {}


def test_unreadable_day_file_is_reported(store, tmp_path):
    bad = tmp_path / "2026-08-21.json"
    bad.write_text('{"not": "a list"}')
    report = import_hf(store, bad, progress=False)
    assert report.skipped == 1 and "expected a JSON list" in report.errors[0][1]
    assert table_counts(store)["papers"] == 0


@needs_hf
def test_cli_import_hf_twice(tmp_path, db_url):
    env = dict(os.environ, PAPERWIRE_DATABASE_URL=db_url, PAPERWIRE_DATA_DIR=str(tmp_path), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "paperwire.cli", "import-hf", str(SAMPLE), "--no-embed", "-q"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert (
        "17 items: papers 17 new, 0 updated, 0 unchanged; 0 items skipped; 17 papers put on a day list; "
        "12 star counts recorded" in first.stdout
    )
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert "papers 0 new, 0 updated, 17 unchanged; 0 items skipped; 0 papers put on a day list" in second.stdout
    missing = subprocess.run(cmd[:-3] + [str(tmp_path / "nope.json")], env=env, capture_output=True, text=True)
    assert missing.returncode != 0 and "nope.json" in missing.stderr
