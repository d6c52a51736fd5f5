"""Author pages, follows and the "Following" digest section and private feed, on a real database
(SQLite, then PostgreSQL), the real word index and a real SMTP server (tests/smtp_sink.py).

The papers are hand-made so each name variant is known: one person written three ways (full,
without accents, TeX-escaped initials), a homonym who shares the initials, and a person whose
initials fit no one else."""

from __future__ import annotations

import re
import uuid
from email import message_from_bytes
from email.policy import default as default_policy

import feedparser
import pytest
from fastapi.testclient import TestClient

from conftest import csrf_for, make_settings, sign_in
from paperwire.authors import names

D0, D1, D2 = "2025-03-14", "2025-03-17", "2025-03-18"
PAPERS = [
    {
        "id": "2503.00001",
        "title": "Top quark pairs at the LHC",
        "authors": ["Csaba Balázs", "Ann Other"],
        "categories": ["hep-ph"],
        "listing_date": D1,
    },
    {
        "id": "2503.00002",
        "title": "Higgs boson widths",
        "authors": ["C. Bal\\'azs", "E. L. Berger"],
        "categories": ["hep-ph"],
        "listing_date": D1,
    },
    {
        "id": "2503.00003",
        "title": "Dark matter in supersymmetry",
        "authors": ["Csaba Balazs", "Ann Other"],
        "categories": ["hep-th"],
        "listing_date": D0,
    },
    {
        "id": "2503.00004",
        "title": "Parsing morphologically rich languages",
        "authors": ["Clara Balázs"],
        "categories": ["cs.CL"],
        "listing_date": D1,
    },
    {
        "id": "2503.00005",
        "title": "Invariants of rings",
        "authors": ["Emmy Noether"],
        "categories": ["math.AC"],
        "listing_date": D0,
    },
    {
        "id": "2503.00006",
        "title": "Ideal theory in rings",
        "authors": ["E. Noether", "Bob Smith"],
        "categories": ["math.AC"],
        "listing_date": D1,
    },
]
LATER = {
    "id": "2503.00010",
    "title": "Rings revisited",
    "authors": ["Bob Smith", "E. Noether"],
    "categories": ["math.RA"],
    "listing_date": D2,
}


def _paper(rec):
    """As an arXiv source stores it: the id without its version (v1 when none is given)."""
    from paperwire.models import Paper, normalize_id, validated

    pid, version = normalize_id(rec["id"])
    return validated(
        Paper(
            id=pid,
            version=version or 1,
            title=rec["title"],
            authors=rec["authors"],
            categories=rec["categories"],
            announced=rec["listing_date"],
            abstract=rec["title"] + ".",
        )
    )


@pytest.fixture
def site(tmp_path, db_url):
    from paperwire.search.hybrid import SearchEngine
    from paperwire.search.indexer import Indexer
    from paperwire.storage import open_store
    from paperwire.web.app import create_app

    settings = make_settings(tmp_path, db_url).with_(base_url="https://papers.example.org", secret_key="follow-test")
    store = open_store(settings.database_url)
    store.papers.upsert([_paper(r) for r in PAPERS])
    indexer = Indexer(store, settings)
    indexer.sync_lexical()
    engine = SearchEngine(store, settings)
    engine.reload()
    app = create_app(settings, store=store, engine=engine, indexer=indexer, background=False)

    def add(rec):
        store.papers.upsert([_paper(rec)])
        indexer.sync_lexical()
        engine.reload()

    yield {"store": store, "settings": settings, "engine": engine, "app": app, "add": add}
    store.close()


def _reader(site, email=None):
    account, cookie = sign_in(site["store"], email or f"r-{uuid.uuid4().hex[:8]}@example.org")
    c = TestClient(site["app"])
    from paperwire.web.session import SESSION_COOKIE

    c.cookies.set(SESSION_COOKIE, cookie)
    return c, account


def _ids(html: str) -> list[str]:
    return re.findall(r'href="/papers/(2503\.\d{5})"', html)


