"""Scale-out fault test (issue 5): 3 `paperwire serve` processes and 3 `paperwire worker`
processes on loopback against one PostgreSQL, a real SMTP sink, and a load of page reads, upvotes
and subscriptions from threads while `paperwire ingest jsonl` and the periodic digest jobs run.
Mid-run one worker (preferably one holding a job) and one web process are killed with SIGKILL.
Requests that fail on the dead web process are retried on another one; only acknowledged writes
(HTTP 2xx) count as "must exist", writes that got no answer "may exist".

Then: the votes table holds every acknowledged vote once and nothing that was not attempted, and
each paper's upvotes equals its count of votes; every acknowledged subscription exists once; every
due subscriber has exactly one digest row and one outbox row; the SMTP sink received each digest at
most 1 + (workers killed) times (a sender killed between the server's 250 and its record resends that
one message after the outbox lease, with the same Message-ID: see tests/test_mail_crash.py); the
killed worker's job was taken over by another worker.

Subscribers are confirmed through the store (as following the mailed link does) and their
confirmation time is set back a day: a subscriber's first digest is the first period whose send
time comes after confirming (digest/schedule.py), and the test cannot wait for tomorrow."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import sign_in
from paperwire.subscriptions import lifecycle

httpx = pytest.importorskip("httpx")

N_WEB, N_WORKERS = 3, 3
N_VOTERS, VOTES_EACH = 6, 15
N_SUBSCRIBERS, SUBS_EACH = 3, 10  # each thread from its own loopback address (20 requests/hour/client limit)
INITIAL_PAPERS, INGESTED_PAPERS = 40, 300
SECRET = "multiprocess-test-secret"
SRC = Path(__file__).resolve().parents[1] / "src"


def _papers(start: int, n: int, day: str) -> list[dict]:
    words = ["graph", "privacy", "language", "vision", "protein", "robot", "causal", "sparse", "quantum", "speech"]
    return [
        {
            "id": f"2611.{i:05d}",
            "title": f"A study of {words[i % 10]} models number {i}",
            "abstract": f"We look at {words[i % 10]} and {words[(i * 7) % 10]} in paper {i}.",
            "authors": [f"Author {i % 17}", f"Writer {i % 5}"],
            "categories": ["cs.LG"],
            "published": day,
            "listing_date": day,
        }
        for i in range(start, start + n)
    ]


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


class Cluster:
    """The processes, and helpers to reach any live web process."""

    def __init__(self, tmp: Path, env: dict):
        self.tmp, self.env = tmp, env
        self.web: list[tuple[subprocess.Popen, int]] = []
        self.workers: list[subprocess.Popen] = []
        self.dead_web: set[int] = set()

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        out = open(self.tmp / log, "wb")
        return subprocess.Popen(
            [sys.executable, "-m", "paperwire.cli", *args], env=self.env, stdout=out, stderr=subprocess.STDOUT
        )

    def start(self) -> None:
        from conftest_web import _free_port

        for i in range(N_WEB):
            port = _free_port()
            self.web.append(
                (
                    self._spawn(
                        ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-background"], f"web{i}.log"
                    ),
                    port,
                )
            )
        for i in range(N_WORKERS):
            self.workers.append(self._spawn(["worker", "--role", "digest,send,prune"], f"worker{i}.log"))
        deadline = time.monotonic() + 60
        for i, (proc, port) in enumerate(self.web):
            while True:
                assert proc.poll() is None, (self.tmp / f"web{i}.log").read_text()[-3000:]
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "web process did not start in 60 s"
                time.sleep(0.2)

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for i, (_, port) in enumerate(self.web) if i not in self.dead_web]

    def all_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for _, port in self.web]

    def kill_web(self, i: int) -> None:
        self.web[i][0].send_signal(signal.SIGKILL)
        self.web[i][0].wait()
        self.dead_web.add(i)

    def stop(self) -> None:
        for proc in [p for p, _ in self.web] + self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [p for p, _ in self.web] + self.workers:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


FAILOVERS = Counter()  # requests that failed on one web process and were sent to another


def _request(client_for, method: str, path: str, **kw) -> tuple[int | None, bool]:
    """Send to a random web process; on a connection failure try the others. Returns (status of
    the answer, whether an earlier try may have reached a server without answering)."""
    urls = client_for.cluster.all_urls()
    random.shuffle(urls)
    maybe = False
    for base in urls:
        try:
            r = client_for.client.request(method, base + path, **kw)
            return r.status_code, maybe
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout) as e:
            maybe = maybe or not isinstance(e, httpx.ConnectError)
            FAILOVERS[type(e).__name__] += 1
            continue
    return None, maybe


class Client:
    def __init__(self, cluster: Cluster, *, local_address: str = "127.0.0.1", cookies: dict | None = None):
        self.cluster = cluster
        self.client = httpx.Client(
            transport=httpx.HTTPTransport(local_address=local_address), timeout=20, cookies=cookies or {}
        )


def test_three_web_three_workers_kill_nine_loses_and_doubles_nothing(pg_url, tmp_path):
    from paperwire.config import load_settings
    from paperwire.security import CSRF_COOKIE, csrf_token, new_csrf_cookie
    from paperwire.sources.jsonl import JsonlSource
    from paperwire.sources.runner import run_ingest
    from paperwire.storage import open_store
    from paperwire.web.session import SESSION_COOKIE
    from smtp_sink import SmtpSink

    today = datetime.now(UTC).date().isoformat()
    store = open_store(pg_url)
    sink = SmtpSink(tmp_path / "sink.db").start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERWIRE_")}
    env.update(
        {
            "PYTHONPATH": str(SRC) + os.pathsep + env.get("PYTHONPATH", ""),
            "PAPERWIRE_DATABASE_URL": pg_url,
            "PAPERWIRE_DATA_DIR": str(tmp_path),
            "PAPERWIRE_INDEX_DIR": str(tmp_path / "index"),
            "PAPERWIRE_SECRET_KEY": SECRET,
            "PAPERWIRE_BASE_URL": "http://paperwire.test",
            "PAPERWIRE_SCHEDULER": "0",
            "PAPERWIRE_BACKGROUND_INDEXING": "0",
            "PAPERWIRE_SMTP_HOST": "127.0.0.1",
            "PAPERWIRE_SMTP_PORT": str(sink.port),
            "PAPERWIRE_SMTP_TIMEOUT": "10",
            "PAPERWIRE_MAIL_RATE": "0",
            "PAPERWIRE_DIGEST_SEND_EMPTY": "1",  # every due subscriber gets a mail, new papers or not
            "PAPERWIRE_DIGEST_INTERVAL": "2",
            "PAPERWIRE_JOB_LEASE": "3",
            "PAPERWIRE_JOB_BACKOFF": "1",
        }
    )
    settings = load_settings(database_url=pg_url, data_dir=tmp_path, secret_key=SECRET)
    run_ingest(
        store, JsonlSource(_write_jsonl(tmp_path / "initial.jsonl", _papers(1, INITIAL_PAPERS, today))), progress=False
    )
    paper_ids = [f"2611.{i:05d}" for i in range(1, INITIAL_PAPERS + 1)]
    cluster = Cluster(tmp_path, env)
    try:
        cluster.start()
        t_start = time.monotonic()

        # -- the load --------------------------------------------------------------------------
        acked_votes: set[tuple[int, int]] = set()
        tried_votes: set[tuple[int, int]] = set()
        acked_subs: list[str] = []
        reads = Counter()
        lock = threading.Lock()
        stop_reads = threading.Event()
        errors: list[str] = []

        # half of each writer's requests wait for the kills, so writes go on after them however long
        # finding a worker that holds a job takes (up to 5 s; a fixed pace alone left that to timing)
        kills_done = threading.Event()

        def voter(n: int) -> None:
            account, session = sign_in(store, f"voter{n}@example.org")
            cookie = new_csrf_cookie()
            c = Client(cluster, cookies={SESSION_COOKIE: session, CSRF_COOKIE: cookie})
            headers = {"X-CSRF-Token": csrf_token(settings, cookie), "Accept": "application/json"}
            for i, paper_id in enumerate(random.sample(paper_ids, VOTES_EACH)):
                if i == VOTES_EACH // 2:
                    kills_done.wait(60)  # the second half goes to the cluster after the kills
                pk = store.papers.pks_for([paper_id])[paper_id]
                with lock:
                    tried_votes.add((account.id, pk))
                status, _ = _request(c, "POST", f"/papers/{paper_id}/vote", data={"action": "up"}, headers=headers)
                if status == 200:
                    with lock:
                        acked_votes.add((account.id, pk))
                elif status is not None:
                    errors.append(f"vote {paper_id}: HTTP {status}")
                time.sleep(0.4)  # spread over the run, so that votes go on across the kills

        def subscriber(n: int) -> None:
            c = Client(cluster, local_address=f"127.0.{n + 1}.1")
            for k in range(SUBS_EACH):
                if k == SUBS_EACH // 2:
                    kills_done.wait(60)
                email = f"reader{n}-{k}@example.org"
                status, _ = _request(
                    c,
                    "POST",
                    "/api/subscriptions",
                    json={"email": email, "frequency": "daily", "send_hour": 0, "timezone": "UTC"},
                )
                if status == 202:
                    with lock:
                        acked_subs.append(email)
                    sub = store.subscribers.by_email(email)
                    assert lifecycle.confirm(store, sub.id, sub.token_version) is not None
                    with store.transaction() as w:  # "confirmed yesterday": due for today's digest (see the docstring)
                        w.execute(
                            "UPDATE subscribers SET confirmed_at=? WHERE id=?",
                            ((datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), sub.id),
                        )
                elif status is not None:
                    errors.append(f"subscribe {email}: HTTP {status}")
                time.sleep(0.6)

        def reader() -> None:
            c = Client(cluster)
            while not stop_reads.is_set():
                path = random.choice(["/", f"/papers/{random.choice(paper_ids)}", "/trending", f"/day/{today}"])
                status, _ = _request(c, "GET", path)
                with lock:
                    reads[status] += 1
                time.sleep(0.02)

        ingest = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "paperwire.cli",
                "ingest",
                "jsonl",
                "--no-embed",
                "-q",
                str(_write_jsonl(tmp_path / "more.jsonl", _papers(1000, INGESTED_PAPERS, today))),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        threads = (
            [threading.Thread(target=voter, args=(n,)) for n in range(N_VOTERS)]
            + [threading.Thread(target=subscriber, args=(n,)) for n in range(N_SUBSCRIBERS)]
            + [threading.Thread(target=reader) for _ in range(2)]
        )
        for t in threads:
            t.start()

        # -- the faults: kill -9 a worker (one holding a job if one does within 5 s) and a web process
        FAILOVERS.clear()
        time.sleep(1.5)
        victim, victim_job = None, None
        deadline = time.monotonic() + 5
        pids = {p.pid: p for p in cluster.workers}
        while victim is None and time.monotonic() < deadline:
            for job in store.jobs.list(status="running", limit=20):
                pid = int(job.worker.split(":")[1])
                if pid in pids:
                    victim, victim_job = pids[pid], job
                    break
            else:
                time.sleep(0.01)
        victim = victim or cluster.workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        raced = False
        if victim_job is not None:
            after = store.jobs.get(victim_job.id)
            if after.attempts == victim_job.attempts and after.status != "running":
                raced, victim_job = True, None  # it finished between our look and the kill: nothing to take over
        time.sleep(1.0)
        cluster.kill_web(0)
        killed_web_at = time.monotonic() - t_start
        kills_done.set()

        for t in threads[: N_VOTERS + N_SUBSCRIBERS]:
            t.join(timeout=90)
        stop_reads.set()
        for t in threads:
            t.join(timeout=30)
        out, _ = ingest.communicate(timeout=60)
        assert ingest.returncode == 0, out.decode()[-3000:]
        assert not errors, errors[:10]
        writes_done_at = time.monotonic() - t_start
        assert writes_done_at > killed_web_at + 2, "the load must go on after the kills"
        assert FAILOVERS["ConnectError"] > 0, "no request met the dead web process"
        assert store.papers.count() == INITIAL_PAPERS + INGESTED_PAPERS

        # -- wait for the surviving workers to digest everyone and send the outbox -----------
        n_subs = len(acked_subs)
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            digested = store.conn.execute("SELECT count(*) FROM digests WHERE period=?", (today,)).fetchone()[0]
            unsent = store.conn.execute("SELECT count(*) FROM outbox WHERE status='queued'").fetchone()[0]
            if digested >= n_subs and unsent == 0:
                break
            time.sleep(0.5)
        load_seconds = time.monotonic() - t_start
        time.sleep(1.0)  # a send in flight finishes

        # -- votes: none lost, none doubled, counts consistent ------------------------------------
        rows = [(r[0], r[1]) for r in store.conn.execute("SELECT account_id, paper_pk FROM votes").fetchall()]
        assert len(rows) == len(set(rows)), "a vote is stored twice"
        assert acked_votes <= set(rows), f"acknowledged votes lost: {sorted(acked_votes - set(rows))[:5]}"
        assert set(rows) <= tried_votes, "a vote nobody cast"
        assert len(acked_votes) >= N_VOTERS * VOTES_EACH - 3, "most votes must be acknowledged (retried elsewhere)"
        mismatched = store.conn.execute(
            "SELECT pc.paper_pk, pc.upvotes, (SELECT count(*) FROM votes v WHERE v.paper_pk = pc.paper_pk) "
            "FROM paper_community pc"
        ).fetchall()
        assert all(r[1] == r[2] for r in mismatched), [tuple(r) for r in mismatched if r[1] != r[2]][:5]

        # -- subscriptions: every acknowledged one exists once ------------------------------------
        assert n_subs >= N_SUBSCRIBERS * SUBS_EACH - 3
        emails = Counter(r[0] for r in store.conn.execute("SELECT email FROM subscribers").fetchall())
        assert all(emails[e] == 1 for e in acked_subs), [e for e in acked_subs if emails[e] != 1]
        assert max(emails.values()) == 1

        # -- digests: exactly one digest row and one outbox row per due subscriber ----------------
        confirmed = {
            r[0]: r[1]
            for r in store.conn.execute("SELECT id, email FROM subscribers WHERE status='confirmed'").fetchall()
        }
        assert set(confirmed.values()) == set(acked_subs)
        digests = Counter(
            r[0] for r in store.conn.execute("SELECT subscriber_id FROM digests WHERE period=?", (today,)).fetchall()
        )
        assert set(digests) == set(confirmed) and max(digests.values()) == 1, (
            len(digests),
            len(confirmed),
            cluster_logs(tmp_path),
        )
        outbox = store.conn.execute(
            "SELECT subscriber_id, message_id, status FROM outbox WHERE kind='digest'"
        ).fetchall()
        per_sub = Counter(r[0] for r in outbox)
        assert set(per_sub) == set(confirmed) and max(per_sub.values()) == 1
        statuses = Counter(r[2] for r in outbox)
        # a message the killed worker was sending stays leased until its lease (5 min) runs out
        assert statuses["sent"] >= len(outbox) - 1 and statuses["sent"] + statuses["sending"] == len(outbox), statuses

        # -- the sink: each digest at most once per kill (plus the first delivery) ---------------
        digest_ids = {r[1] for r in outbox}
        got = Counter(mid for _, mid in sink.received() if mid in digest_ids)
        sent_ids = {r[1] for r in outbox if r[2] == "sent"}
        assert sent_ids <= set(got), "a message marked sent never reached the server"
        assert max(got.values()) <= 2 and sum(got.values()) - len(got) <= 1, got.most_common(3)

        # -- the killed worker's job went to another worker --------------------------------------
        if victim_job is not None:
            job = store.jobs.get(victim_job.id)
            deadline = time.monotonic() + 15
            while job.status == "running" and time.monotonic() < deadline:
                time.sleep(0.5)
                job = store.jobs.get(victim_job.id)
            assert job.status == "done" and job.attempts >= 2 and job.worker != victim_job.worker, job
        periods = Counter(j.key for j in store.jobs.list(kind="digest", limit=1000))
        assert periods and max(periods.values()) == 1
        print(
            f"\nmultiprocess: {len(acked_votes)} votes, {n_subs} subscriptions, {sum(reads.values())} reads "
            f"({reads}), failovers {dict(FAILOVERS)}, {len(digest_ids)} digests, sink {sum(got.values())} digests "
            f"(doubled {sum(got.values()) - len(got)}), outbox {dict(statuses)}, killed worker held job: "
            f"{victim_job and victim_job.kind} (attempt {victim_job and victim_job.attempts}; raced {raced}), {len(periods)} "
            f"digest periods; kills at {killed_web_at - 1:.1f}/{killed_web_at:.1f} s, writes done at "
            f"{writes_done_at:.1f} s, all digested and sent at {load_seconds:.1f} s"
        )
    finally:
        cluster.stop()
        sink.__exit__(None, None, None)
        store.close()


def cluster_logs(tmp: Path) -> str:
    return "\n".join(f"== {p.name}\n{p.read_text()[-1500:]}" for p in sorted(tmp.glob("*.log")))
