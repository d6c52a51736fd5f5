"""Crash safety: an ingest killed with SIGKILL at any instant leaves a consistent database, and the
next run resumes after the last committed batch; a changed file is read again from the start.
A real database (each backend), a real subprocess, real arXiv records resampled under new ids."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paperwire.models import validated
from paperwire.sources.runner import run_ingest
from paperwire.sources.snapshot import SnapshotSource, snapshot_record_to_paper
from paperwire.storage import open_store

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SNAPSHOT = DATA / "arxiv-abs-0704" / "arxiv_0704_parsed.jsonl"
N = 50_000
BATCH = 500

pytestmark = pytest.mark.skipif(not SNAPSHOT.exists(), reason=f"shared test data not found at {DATA}")

INGEST = (
    "import sys\n"
    "from paperwire.storage import open_store\n"
    "from paperwire.sources.snapshot import SnapshotSource\n"
    "from paperwire.sources.runner import run_ingest\n"
    "s = open_store(sys.argv[1])\n"
    "r = run_ingest(s, SnapshotSource(sys.argv[2]), progress=False, batch_size=int(sys.argv[3]))\n"
    "print(r.counts())\n"
)


def expected_paper(rec: dict):
    """The paper as the store will hold it (announced is set from the submitted day)."""
    p = validated(snapshot_record_to_paper(rec))
    p.announced = p.day
    return p


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> tuple[Path, dict[str, str], list[str]]:
    """50,000 snapshot lines: the 1,001 real records resampled, each under a new unique id.
    Returns the file, id -> expected content hash, and the ids in file order."""
    recs = [json.loads(line) for line in SNAPSHOT.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(7)
    path = tmp_path_factory.mktemp("crash") / "snapshot_50k.jsonl"
    hashes: dict[str, str] = {}
    order: list[str] = []
    with open(path, "w", encoding="utf-8") as f:
        for i in range(N):
            rec = dict(rng.choice(recs), id=f"{1601 + i // 20000}.{i % 20000 + 1:05d}")
            f.write(json.dumps(rec) + "\n")
            hashes[rec["id"]] = expected_paper(rec).content_hash()
            order.append(rec["id"])
    return path, hashes, order


def start_ingest(db: str, src: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", INGEST, str(db), str(src), str(BATCH)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def stored_count(db: str) -> int:
    """How many papers the (running) ingest has committed, read without opening a store."""
    if db.startswith("sqlite:///"):
        try:
            c = sqlite3.connect(f"file:{db[len('sqlite:///') :]}?mode=ro", uri=True, timeout=5)
            try:
                return c.execute("SELECT count(*) FROM papers").fetchone()[0]
            finally:
                c.close()
        except sqlite3.OperationalError:  # not created / not migrated yet
            return 0
    import psycopg

    with psycopg.connect(db, autocommit=True) as c:  # a database from the migrated template
        return c.execute("SELECT count(*) FROM papers").fetchone()[0]


def kill_when(proc: subprocess.Popen, db: str, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while stored_count(db) < at_least:
        if proc.poll() is not None:
            raise AssertionError(f"ingest ended before it could be killed: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("ingest made no progress")
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def check_consistent(db: str, src: Path, hashes: dict[str, str], order: list[str]) -> int:
    """After a kill: intact database, whole papers only, a prefix of the file, resume state in step."""
    store = open_store(db, migrate=False)
    try:
        assert store.integrity_check() == "ok"
        c = store.conn
        rows = c.execute(
            "SELECT pk, id, title, authors, categories, content_hash, text_hash, seq FROM papers"
        ).fetchall()
        n = len(rows)
        assert n % BATCH == 0, f"{n} papers stored: not whole batches of {BATCH}"
        assert {r["id"] for r in rows} == set(order[:n]), "stored papers are not the file's first lines"
        for batch in store.papers.iter(batch=5000):
            for _pk, p in batch:
                assert p.title and p.authors and p.categories
                assert p.content_hash() == hashes[p.id], f"{p.id} differs from its source line"
        for r in rows:
            assert r["content_hash"] == hashes[r["id"]]
            assert isinstance(json.loads(r["authors"]), list)
        seqs = sorted(r["seq"] for r in rows)
        assert len(set(seqs)) == n and [r["id"] for r in sorted(rows, key=lambda r: r["seq"])] == order[:n]
        if db.startswith("sqlite:"):  # PostgreSQL's sequence leaves a gap where a killed writer took numbers
            assert seqs == list(range(1, n + 1))
        # the resume state was committed with the papers: it points just after the last stored line
        state = store.papers.source_state(SnapshotSource(src).key)
        if n:
            assert state["resume"]["line"] == n and state["resume"]["where"] == f"line {n}"
        return n
    finally:
        store.close()


def test_kill_9_mid_ingest_then_resume(big_file, db_url):
    path, hashes, order = big_file
    db = db_url

    # first kill: as soon as anything is stored
    proc = start_ingest(db, path)
    kill_when(proc, db, 1)
    n1 = check_consistent(db, path, hashes, order)
    assert 0 < n1 < N

    # second kill: the resumed run, further on
    proc = start_ingest(db, path)
    kill_when(proc, db, min(n1 + 10 * BATCH, N // 2))
    n2 = check_consistent(db, path, hashes, order)
    assert n1 < n2 < N

    # a last run resumes and completes: exactly the file's records, each once
    store = open_store(db, migrate=False)
    report = run_ingest(store, SnapshotSource(path), progress=False, batch_size=BATCH)
    assert report.resumed_from == f"line {n2}"
    assert (report.inserted, report.updated, report.unchanged, report.skipped) == (N - n2, 0, 0, 0)
    assert store.papers.count() == N and store.papers.max_seq() >= N  # == N on SQLite (no gaps)
    ids = [r[0] for r in store.conn.execute("SELECT id FROM papers ORDER BY seq")]
    assert ids == order
    assert store.papers.source_state(SnapshotSource(path).key)["complete"] is True
    runs = store.conn.execute("SELECT status FROM ingest_runs ORDER BY id").fetchall()
    assert [r[0] for r in runs] == ["running", "running", "done"]  # the killed runs never finished
    store.close()
    check_all = open_store(db, migrate=False)
    assert check_all.integrity_check() == "ok"
    check_all.close()


def interrupt_after(batches: int):
    seen = {"n": 0}

    def on_batch():
        seen["n"] += 1
        if seen["n"] >= batches:
            raise KeyboardInterrupt

    return on_batch


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_interrupted_run_resumes_where_it_stopped(tmp_path, suffix, store):
    lines = SNAPSHOT.read_bytes()
    path = tmp_path / ("snap" + suffix)
    path.write_bytes(gzip.compress(lines) if suffix.endswith(".gz") else lines)
    with pytest.raises(KeyboardInterrupt):
        run_ingest(store, SnapshotSource(path), progress=False, batch_size=100, on_batch=interrupt_after(3))
    assert store.papers.count() == 300
    status = store.conn.execute("SELECT status FROM ingest_runs").fetchone()[0]
    assert status == "interrupted"
    report = run_ingest(store, SnapshotSource(path), progress=False, batch_size=100)
    assert report.resumed_from == "line 300"
    assert report.read == 701 and report.inserted == 701
    assert store.papers.count() == 1001


@pytest.mark.parametrize("how", ["rewritten-in-place", "replaced"])
def test_changed_file_restarts_from_the_beginning(tmp_path, how, store):
    lines = SNAPSHOT.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "snap.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        run_ingest(store, SnapshotSource(path), progress=False, batch_size=100, on_batch=interrupt_after(3))
    assert store.papers.count() == 300

    # the same records in another order: same size, so only the modification time tells
    changed = "".join(reversed(lines))
    if how == "replaced":
        tmp = tmp_path / "snap.new"
        tmp.write_text(changed, encoding="utf-8")
        os.replace(tmp, path)
    else:
        path.write_text(changed, encoding="utf-8")
    assert path.stat().st_size == len("".join(lines).encode())

    report = run_ingest(store, SnapshotSource(path), progress=False, batch_size=100)
    assert report.resumed_from is None
    assert any("changed" in w for w in report.warnings)
    assert report.read == 1001  # every line read again
    assert (report.inserted, report.unchanged) == (701, 300)
    assert store.papers.count() == 1001