# -- names ------------------------------------------------------------------------------
def test_name_variants_share_a_key_and_initials_are_only_compatible():
    assert names.plain("C. Bal\\'azs") == "C. Balázs"
    assert names.key("C. Bal\\'azs") == names.key("c balazs") == "c balazs"
    assert names.key("Csaba Balázs") == names.key("CSABA BALAZS") == names.key("Csaba  Bal\\'{a}zs") == "csaba balazs"
    assert names.key("{\\L}ukasz Kaiser") == names.key("Łukasz Kaiser") == "lukasz kaiser"
    assert names.key("Jean-Pierre Serre") == names.key("Jeanpierre Serre") == "jeanpierre serre"
    assert names.compatible("J.-P. Serre", "Jean-Pierre Serre") and names.compatible(
        "Yu. N. Kosovtsov", "Yurii Kosovtsov"
    )
    assert names.compatible("Vasily Ogryzko V", "V. V. Ogryzko") and names.parts("Vasily Ogryzko V")[1] == "ogryzko"
    assert names.compatible("C. Balázs", "Csaba Balazs") and names.compatible("E. L. Berger", "Edmond Berger")
    assert not names.compatible("Clara Balázs", "Csaba Balázs") and not names.compatible("C. Balázs", "D. Balázs")
    assert not names.compatible("Csaba Balázs", "Csaba Kovacs")


# -- author pages -----------------------------------------------------------------------
def test_author_page_merges_variants_and_shows_homonyms_apart(site):
    c = TestClient(site["app"])
    page = c.get("/authors/Csaba Balázs")
    assert page.status_code == 200
    html = page.text
    main = html.split('id="papers-title"')[1].split('id="ambiguous-title"')[0]
    # the accented and the unaccented full name meet, newest first; Clara's paper is not his
    assert _ids(main) == ["2503.00001", "2503.00003"]
    # the TeX-escaped initials fit Csaba and Clara: listed apart, naming both
    amb = html.split('id="ambiguous-title"')[1]
    assert _ids(amb) == ["2503.00002"] and "Clara Balázs or Csaba Balázs" in amb
    assert 'href="/authors/Clara%20Bal%C3%A1zs"' in html  # the homonym, linked
    assert "Ann Other" in html.split('id="co-title"')[1].split("</section>")[0]
    assert "hep-ph (1)" in html and "hep-th (1)" in html
    assert 'rel="alternate" type="application/atom+xml" title="Paperwire: papers by Csaba Balázs"' in html
    assert "/feeds/author.atom?name=Csaba+Bal%C3%A1zs" in html
    # the same page under another spelling of the name
    assert _ids(c.get("/authors/csaba balazs").text.split('id="papers-title"')[1].split("</section>")[0]) == [
        "2503.00001",
        "2503.00003",
    ]


def test_initials_join_the_one_person_they_fit(site):
    html = TestClient(site["app"]).get("/authors/Emmy Noether").text
    assert _ids(html.split('id="papers-title"')[1].split("</section>")[0]) == ["2503.00006", "2503.00005"]
    assert "Also written as" in html and "E. Noether" in html and 'id="ambiguous-title"' not in html


def test_author_search_finds_tex_escaped_names(site):
    res = site["engine"].search('author:"Balázs"', limit=10)
    assert {h.paper.id for h in res.hits} == {"2503.00001", "2503.00002", "2503.00003", "2503.00004"}


def test_author_page_bounds_and_unknown_names(site):
    c = TestClient(site["app"])
    assert c.get("/authors/" + "x" * 201).status_code == 404
    r = c.get("/authors/Nobody Here")
    assert r.status_code == 200 and "No papers by this name here." in r.text


