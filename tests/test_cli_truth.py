"""The `paperwire` command tells the truth: a database URL it cannot use, a run that does not exist
and an empty query are errors (non-zero exit, the option named), a reader that stops reading ends
it quietly, and `digest run` says where its links point. Real subprocesses, real databases (each
backend where one is opened), real arXiv daily listings."""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DAILY = SHARED / "arxiv-daily" / "sample_1000.jsonl"
needs_shared = pytest.mark.skipif(not DAILY.exists(), reason=f"shared test data not found at {SHARED}")


def paperwire(tmp_path: Path, db_url: str | None, *args: str, **env_extra) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERWIRE_")}
    env.update(PAPERWIRE_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1", **env_extra)
    if db_url is not None:
        env["PAPERWIRE_DATABASE_URL"] = db_url
    return subprocess.run(
        [sys.executable, "-m", "paperwire.cli", *args], env=env, capture_output=True, text=True, timeout=600
    )


# -- the database URL ------------------------------------------------------------------------


def test_a_missing_directory_in_the_database_url_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "nonexistent-dir" / "x"
    for how in ("env", "option"):
        url = f"sqlite:///{missing}/y.db"
        args = ("status",) if how == "env" else ("--database-url", url, "status")
        proc = paperwire(tmp_path, url if how == "env" else None, *args)
        assert proc.returncode == 2, (how, proc.stdout, proc.stderr)
        assert str(missing) in proc.stderr and "does not exist" in proc.stderr, proc.stderr
        assert "--database-url" in proc.stderr and "PAPERWIRE_DATABASE_URL" in proc.stderr
        assert proc.stdout == ""
        assert not (tmp_path / "nonexistent-dir").exists()  # nothing created on the way


def test_the_data_directory_is_created_for_the_default_database(tmp_path):
    assert not (tmp_path / "data").exists()
    proc = paperwire(tmp_path, None, "status")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "data" / "paperwire.db").is_file()
    assert "papers:     0" in proc.stdout


def test_an_unsupported_database_url_names_the_option(tmp_path):
    proc = paperwire(tmp_path, None, "--database-url", "mysql://x/y", "status")
    assert proc.returncode == 2
    assert "--database-url" in proc.stderr and "'mysql://x/y' is not supported" in proc.stderr
    assert "sqlite:///" in proc.stderr and "Traceback" not in proc.stderr
    proc = paperwire(tmp_path, None, "--database-url", "mysql://x/y", "migrate")
    assert proc.returncode == 2 and "--database-url" in proc.stderr


