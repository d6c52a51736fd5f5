"""Re-ingesting changes nothing; newer versions replace older ones, older ones arriving later are
ignored. A real database (SQLite, then PostgreSQL), real records."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from paperwire.sources.jsonl import JsonlSource
from paperwire.sources.runner import run_ingest
from paperwire.sources.snapshot import SnapshotSource

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SNAPSHOT = DATA / "arxiv-abs-0704" / "arxiv_0704_parsed.jsonl"
DAILY = DATA / "arxiv-daily" / "sample_1000.jsonl"
SEED = DATA / "seed-page" / "papers.jsonl"

pytestmark = pytest.mark.skipif(not SNAPSHOT.exists(), reason=f"shared test data not found at {DATA}")


def table_dump(store) -> list[tuple]:
    """Every paper column except the bookkeeping ones a re-run may touch (run_id)."""
    rows = store.conn.execute("SELECT * FROM papers ORDER BY pk").fetchall()
    return [tuple(r[k] for k in r.keys() if k != "run_id") for r in rows]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "path,make,expected",
    [(SNAPSHOT, SnapshotSource, 1001), (DAILY, JsonlSource, 1000), (SEED, JsonlSource, 64)],
    ids=["arxiv-snapshot-0704", "arxiv-daily-1000", "seed-page"],
)
def test_same_file_twice_changes_nothing(store, tmp_path, path, make, expected):
    first = run_ingest(store, make(path), progress=False)
    assert (first.inserted, first.updated, first.skipped) == (expected, 0, 0), first.errors
    before, seq = table_dump(store), store.papers.max_seq()
    assert seq == expected and store.papers.count() == expected

    second = run_ingest(store, make(path), progress=False)
    assert (second.inserted, second.updated, second.unchanged, second.skipped) == (0, 0, expected, 0)
    assert second.resumed_from is None
    assert store.papers.max_seq() == seq and table_dump(store) == before
    assert store.papers.changes_since(seq) == []

    # the same content under another path (another source key) is still the same papers
    copy = shutil.copy(path, tmp_path / ("copy-" + path.name))
    third = run_ingest(store, make(copy), progress=False)
    assert (third.inserted, third.updated, third.unchanged) == (0, 0, expected)
    assert store.papers.max_seq() == seq and table_dump(store) == before


def snapshot_versions(rec: dict, n: int) -> dict:
    return dict(rec, versions=rec["versions"][:n])


def test_snapshot_newer_version_replaces_older_and_older_is_ignored(store, tmp_path):
    recs = [json.loads(line) for line in SNAPSHOT.read_text(encoding="utf-8").splitlines()]
    multi = [r for r in recs if len(r["versions"]) >= 2][:5]
    assert len(multi) == 5
    v1 = [dict(snapshot_versions(r, 1), title="Old title: " + r["title"]) for r in multi]
    run_ingest(store, SnapshotSource(write_jsonl(tmp_path / "v1.jsonl", v1)), progress=False)
    seq_v1 = store.papers.max_seq()
    first_dates = {r["id"]: store.papers.get(r["id"]).submitted for r in v1}
    assert all(store.papers.get(r["id"]).version == 1 for r in v1)

    # v2 as the API lists a replacement: only the newest version's date is known
    v2 = []
    for r in multi:
        latest = r["versions"][-1]
        v2.append(dict(r, versions=[{"version": "v2", "created": latest["created"]}]))
    rep = run_ingest(store, SnapshotSource(write_jsonl(tmp_path / "v2.jsonl", v2)), progress=False)
    assert (rep.updated, rep.inserted, rep.unchanged) == (5, 0, 0)
    for r in v2:
        p = store.papers.get(r["id"])
        assert p.version == 2 and p.title == " ".join(r["title"].split())
        assert p.submitted == first_dates[r["id"]]  # the first-submitted date is kept
        assert p.updated > p.submitted
    seq = store.papers.max_seq()
    assert sorted(c.paper.id for c in store.papers.changes_since(seq_v1)) == sorted(r["id"] for r in v2)  # re-indexed

    # the old version arrives again later: ignored, nothing changes
    before = table_dump(store)
    rep = run_ingest(store, SnapshotSource(write_jsonl(tmp_path / "v1-again.jsonl", v1)), progress=False)
    assert (rep.updated, rep.inserted, rep.unchanged, rep.skipped) == (0, 0, 5, 0)
    assert store.papers.max_seq() == seq and table_dump(store) == before
    assert not any(store.papers.get(r["id"]).title.startswith("Old title") for r in v1)


def test_jsonl_versioned_ids(store, tmp_path):
    rec = json.loads(DAILY.read_text(encoding="utf-8").splitlines()[0])
    pid = rec["id"]
    run_ingest(
        store,
        JsonlSource(write_jsonl(tmp_path / "a.jsonl", [dict(rec, id=pid + "v1", published="2025-03-14T10:00:00Z")])),
        progress=False,
    )
    p = store.papers.get(pid)
    assert p.version == 1 and p.submitted == "2025-03-14T10:00:00Z"

    newer = dict(rec, id=pid + "v2", title="Revised: " + rec["title"], published="2025-04-02T09:00:00Z")
    rep = run_ingest(store, JsonlSource(write_jsonl(tmp_path / "b.jsonl", [newer])), progress=False)
    assert rep.updated == 1
    p = store.papers.get(pid)
    assert p.version == 2 and p.title.startswith("Revised: ")
    assert p.submitted == "2025-03-14T10:00:00Z"  # first-submitted kept
    assert p.updated == "2025-04-02T09:00:00Z"
    seq = store.papers.max_seq()

    rep = run_ingest(
        store, JsonlSource(write_jsonl(tmp_path / "c.jsonl", [dict(rec, id=pid + "v1", title="Stale")])), progress=False
    )
    assert rep.unchanged == 1 and rep.updated == 0
    assert store.papers.get(pid).title.startswith("Revised: ") and store.papers.max_seq() == seq
    assert store.papers.count() == 1


def test_corrected_metadata_same_version_is_an_update(store, tmp_path):
    """Same version, different content (a corrected listing): updated once, then unchanged."""
    recs = [json.loads(line) for line in DAILY.read_text(encoding="utf-8").splitlines()[:20]]
    run_ingest(store, JsonlSource(write_jsonl(tmp_path / "a.jsonl", recs)), progress=False)
    seq = store.papers.max_seq()
    fixed = [dict(r, title=r["title"] + " (corrected)") if i % 5 == 0 else r for i, r in enumerate(recs)]
    path = write_jsonl(tmp_path / "b.jsonl", fixed)
    rep = run_ingest(store, JsonlSource(path), progress=False)
    assert (rep.updated, rep.unchanged, rep.inserted) == (4, 16, 0)
    assert store.papers.max_seq() == seq + 4
    assert [c.paper.id for c in store.papers.changes_since(seq)] == [r["id"] for i, r in enumerate(recs) if i % 5 == 0]
    rep = run_ingest(store, JsonlSource(path), progress=False)
    assert (rep.updated, rep.unchanged) == (0, 20) and store.papers.max_seq() == seq + 4
