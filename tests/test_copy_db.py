"""`paperwire migrate --copy-to postgresql://...`: a SQLite instance moved to PostgreSQL without
losing a row (counts and checksums verified), sequences moved on, a non-empty target refused,
and a copy that does not verify leaves nothing behind. Against a real PostgreSQL server
(tests/pg_server.py)."""

from __future__ import annotations

import time
from importlib import resources

from click.testing import CliRunner

from paperwire.cli import main
from paperwire.digest.types import DigestRecord
from paperwire.models import Paper
from paperwire.storage import open_store
from paperwire.subscriptions import lifecycle


def _fill(s) -> dict:
    """A small instance with a row in every kind of table, awkward values included."""
    papers = [
        Paper(
            id=f"2501.{i:05d}",
            version=1 + i % 3,
            title=f"Paper {i} — ünïcode \\ tab\t'quote'",
            abstract="line one\nline two" if i % 2 else "",
            source="test",
            authors=["Zoë Ünicode", f"Author {i}"],
            categories=["cs.CL"] if i % 3 else ["math.AG", "cs.LG"],
            submitted=None if i == 7 else f"2025-01-{1 + i % 28:02d}T10:00:00Z",
            announced=f"2025-01-{1 + i % 28:02d}",
            doi=None if i % 4 else f"10.1/{i}",
        )
        for i in range(1, 41)
    ]
    run = s.papers.start_run("jsonl:/data/papers.jsonl")
    s.papers.upsert(
        papers, run_id=run, state=("jsonl:/data/papers.jsonl", {"offset": 4096}), errors=[("line 41", "no title")]
    )
    s.papers.finish_run(run, "done", {"inserted": 40})
    s.papers.upsert([Paper(id="2501.00003", version=9, title="Paper 3 revised", source="test", announced="2025-01-04")])
    pks = s.papers.pks_for([p.id for p in papers])
    # vectors with every byte value, NUL and backslash included
    s.papers.put_embeddings([(pk, f"h{pk}", bytes((pk + j) % 256 for j in range(384 * 4))) for pk in pks.values()], "m")
    s.papers.set_index_state("embed", s.papers.max_seq(), {"model": "m"})

    compose = lambda sub, n: ("confirm", f"<c{sub.id}.{n}@t>", f"To: {sub.email}\r\n\r\nconfirm".encode())  # noqa
    for i in range(5):
        lifecycle.request(
            s,
            email=f"reader{i}@example.org",
            prefs={"categories": ["cs.CL"], "trending": i % 2 == 0},
            query=f"query {i}",
            limits=[("ip:127.0.0.1", 100, 3600.0)],
            now=1.7e9 + i / 3,
            compose=compose,
            max_saved=5,
        )
    for sub in s.subscribers.list("pending")[:3]:
        lifecycle.confirm(s, sub.id, 0)
    confirmed = s.subscribers.list()
    s.digests.record(
        [
            DigestRecord(
                confirmed[0].id,
                "2025-01-02",
                list(pks.values())[:5],
                "2025-01-02T07:00:00Z",
                confirmed[0].email,
                "<digest-1@t>",
                b"digest body \x00\xff",
            )
        ]
    )
    claimed = s.outbox.claim(limit=2, now=time.time() + 1)
    s.outbox.mark_sent(claimed[0].id)
    s.outbox.mark_retry(claimed[1].id, "421 try later", time.time() + 60)
    s.stars.record("owner/repo", 12, '"etag"', "2026-11-20T00:00:00Z")
    s.stars.record("owner/repo", 20, '"etag2"', "2026-11-24T00:00:00Z")
    account = s.accounts.ensure("curator@example.org", "curator")
    s.accounts.create_session(account.id, "hash-1", "2026-12-31T00:00:00Z")
    return {"pks": pks, "account": account}


