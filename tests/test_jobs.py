"""The shared job queue (paperwire/jobs, storage/jobs.py) on both backends: a job is never
held by two claimers at once (threads; two processes on PostgreSQL), a job whose worker died is
retried once its lease runs out, failures back off and stop after max attempts, the heartbeat
keeps a long job's lease, and a periodic job fires once per period across concurrent workers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from conftest import make_settings
from paperwire.jobs.periodic import Periodic, period_key
from paperwire.jobs.queue import backoff, enqueue, parse_kinds
from paperwire.jobs.worker import Worker


def test_a_key_is_queued_once_and_bad_jobs_are_refused(any_store):
    first = any_store.jobs.enqueue("digest", {"a": 1}, key="digest@p1")
    assert first is not None
    assert any_store.jobs.enqueue("digest", {"a": 2}, key="digest@p1") is None
    assert any_store.jobs.enqueue("digest") != any_store.jobs.enqueue("digest")  # no key: no dedupe
    assert any_store.jobs.get(first).payload == {"a": 1}
    with pytest.raises(ValueError):
        enqueue(any_store, "no-such-kind")
    with pytest.raises(ValueError):
        any_store.jobs.enqueue("digest", max_attempts=0)
    assert any_store.jobs.counts() == {"queued": 3, "running": 0, "done": 0, "failed": 0}


def test_concurrent_claimers_never_share_a_job(any_store):
    ids = {any_store.jobs.enqueue("index", {"n": i}) for i in range(60)}
    claims: list[tuple[str, int]] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        while (job := any_store.jobs.claim(name, ["index"], lease_seconds=60)) is not None:
            with lock:
                claims.append((name, job.id))
            assert any_store.jobs.complete(job.id, name, job.attempts, {"by": name})

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counted = Counter(job_id for _, job_id in claims)
    assert set(counted) == ids and max(counted.values()) == 1
    assert any_store.jobs.counts()["done"] == 60
    assert {j.result["by"] for j in any_store.jobs.list(limit=100)} == {n for n, _ in claims}


_CLAIMER = """
import json, sys
from paperwire.storage import open_store
store = open_store(sys.argv[1])
got = []
while (job := store.jobs.claim(sys.argv[2], ["index"], lease_seconds=60)) is not None:
    got.append(job.id)
    store.jobs.complete(job.id, sys.argv[2], job.attempts)