# -- follows API --------------------------------------------------------------------------
def test_follows_api_needs_session_and_csrf_and_normalises(site):
    anon = TestClient(site["app"])
    assert anon.get("/api/follows").status_code == 401
    c, account = _reader(site)
    body = {"kind": "author", "value": "Csaba Bal\\'azs"}
    assert c.post("/api/follows", json=body).status_code == 403  # no CSRF token
    token = csrf_for(c, "/")
    h = {"X-CSRF-Token": token}
    r = c.post("/api/follows", json=body, headers=h)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["value"] == "Csaba Balázs" and made["url"] == "/authors/Csaba%20Bal%C3%A1zs"
    again = c.post("/api/follows", json={"kind": "author", "value": "csaba  BALAZS"}, headers=h)
    assert again.status_code == 200 and again.json()["id"] == made["id"]  # one person, one follow
    assert c.post("/api/follows", json={"kind": "category", "value": "hep-ph"}, headers=h).status_code == 201
    assert c.post("/api/follows", json={"kind": "paper", "value": "2503.00004v2"}, headers=h).status_code == 201
    assert c.post("/api/follows", json={"kind": "venue", "value": "x"}, headers=h).status_code == 422
    bad = c.post("/api/follows", json={"kind": "category", "value": "not a category"}, headers=h)
    assert bad.status_code == 400 and bad.json()["errors"][0]["loc"] == ["body", "value"]
    assert c.post("/api/follows", json={"kind": "paper", "value": "2599.99999"}, headers=h).status_code == 404
    assert c.post("/api/follows", content="kind=author", headers={**h, "Content-Type": "text/plain"}).status_code == 415
    listed = c.get("/api/follows").json()["results"]
    assert [(f["kind"], f["value"]) for f in listed] == [
        ("paper", "2503.00004"),
        ("category", "hep-ph"),
        ("author", "Csaba Balázs"),
    ]
    # another reader can neither see nor delete these
    other, _ = _reader(site)
    assert other.get("/api/follows").json()["results"] == []
    assert other.delete(f"/api/follows/{made['id']}", headers={"X-CSRF-Token": csrf_for(other, "/")}).status_code == 404
    assert c.delete(f"/api/follows/{made['id']}").status_code == 403
    assert c.delete(f"/api/follows/{made['id']}", headers=h).status_code == 204
    assert c.delete(f"/api/follows/{made['id']}", headers=h).status_code == 404
    assert len(c.get("/api/follows").json()["results"]) == 2