def test_an_unreachable_postgresql_server_names_the_option(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = paperwire(tmp_path, None, "--database-url", f"postgresql://paperwire:s3cret@127.0.0.1:{port}/pw", "status")
    assert proc.returncode == 1, proc.stderr
    assert "'--database-url' / PAPERWIRE_DATABASE_URL: cannot connect to PostgreSQL at" in proc.stderr, proc.stderr
    assert f"port={port}" in proc.stderr and "s3cret" not in proc.stderr and "Traceback" not in proc.stderr


def test_help_works_whatever_the_database_url(tmp_path):
    proc = paperwire(tmp_path, "sqlite:////nonexistent-dir/x/y.db", "status", "--help")
    assert proc.returncode == 0 and "Counts of papers" in proc.stdout


# -- errors, search ----------------------------------------------------------------------------


@needs_shared
def test_errors_of_a_run_that_does_not_exist_exits_non_zero(tmp_path, db_url):
    bad = tmp_path / "mixed.jsonl"
    bad.write_text(DAILY.read_text().splitlines()[0] + "\n{not json\n")
    out = paperwire(tmp_path, db_url, "ingest", "jsonl", "-q", "--no-embed", str(bad))
    assert out.returncode == 0, out.stderr
    run_id = int(out.stdout.split("run ")[1].split(")")[0])
    listed = paperwire(tmp_path, db_url, "errors", str(run_id))
    assert listed.returncode == 0 and listed.stdout.startswith("line 2\tmalformed JSON")
    proc = paperwire(tmp_path, db_url, "errors", "99999")
    assert proc.returncode == 1, proc.stdout
    assert proc.stdout == "" and f"no ingest run 99999 (the latest is run {run_id})" in proc.stderr
    clean = tmp_path / "clean.jsonl"
    clean.write_text(DAILY.read_text().splitlines()[1] + "\n")
    out = paperwire(tmp_path, db_url, "ingest", "jsonl", "-q", "--no-embed", str(clean))
    clean_run = int(out.stdout.split("run ")[1].split(")")[0])
    proc = paperwire(tmp_path, db_url, "errors", str(clean_run))
    assert proc.returncode == 0 and f"run {clean_run} skipped no records" in proc.stdout


def test_an_empty_query_is_refused_like_the_web_does(tmp_path, db_url):
    for q in ("", "   ", "\t\n"):
        proc = paperwire(tmp_path, db_url, "search", q)
        assert proc.returncode == 2, (q, proc.stdout, proc.stderr)
        assert "QUERY is empty" in proc.stderr and proc.stdout == ""
    proc = paperwire(tmp_path, db_url, "search", "x" * 501)
    assert proc.returncode == 2 and "longer than 500 characters" in proc.stderr


@needs_shared
def test_json_results_into_a_pipe_that_closes_end_quietly(tmp_path, db_url):
    out = paperwire(tmp_path, db_url, "ingest", "jsonl", "-q", "--no-embed", str(DAILY))
    assert "1,000 new" in out.stdout, out.stderr
    full = paperwire(tmp_path, db_url, "search", "learning", "--json", "--limit", "1000")
    assert full.returncode == 0 and len(full.stdout) > 128 * 1024  # more than a pipe holds (64 KiB)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERWIRE_")}
    env.update(PAPERWIRE_DATA_DIR=str(tmp_path / "data"), PAPERWIRE_DATABASE_URL=db_url, HF_HUB_OFFLINE="1")
    # `paperwire search ... --json | head -1`: read one line, then go away
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperwire.cli", "search", "learning", "--json", "--limit", "1000"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first = proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 128 + signal.SIGPIPE, stderr  # what shells report for `seq 1e9 | head -1`
    assert json.loads(first)["rank"] == 1
    assert stderr == ""


# -- digests -----------------------------------------------------------------------------------


@needs_shared
def test_digest_run_warns_where_links_point_and_dates_mails_in_plus_0000(tmp_path, db_url, store):
    from paperwire.sources.jsonl import JsonlSource
    from paperwire.sources.runner import run_ingest

    src = tmp_path / "few.jsonl"
    src.write_text("\n".join(DAILY.read_text().splitlines()[:5]) + "\n")
    assert run_ingest(store, JsonlSource(src), progress=False).inserted == 5
    with store.transaction() as c:
        c.execute(
            "INSERT INTO subscribers (email, status, send_hour, created_at, updated_at, confirmed_at) "
            "VALUES ('ada@example.org', 'confirmed', 7, '2025-03-01T00:00:00Z', '2025-03-01T00:00:00Z', "
            "'2025-03-01T00:00:00Z')"
        )
    before = datetime.now(UTC).replace(microsecond=0)
    proc = paperwire(
        tmp_path,
        db_url,
        "digest",
        "run",
        "--now",
        "2025-03-20T08:00:00Z",
        "-q",
        PAPERWIRE_DIGEST_SEND_EMPTY="1",
        PAPERWIRE_SECRET_KEY="k" * 40,
    )
    assert proc.returncode == 0, proc.stderr
    assert "queued 1" in proc.stdout
    assert (
        "warning: PAPERWIRE_BASE_URL is not set: links in these mails point at http://127.0.0.1:8000" in proc.stderr
    ), proc.stderr
    ((raw,),) = [tuple(r) for r in store.conn.execute("SELECT message FROM outbox")]
    msg = email.message_from_bytes(bytes(raw), policy=email.policy.default)
    assert msg["Date"].endswith(" +0000") and "GMT" not in msg["Date"], msg["Date"]
    sent = parsedate_to_datetime(msg["Date"])
    assert sent.utcoffset().total_seconds() == 0 and abs((sent - before).total_seconds()) < 120
    assert "http://127.0.0.1:8000/preferences?token=" in msg.get_body(("plain",)).get_content()

    proc = paperwire(
        tmp_path,
        db_url,
        "digest",
        "run",
        "--dry-run",
        "--now",
        "2025-03-21T08:00:00Z",
        "-q",
        PAPERWIRE_BASE_URL="https://papers.example.org",
        PAPERWIRE_SECRET_KEY="k" * 40,
    )
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr
    # a worker that composes digests says the same when it starts; one that only sends does not
    proc = paperwire(tmp_path, db_url, "worker", "--once", "--role", "digest", PAPERWIRE_SECRET_KEY="k" * 40)
    assert proc.returncode == 0 and "warning: PAPERWIRE_BASE_URL is not set" in proc.stderr, proc.stderr
    proc = paperwire(tmp_path, db_url, "worker", "--once", "--role", "prune", PAPERWIRE_SECRET_KEY="k" * 40)
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr


def test_other_mails_are_dated_in_plus_0000(tmp_path):
    from paperwire.config import load_settings
    from paperwire.mail.message import build_message

    settings = load_settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}", index_dir=tmp_path)
    raw = build_message(settings, to="ada@example.org", subject="s", text="t", message_id="<a@b>")
    date = email.message_from_bytes(raw, policy=email.policy.default)["Date"]
    assert date.endswith(" +0000"), date