print(json.dumps(got))
"""


def test_two_processes_claim_disjoint_jobs_on_postgresql(pg_url):
    from paperwire.storage import open_store

    store = open_store(pg_url)
    try:
        ids = {store.jobs.enqueue("index", {"n": i}) for i in range(200)}
        procs = [
            subprocess.Popen([sys.executable, "-c", _CLAIMER, pg_url, f"p{i}"], stdout=subprocess.PIPE, text=True)
            for i in range(2)
        ]
        got = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
        assert all(p.returncode == 0 for p in procs)
        assert sorted(got[0] + got[1]) == sorted(ids)  # every job once, none twice
        assert store.jobs.counts()["done"] == 200
    finally:
        store.close()


def test_a_dead_workers_job_is_retried_after_its_lease_and_the_dead_one_cannot_finish_it(any_store):
    job_id = any_store.jobs.enqueue("digest", run_at=1000.0)
    t = 2000.0
    first = any_store.jobs.claim("dead", ["digest"], lease_seconds=30, now=t)
    assert first.id == job_id and first.attempts == 1 and first.status == "running"
    assert any_store.jobs.claim("other", ["digest"], lease_seconds=30, now=t + 29) is None  # lease runs
    second = any_store.jobs.claim("other", ["digest"], lease_seconds=30, now=t + 31)  # lease ran out
    assert second.id == job_id and second.attempts == 2 and second.worker == "other"
    # the first worker comes back: it can neither extend, fail nor complete the job any more
    assert not any_store.jobs.extend(job_id, "dead", 1, 30)
    assert any_store.jobs.fail(job_id, "dead", 1, "late", retry_at=t) is None
    assert not any_store.jobs.complete(job_id, "dead", 1)
    assert any_store.jobs.complete(job_id, "other", 2, {"ok": True})
    assert any_store.jobs.get(job_id).status == "done" and any_store.jobs.get(job_id).result == {"ok": True}


def test_a_job_whose_worker_keeps_dying_fails_after_max_attempts(any_store):
    job_id = any_store.jobs.enqueue("digest", run_at=0.0, max_attempts=2)
    assert any_store.jobs.claim("a", lease_seconds=10, now=100.0).attempts == 1
    assert any_store.jobs.claim("b", lease_seconds=10, now=111.0).attempts == 2
    assert any_store.jobs.claim("c", lease_seconds=10, now=122.0) is None
    job = any_store.jobs.get(job_id)
    assert job.status == "failed" and "lease ran out" in job.last_error


def test_failures_back_off_then_fail_for_good(any_store, tmp_path, db_url):
    settings = make_settings(tmp_path, db_url).with_(job_backoff=10.0, job_lease=30.0)
    assert [backoff(settings, n) for n in (1, 2, 3)] == [10.0, 20.0, 40.0]
    assert backoff(settings, 30) == 3600.0
    calls = []

    def broken(ctx, payload):
        calls.append(payload)
        raise RuntimeError("SMTP exploded")

    job_id = any_store.jobs.enqueue("send", {"x": 1}, max_attempts=2)
    w = Worker(any_store, settings, ["send"], handlers={"send": broken}, periodic=[])
    before = time.time()
    assert w.run_one()
    job = any_store.jobs.get(job_id)
    assert job.status == "queued" and job.attempts == 1 and "SMTP exploded" in job.last_error
    assert before + 9.9 <= job.run_at <= time.time() + 10.1
    assert not w.run_one()  # not due yet: nothing runs
    assert w.run_one(now=job.run_at + 0.1)  # due again: second (last) attempt
    job = any_store.jobs.get(job_id)
    assert job.status == "failed" and job.attempts == 2 and job.finished_at
    assert len(calls) == 2 and w.counts == {"done": 0, "retry": 1, "failed": 1, "lost": 0}


def test_the_heartbeat_keeps_a_long_jobs_lease(any_store, tmp_path, db_url):
    settings = make_settings(tmp_path, db_url).with_(job_lease=1.0)
    started = threading.Event()
    stolen = []

    def slow(ctx, payload):
        started.set()
        time.sleep(2.5)  # 2.5 leases long
        return {"slept": 2.5}

    job_id = any_store.jobs.enqueue("index")
    w = Worker(any_store, settings, ["index"], handlers={"index": slow}, periodic=[])
    t = threading.Thread(target=w.run_one)
    t.start()
    started.wait(10)
    while t.is_alive():
        job = any_store.jobs.claim("thief", ["index"], lease_seconds=1.0)
        if job is not None:
            stolen.append(job.id)
        time.sleep(0.2)
    t.join()
    assert stolen == []
    job = any_store.jobs.get(job_id)
    assert job.status == "done" and job.attempts == 1 and job.result == {"slept": 2.5}


def test_a_periodic_job_fires_once_per_period_across_three_workers(any_store, tmp_path, db_url):
    settings = make_settings(tmp_path, db_url)
    runs = []
    lock = threading.Lock()

    def digest(ctx, payload):
        with lock:
            runs.append(payload["period"])
        time.sleep(0.05)
        return {}

    spec = [Periodic("digest", 60.0)]
    workers = [Worker(any_store, settings, ["digest"], handlers={"digest": digest}, periodic=spec) for _ in range(3)]
    barrier = threading.Barrier(3)

    def turn(w: Worker, now: float) -> None:
        barrier.wait()
        for _ in range(3):  # several turns of the loop within one period
            w.tick(now)
            while w.run_one():
                pass

    for now in (6000.0, 6030.0, 6061.0):  # two turns in one period, then the next period
        threads = [threading.Thread(target=turn, args=(w, now)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert runs == [period_key("digest", 60, 6000.0), period_key("digest", 60, 6061.0)]
    assert runs == ["digest@1970-01-01T01:40:00Z", "digest@1970-01-01T01:41:00Z"]
    assert any_store.jobs.counts()["done"] == 2


def test_roles_name_kinds():
    assert parse_kinds("all") == ["digest", "send", "index", "trending", "ingest", "prune", "follows", "notify"]
    assert parse_kinds("digests") == ["digest"] and parse_kinds("sender") == ["send"]
    assert parse_kinds("digest, send,index") == ["digest", "send", "index"]
    with pytest.raises(ValueError, match="unknown job kind"):
        parse_kinds("digest,mine-bitcoin")


def test_cli_queues_a_job_and_a_worker_runs_due_jobs_once(tmp_path, db_url):
    from click.testing import CliRunner

    from paperwire.cli import main
    from paperwire.storage import open_store

    db = db_url
    env = {
        "PAPERWIRE_DATA_DIR": str(tmp_path),
        "PAPERWIRE_DATABASE_URL": db,
        "PAPERWIRE_INDEX_DIR": str(tmp_path / "ix"),
    }
    runner = CliRunner()
    r = runner.invoke(main, ["jobs", "add", "prune", "--key", "manual-1"], env=env)
    assert r.exit_code == 0 and "queued job" in r.output, r.output
    r = runner.invoke(main, ["jobs", "add", "prune", "--key", "manual-1"], env=env)
    assert r.exit_code == 0 and "exists already" in r.output
    r = runner.invoke(main, ["worker", "--role", "digest,mine"], env=env)
    assert r.exit_code == 2 and "unknown job kind" in r.output
    r = runner.invoke(main, ["worker", "--once", "--role", "prune"], env=env)
    assert r.exit_code == 0 and "'done': 2" in r.output, r.output  # the manual job + today's periodic prune
    store = open_store(db)
    try:
        assert store.jobs.counts() == {"queued": 0, "running": 0, "done": 2, "failed": 0}
    finally:
        store.close()
    r = runner.invoke(main, ["jobs", "list"], env=env)
    assert r.exit_code == 0 and "done 2" in r.output and "manual-1" in r.output