def _cli(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _pg_counts(url: str, tables: list[str]) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as c:
        return {t: c.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def test_copy_sqlite_to_postgres_verifies_and_moves_sequences(tmp_path, pg_url):
    src_url = f"sqlite:///{tmp_path / 'paperwire.db'}"
    src = open_store(src_url)
    made = _fill(src)
    # a message stored as text in the BLOB column (SQLite allows it): copied as its UTF-8 bytes
    src.conn.execute("UPDATE outbox SET message = 'plain text message' WHERE message_id = '<digest-1@t>'")
    tables = [
        r[0]
        for r in src.conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'"
        )
    ]
    want = {t: src.conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    max_seq, n_outbox = src.papers.max_seq(), want["outbox"]
    src.close()
    assert want["papers"] == 40 and want["embeddings"] == 40 and want["outbox"] == 6 and want["rate_events"] == 5

    result = _cli("--database-url", src_url, "migrate", "--copy-to", pg_url, "-q")
    assert result.exit_code == 0, result.output
    assert "copied and verified" in result.output and "md5" in result.output
    assert "papers" in result.output and f"{40:>10,} rows" in result.output
    assert _pg_counts(pg_url, tables) == want

    dst = open_store(pg_url)
    try:
        src = open_store(src_url)
        for pid in made["pks"]:
            assert dst.papers.get(pid) == src.papers.get(pid)
        pks = list(made["pks"].values())
        assert dst.papers.embeddings(pks) == src.papers.embeddings(pks)
        assert dst.papers.source_state("jsonl:/data/papers.jsonl") == {"offset": 4096}
        assert dst.papers.index_state("embed") == src.papers.index_state("embed")
        assert [x.email for x in dst.subscribers.list()] == [x.email for x in src.subscribers.list()]
        assert dst.stars.gained("owner/repo", "2026-11-21T00:00:00Z") == 8
        assert dst.accounts.session_account("hash-1", "2026-11-25T00:00:00Z").email == "curator@example.org"
        assert dst.outbox.counts() == src.outbox.counts()
        src.close()

        assert dst.integrity_check() == "ok"
        # the sequences moved past the copied ids: new rows get new ids, the feed goes on
        dst.papers.upsert([Paper(id="2502.00001", title="After the move", source="test", announced="2025-02-01")])
        assert dst.papers.max_seq() == max_seq + 1
        assert dst.papers.changes_since(max_seq)[0].paper.id == "2502.00001"
        assert (
            dst.outbox.insert(kind="confirm", recipient="n@example.org", message_id="<new@t>", message=b"x")
            == n_outbox + 1
        )
        assert dst.papers.start_run("again") == 2
        assert dst.accounts.ensure("new@example.org").id == made["account"].id + 1
        # the text message arrived as bytes, and the sender can take it
        sent = dst.outbox.claim(limit=10, now=time.time() + 1)
        assert b"plain text message" in [m.message for m in sent]
    finally:
        dst.close()

    # a sequence set back by hand is what integrity_check reports
    import psycopg

    with psycopg.connect(pg_url) as c:
        c.execute("SELECT setval('papers_change_seq', 3)")
        c.execute("SELECT setval(pg_get_serial_sequence('outbox', 'id'), 1)")
    dst = open_store(pg_url)
    problems = dst.integrity_check()
    dst.close()
    assert "papers_change_seq would hand out 4, but papers.seq already holds 42" in problems
    assert "outbox_id_seq would hand out 2" in problems

    # a second copy into the now non-empty target is refused and changes nothing ...
    before = _pg_counts(pg_url, tables)
    result = CliRunner().invoke(main, ["--database-url", src_url, "migrate", "--copy-to", pg_url, "-q"])
    assert result.exit_code == 1 and "not empty" in result.output and "--force" in result.output
    assert _pg_counts(pg_url, tables) == before
    # ... unless forced: the target then holds exactly the source again
    result = _cli("--database-url", src_url, "migrate", "--copy-to", pg_url, "-q", "--force")
    assert result.exit_code == 0, result.output
    assert _pg_counts(pg_url, tables) == want


def test_copy_that_does_not_verify_keeps_nothing(tmp_path, pg_url):
    """A target that alters a row on the way in (here a trigger) fails verification: the whole
    copy is rolled back."""
    import psycopg

    src_url = f"sqlite:///{tmp_path / 'paperwire.db'}"
    src = open_store(src_url)
    _fill(src)
    src.close()
    open_store(pg_url).close()  # migrated, so the trigger has a table
    with psycopg.connect(pg_url) as c:
        c.execute(
            "CREATE FUNCTION garble() RETURNS trigger AS $$ BEGIN "
            "IF NEW.id = '2501.00017' THEN NEW.title := NEW.title || '!'; END IF; RETURN NEW; END $$ "
            "LANGUAGE plpgsql"
        )
        c.execute("CREATE TRIGGER garble BEFORE INSERT ON papers FOR EACH ROW EXECUTE FUNCTION garble()")
    result = CliRunner().invoke(main, ["--database-url", src_url, "migrate", "--copy-to", pg_url, "-q"])
    assert result.exit_code == 1
    assert "table 'papers' did not verify" in result.output and "nothing was kept" in result.output
    assert _pg_counts(pg_url, ["papers", "embeddings", "subscribers", "outbox"]) == {
        "papers": 0,
        "embeddings": 0,
        "subscribers": 0,
        "outbox": 0,
    }


def test_copy_refuses_a_table_postgresql_lacks_and_bad_urls(tmp_path, pg_url):
    src_url = f"sqlite:///{tmp_path / 'paperwire.db'}"
    src = open_store(src_url)
    _fill(src)
    src.conn.execute("CREATE TABLE only_in_sqlite (x INTEGER)")
    src.close()
    result = CliRunner().invoke(main, ["--database-url", src_url, "migrate", "--copy-to", pg_url, "-q"])
    assert result.exit_code == 1 and "'only_in_sqlite' has no PostgreSQL counterpart" in result.output
    assert _pg_counts(pg_url, ["papers"]) == {"papers": 0}

    result = CliRunner().invoke(main, ["--database-url", src_url, "migrate", "--copy-to", "mysql://x/y"])
    assert result.exit_code == 2 and "PostgreSQL URL" in result.output
    result = CliRunner().invoke(main, ["--database-url", pg_url, "migrate", "--copy-to", pg_url])
    assert result.exit_code == 2 and "copies from a SQLite database" in result.output


def test_migrate_command_on_postgresql(pg_server):
    name = pg_server.new_database(migrated=False)
    url = pg_server.url(name)
    try:
        versions = sorted(
            int(f.name[:4])
            for f in resources.files("paperwire.storage").joinpath("migrations/postgres").iterdir()
            if f.name.endswith(".sql")
        )
        result = _cli("--database-url", url, "migrate")
        assert result.exit_code == 0 and f"applied migrations: {versions}" in result.output
        assert "up to date" in _cli("--database-url", url, "migrate").output
    finally:
        pg_server.drop_database(name)