def test_follow_buttons_are_csrf_forms_on_author_category_and_paper_pages(site):
    c, account = _reader(site)
    paper = c.get("/papers/2503.00001").text
    assert 'action="/follows"' in paper and 'name="kind" value="paper"' in paper
    assert 'href="/authors/Csaba%20Bal%C3%A1zs"' in paper  # names link to their author pages
    cat = c.get("/search", params={"q": "cat:hep-ph"}).text
    assert 'name="kind" value="category"' in cat and 'name="value" value="hep-ph"' in cat
    author = c.get("/authors/Emmy Noether").text
    assert 'name="kind" value="author"' in author and ">Follow</button>" in author
    token = csrf_for(c, "/")
    assert c.post("/follows", data={"kind": "author", "value": "Emmy Noether"}).status_code == 403
    r = c.post(
        "/follows",
        data={"csrf": token, "kind": "author", "value": "Emmy Noether"},
        headers={"Referer": "http://testserver/authors/Emmy%20Noether"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/authors/Emmy%20Noether"
    assert ">Following</button>" in c.get("/authors/Emmy Noether").text
    page = c.get("/following").text
    assert 'href="/authors/Emmy%20Noether"' in page
    r = c.post("/follows", data={"csrf": token, "kind": "author", "value": "emmy noether", "action": "unfollow"})
    assert r.status_code == 200 and site["store"].follows.list(account.id) == []


# -- the digest's "Following" section and the private feed ---------------------------------
def _subscribe(store, email):
    with store.transaction() as c:
        return c.execute(
            "INSERT INTO subscribers (email, status, frequency, send_hour, send_weekday, timezone, trending, categories, "
            "created_at, updated_at, confirmed_at) VALUES (?, 'confirmed', 'daily', 7, 0, 'UTC', 0, '[]', ?, ?, ?) "
            "RETURNING id",
            (email, "2025-03-01T00:00:00Z", "2025-03-01T00:00:00Z", "2025-03-01T00:00:00Z"),
        ).fetchone()[0]


def test_following_an_author_puts_their_next_paper_in_digest_and_feed(site, tmp_path):
    from paperwire.digest.run import run_digests
    from paperwire.follows import core as follows
    from paperwire.mail.sender import run_sender
    from smtp_sink import SmtpSink

    store, engine = site["store"], site["engine"]
    email = "follower@example.org"
    c, account = _reader(site, email)
    follows.follow(store, account, "author", "Emmy Noether")
    follows.follow(store, account, "category", "hep-th")
    sid = _subscribe(store, email)
    site["add"](LATER)  # her next paper, listed on D2, signed with her initials
    with SmtpSink(tmp_path / "sink.db").start() as sink:
        settings = site["settings"].with_(smtp_port=sink.port, smtp_host="127.0.0.1", smtp_security="none")
        counts = run_digests(store, settings, engine, now="2025-03-18T08:00:00Z", progress=False)
        assert counts["queued"] == 1, counts
        run_sender(settings, store, once=True)
        assert sink.wait_for(1, timeout=10) == 1
        ((rcpt, raw),) = sink.messages()
    assert rcpt == email
    msg = message_from_bytes(raw, policy=default_policy)
    text = msg.get_body(("plain",)).get_content()
    assert "== Following ==" in text and "Rings revisited" in text
    assert "Ideal theory in rings" in text  # listed on D1, inside the first digest's window
    assert "https://papers.example.org/following" in text
    sent = [r[0] for r in store.conn.execute("SELECT paper_pk FROM sent_papers WHERE subscriber_id=?", (sid,))]
    assert len(sent) == len(set(sent)) and len(sent) >= 2
    # the next day's digest has her newest paper and repeats none of those sent
    site["add"]({**LATER, "id": "2503.00011", "title": "Rings once more", "listing_date": "2025-03-19"})
    assert run_digests(store, settings, engine, now="2025-03-19T08:00:00Z", progress=False)["queued"] == 1
    raw2 = store.conn.execute(
        "SELECT message FROM outbox WHERE subscriber_id=? ORDER BY id DESC LIMIT 1", (sid,)
    ).fetchone()[0]
    text2 = message_from_bytes(bytes(raw2), policy=default_policy).get_body(("plain",)).get_content()
    assert "Rings once more" in text2 and "Rings revisited" not in text2 and "Ideal theory" not in text2
    # the private following feed: a URL from the library page, no cookies needed
    html = c.get("/library").text
    m = re.search(r"/feeds/private/[A-Za-z0-9_-]{43}/following\.atom", html)
    assert m, "the library page lists the following feed"
    feed = feedparser.parse(TestClient(site["app"]).get(m.group(0)).content)
    titles = [e.title for e in feed.entries]
    assert titles[:2] == ["Rings once more", "Rings revisited"] and "Dark matter in supersymmetry" in titles  # hep-th
    assert "Top quark pairs at the LHC" not in titles  # hep-ph, not followed
    opml = c.get("/library/feeds.opml").text
    assert "/following.atom" in opml and "Paperwire: following" in opml
    assert TestClient(site["app"]).get(m.group(0).replace("/feeds/private/", "/feeds/private/x")).status_code == 404


# -- authorship claims ----------------------------------------------------------------------
def test_claim_authorship_then_a_curator_approves_it_with_the_audit_log(site):
    store = site["store"]
    c, account = _reader(site)
    token = csrf_for(c, "/papers/2503.00005")
    assert "I am an author of this paper" in c.get("/papers/2503.00005").text
    assert c.post("/papers/2503.00005/claim", data={}).status_code == 403  # no CSRF token
    r = c.post("/papers/2503.00005/claim", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    assert c.post("/papers/2599.99999/claim", data={"csrf": token}).status_code == 404
    c.post("/papers/2503.00005/claim", data={"csrf": token})  # twice is one claim
    assert "waits for a curator" in c.get("/papers/2503.00005").text
    [claim] = store.follows.claims(status="pending")
    assert claim.paper_id == "2503.00005" and claim.account_id == account.id
    # a reader cannot decide claims, a curator can, once
    assert c.post(f"/curate/claims/{claim.id}", data={"csrf": token, "action": "approve"}).status_code == 403
    from paperwire.web.session import SESSION_COOKIE

    curator, cookie = sign_in(store, f"curator-{uuid.uuid4().hex[:6]}@example.org", "curator")
    cur = TestClient(site["app"])
    cur.cookies.set(SESSION_COOKIE, cookie)
    page = cur.get("/curate").text
    assert claim.email in page and f'action="/curate/claims/{claim.id}"' in page
    ctoken = csrf_for(cur, "/curate")
    assert cur.post(f"/curate/claims/{claim.id}", data={"csrf": ctoken, "action": "bless"}).status_code == 400
    r = cur.post(f"/curate/claims/{claim.id}", data={"csrf": ctoken, "action": "approve"}, follow_redirects=False)
    assert r.status_code == 303
    assert store.follows.claims(status="pending") == []
    assert [x.paper_id for x in store.follows.claims(status="approved", account_id=account.id)] == ["2503.00005"]
    assert "You are an author of this paper." in c.get("/papers/2503.00005").text
    actions = [(e.action, e.paper_id) for e in store.community.audit_log(10)]
    assert actions[:2] == [("claim-approve", "2503.00005"), ("claim", "2503.00005")]
    assert actions.count(("claim", "2503.00005")) == 1
    # deciding again changes nothing and logs nothing
    cur.post(f"/curate/claims/{claim.id}", data={"csrf": ctoken, "action": "reject"})
    assert len(store.community.audit_log(10)) == len(actions)


# -- a followed paper's news ----------------------------------------------------------------
def test_a_new_version_of_a_followed_paper_sends_one_notification(site, tmp_path):
    from paperwire.follows import core as follows
    from paperwire.follows.news import paper_news
    from paperwire.mail.sender import run_sender
    from smtp_sink import SmtpSink

    store = site["store"]
    _, reader = _reader(site, "watcher@example.org")
    _, other = _reader(site, "other@example.org")
    follows.follow(store, reader, "paper", "2503.00004")
    follows.follow(store, other, "paper", "2503.00001")
    assert paper_news(store, site["settings"]) == {"changed": 0, "queued": 0}  # following is not news
    v2 = {**PAPERS[3], "id": "2503.00004v2", "title": "Parsing morphologically rich languages, revised"}
    site["add"](v2)
    first = paper_news(store, site["settings"])
    again = paper_news(store, site["settings"])
    assert first == {"changed": 1, "queued": 1} and again == {"changed": 0, "queued": 0}
    # code found for it later (the Hugging Face import's repository) is news once more
    with store.transaction() as c:
        pk = store.papers.pks_for(["2503.00004"])["2503.00004"]
        c.execute(
            "INSERT INTO paper_community (paper_pk, github_repo, updated_at) VALUES (?, 'lab/parser', ?)",
            (pk, "2025-03-18T00:00:00Z"),
        )
    assert paper_news(store, site["settings"]) == {"changed": 1, "queued": 1}
    with SmtpSink(tmp_path / "sink.db").start() as sink:
        settings = site["settings"].with_(smtp_port=sink.port, smtp_host="127.0.0.1", smtp_security="none")
        run_sender(settings, store, once=True)
        assert sink.wait_for(2, timeout=10) == 2
        mails = [(rcpt, message_from_bytes(raw, policy=default_policy)) for rcpt, raw in sink.messages()]
    assert [r for r, _ in mails] == ["watcher@example.org", "watcher@example.org"]  # not the other reader
    version_mail, code_mail = (m for _, m in mails)
    assert version_mail["Subject"].startswith("Paperwire: version 2 is out — Parsing morphologically rich")
    body = version_mail.get_body(("plain",)).get_content()
    assert "https://papers.example.org/papers/2503.00004" in body and "https://papers.example.org/following" in body
    assert "code is available: https://github.com/lab/parser" in code_mail.get_body(("plain",)).get_content()
    assert version_mail["Message-ID"] != code_mail["Message-ID"]


def test_hidden_papers_and_unfollowed_ones_send_nothing(site):
    from paperwire.follows import core as follows
    from paperwire.follows.news import paper_news

    store = site["store"]
    _, reader = _reader(site)
    f, _ = follows.follow(store, reader, "paper", "2503.00005")
    g, _ = follows.follow(store, reader, "paper", "2503.00006")
    follows.unfollow(store, reader.id, g.id)
    curator, _ = sign_in(store, "cur-hide@example.org", "curator")
    from paperwire.community.curate import curate

    curate(store, curator, "2503.00005", "hide")
    site["add"]({**PAPERS[4], "id": "2503.00005v3"})
    site["add"]({**PAPERS[5], "id": "2503.00006v2"})
    assert paper_news(store, site["settings"]) == {"changed": 0, "queued": 0}
    assert store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_followed_paper_news_survives_kill_9_and_tells_each_reader_once(site):
    """The job run by a worker process killed (SIGKILL) mid-run: what it recorded is whole (each
    queued mail with its follow marked told), and the next run tells exactly the rest."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from paperwire.follows.news import paper_news
    from paperwire.jobs.queue import enqueue

    store, settings = site["store"], site["settings"]
    n = 300
    with store.transaction() as c:
        c.executemany(
            "INSERT INTO accounts (email, created_at) VALUES (?, '2025-03-01T00:00:00Z')",
            [(f"k{i}@example.org",) for i in range(n)],
        )
        pk = store.papers.pks_for(["2503.00003"])["2503.00003"]
        c.execute(
            "INSERT INTO follows (account_id, kind, value, value_key, paper_pk, seen_version, created_at) "
            "SELECT id, 'paper', '2503.00003', '2503.00003', ?, '1', '2025-03-01T00:00:00Z' FROM accounts "
            "WHERE email LIKE 'k%@example.org'",
            (pk,),
        )
    site["add"]({**PAPERS[2], "id": "2503.00003v2"})
    enqueue(store, "follows", key="follows-kill-test")
    env = {
        **os.environ,
        "PAPERWIRE_DATABASE_URL": settings.database_url,
        "PAPERWIRE_DATA_DIR": str(settings.data_dir),
        "PAPERWIRE_INDEX_DIR": str(settings.index_dir),
        "PAPERWIRE_SECRET_KEY": "follow-test",
        "PAPERWIRE_BASE_URL": settings.base_url,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperwire.cli", "worker", "--once", "--role", "follows"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    probe = store.conn
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if probe.execute("SELECT count(*) FROM outbox WHERE kind='follow'").fetchone()[0] > 0:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    queued = probe.execute("SELECT count(*) FROM outbox WHERE kind='follow'").fetchone()[0]
    told = probe.execute("SELECT count(*) FROM follows WHERE kind='paper' AND seen_version='2'").fetchone()[0]
    assert 0 < queued < n and told == queued  # whole: every queued mail has its follow marked, and no other
    rest = paper_news(store, settings)
    assert rest == {"changed": n - queued, "queued": n - queued}
    rows = store.conn.execute("SELECT count(*), count(DISTINCT recipient), count(DISTINCT message_id) FROM outbox")
    assert tuple(rows.fetchone()) == (n, n, n)
    assert paper_news(store, settings) == {"changed": 0, "queued": 0}
