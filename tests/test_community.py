"""Votes, day lists, submissions and curation (issue 4): the storage calls on a real
database, the core (paperwire.community) against the local arXiv server (tests/arxiv_server.py,
serving the recorded arXiv API responses), and the web routes through a TestClient."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from arxiv_server import DATA, SKIP_REASON, Reply, recorded_reply
from arxiv_server import make_settings as arxiv_settings
from conftest import csrf_for, sign_in, table_rows
from conftest_web import ARXIV_ID, OLD_ID, XSS_ID, extra_papers
from paperwire import community
from paperwire.models import Paper, utc_now, validated
from paperwire.web.session import SESSION_COOKIE

needs_recorded = pytest.mark.skipif(not (DATA / "arxiv-api-atom").exists(), reason=SKIP_REASON)
TODAY = utc_now()[:10]
COMMUNITY_TABLES = ("papers", "votes", "paper_community", "audit_log")


def add_papers(store, n: int = 0) -> dict[str, int]:
    """The hand-made test papers (conftest_web.extra_papers) plus ``n`` more; id -> pk."""
    papers = extra_papers() + [
        Paper(
            id=f"local:p{i}",
            title=f"Test paper {i}",
            abstract="About votes.",
            source="test",
            submitted=utc_now(),
            announced=TODAY,
        )
        for i in range(n)
    ]
    store.papers.upsert([validated(p) for p in papers])
    return store.papers.pks_for([p.id for p in papers])


def snapshot(store) -> dict:
    return {t: table_rows(store, t) for t in COMMUNITY_TABLES}


def vote_rows(store, pk: int) -> int:
    return store.conn.execute("SELECT count(*) FROM votes WHERE paper_pk=?", (pk,)).fetchone()[0]


def stored_upvotes(store, pk: int) -> int:
    return store.conn.execute("SELECT upvotes FROM paper_community WHERE paper_pk=?", (pk,)).fetchone()[0]


# -- storage: votes ---------------------------------------------------------------------------


def test_one_vote_per_account_and_unvote(store):
    pk = add_papers(store)[ARXIV_ID]
    a, b = store.accounts.ensure("a@example.org"), store.accounts.ensure("b@example.org")
    assert store.community.set_vote(a.id, pk, True) == 1
    assert store.community.set_vote(a.id, pk, True) == 1  # twice is one vote
    assert store.community.set_vote(b.id, pk, True) == 2
    assert store.community.state([pk], a.id)[pk].voted and store.community.state([pk], a.id)[pk].upvotes == 2
    assert store.community.set_vote(a.id, pk, False) == 1
    assert store.community.set_vote(a.id, pk, False) == 1  # un-voting without a vote changes nothing
    state = store.community.state([pk], a.id)[pk]
    assert state.upvotes == 1 and not state.voted
    assert store.community.state([pk], b.id)[pk].voted
    assert not store.community.state([pk], None)[pk].voted
    assert vote_rows(store, pk) == stored_upvotes(store, pk) == 1


def test_vote_on_unknown_paper_writes_nothing(store):
    add_papers(store)
    a = store.accounts.ensure("a@example.org")
    before = snapshot(store)
    with pytest.raises(KeyError):
        store.community.set_vote(a.id, 999_999, True)
    with pytest.raises(community.UnknownPaper):
        community.vote(store, a.id, "2501.99999", up=True)
    assert snapshot(store) == before


def test_imported_upvotes_count_in_the_total(store):
    pk = add_papers(store)[ARXIV_ID]
    a = store.accounts.ensure("a@example.org")
    store.community.set_vote(a.id, pk, True)
    store.conn.execute("UPDATE paper_community SET imported_upvotes=41 WHERE paper_pk=?", (pk,))  # as an import would
    assert store.community.state([pk], a.id)[pk].upvotes == 42
    assert community.vote(store, a.id, ARXIV_ID, up=False).upvotes == 41
    assert stored_upvotes(store, pk) == 0


def test_concurrent_votes_lose_nothing(store):
    """40 accounts vote from 8 threads at once (each its own connection, BEGIN IMMEDIATE), some
    change their minds: the stored count always equals the rows, and no vote is lost."""
    pks = add_papers(store, n=2)
    targets = [pks["local:p0"], pks["local:p1"]]
    accounts = [store.accounts.ensure(f"voter{i}@example.org") for i in range(40)]
    start = threading.Barrier(8)

    def work(chunk):
        start.wait()
        for acc in chunk:
            for pk in targets:
                store.community.set_vote(acc.id, pk, True)
                store.community.set_vote(acc.id, pk, True)
                if acc.id % 4 == 0:  # a quarter take their vote on the second paper back
                    if pk == targets[1]:
                        store.community.set_vote(acc.id, pk, False)

    chunks = [accounts[i::8] for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, chunks))
    takers = sum(1 for a in accounts if a.id % 4 == 0)
    assert vote_rows(store, targets[0]) == stored_upvotes(store, targets[0]) == 40
    assert vote_rows(store, targets[1]) == stored_upvotes(store, targets[1]) == 40 - takers
    assert store.community.state(targets)[targets[0]].upvotes == 40


# -- storage: lists, submissions, curation ----------------------------------------------------


def test_submit_lists_then_merges_with_audit(store):
    pks = add_papers(store)
    a, b = store.accounts.ensure("a@example.org"), store.accounts.ensure("b@example.org")
    pk = pks[ARXIV_ID]
    assert store.community.submit_to_list(a.id, pk, "2026-01-05", "2026-01-05T10:00:00Z") == ("listed", "2026-01-05")
    # submitted again, a day later, by someone else: merged, not listed twice, b's vote added
    assert store.community.submit_to_list(b.id, pk, "2026-01-06", "2026-01-06T10:00:00Z") == ("merged", "2026-01-05")
    assert store.community.submit_to_list(a.id, pk, "2026-01-06", "2026-01-06T11:00:00Z") == ("merged", "2026-01-05")
    row = store.conn.execute(
        "SELECT listed_day, listed_at, submitted_by, upvotes FROM paper_community WHERE paper_pk=?", (pk,)
    ).fetchone()
    assert tuple(row) == ("2026-01-05", "2026-01-05T10:00:00Z", a.id, 2)
    assert [e.pk for e in store.community.day_list("2026-01-05")] == [pk] and store.community.day_list(
        "2026-01-06"
    ) == []
    log = store.community.audit_log()
    assert [(e.action, e.actor_email, e.paper_id, e.detail) for e in log] == [
        ("merge", "a@example.org", ARXIV_ID, {"day": "2026-01-05"}),
        ("merge", "b@example.org", ARXIV_ID, {"day": "2026-01-05"}),
        ("submit", "a@example.org", ARXIV_ID, {"day": "2026-01-05"}),
    ]


def test_day_list_ranks_by_total_upvotes_then_listing_time(store):
    pks = add_papers(store, n=3)
    a, b = store.accounts.ensure("a@example.org"), store.accounts.ensure("b@example.org")
    p0, p1, p2 = pks["local:p0"], pks["local:p1"], pks["local:p2"]
    store.community.submit_to_list(a.id, p0, "2026-01-05", "2026-01-05T09:00:00Z")
    store.community.submit_to_list(a.id, p1, "2026-01-05", "2026-01-05T10:00:00Z")
    store.community.submit_to_list(a.id, p2, "2026-01-05", "2026-01-05T11:00:00Z")
    store.community.set_vote(b.id, p2, True)
    assert [(e.pk, e.upvotes) for e in store.community.day_list("2026-01-05")] == [(p2, 2), (p0, 1), (p1, 1)]
    assert [e.pk for e in store.community.day_list("2026-01-05", limit=1, offset=1)] == [p0]
    assert store.community.count_day_list("2026-01-05") == 3


def test_curator_actions_are_audited_and_hidden_papers_leave_the_list(store):
    pks = add_papers(store)
    curator = store.accounts.ensure("cur@example.org", "curator")
    pk = pks[OLD_ID]
    store.community.submit_to_list(curator.id, pk, "2026-01-05", "2026-01-05T09:00:00Z")
    assert store.community.curate(curator.id, pk, "feature", "great read") is True
    assert store.community.curate(curator.id, pk, "feature") is False  # nothing to change, nothing written
    assert store.community.curate(curator.id, pk, "hide", "spam?") is True
    state = store.community.state([pk])[pk]
    assert state.featured and state.hidden
    assert store.community.day_list("2026-01-05") == [] and store.community.count_day_list("2026-01-05") == 0
    assert [e.pk for e in store.community.day_list("2026-01-05", include_hidden=True)] == [pk]
    assert [c.paper_id for c in store.community.featured()] == [OLD_ID]
    assert [c.paper_id for c in store.community.hidden()] == [OLD_ID]
    assert store.community.curate(curator.id, pk, "unhide") is True
    assert [e.pk for e in store.community.day_list("2026-01-05")] == [pk] and store.community.hidden() == []
    log = store.community.audit_log(paper_pk=pk)
    assert [(e.action, e.detail.get("note")) for e in log] == [
        ("unhide", None),
        ("hide", "spam?"),
        ("feature", "great read"),
        ("submit", None),
    ]
    before = snapshot(store)
    with pytest.raises(ValueError, match="unknown curator action"):
        store.community.curate(curator.id, pk, "delete")
    assert snapshot(store) == before


def test_core_curate_checks_role_and_note(store):
    add_papers(store)
    reader = store.accounts.ensure("r@example.org")
    curator = store.accounts.ensure("c@example.org", "curator")
    before = snapshot(store)
    with pytest.raises(community.CurateError) as e:
        community.curate(store, reader, ARXIV_ID, "hide")
    assert e.value.status == 403
    with pytest.raises(community.CurateError, match="too long"):
        community.curate(store, curator, ARXIV_ID, "hide", "x" * 501)
    with pytest.raises(community.UnknownPaper):
        community.curate(store, curator, "2501.99999", "hide")
    assert snapshot(store) == before
    assert community.curate(store, curator, ARXIV_ID, "hide", "  off   topic ") is True
    assert store.community.audit_log()[0].detail == {"note": "off topic"}


# -- core: submissions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2503.11731", "2503.11731"),
        (" arXiv:2503.11731v2 ", "2503.11731"),
        ("https://arxiv.org/abs/2503.11731", "2503.11731"),
        ("https://arxiv.org/abs/2503.11731v3", "2503.11731"),
        ("http://arxiv.org/pdf/2503.11731v2.pdf", "2503.11731"),
        ("https://arxiv.org/pdf/2503.11731", "2503.11731"),
        ("arxiv.org/abs/2503.11731?context=cs", "2503.11731"),
        ("https://www.arxiv.org/abs/2503.11731#x", "2503.11731"),
        ("https://export.arxiv.org/abs/hep-th/9901001v1", "hep-th/9901001"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("math.AG/0101001v2", "math.AG/0101001"),
    ],
)
def test_parse_arxiv_ref_accepts_ids_and_urls(text, expected):
    assert community.parse_arxiv_ref(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "Enter an arXiv id"),
        ("hello world", "is not an arXiv id"),
        ("2503.117", "is not an arXiv id"),
        ("https://example.org/abs/2503.11731", "Only arXiv links"),
        ("javascript:alert(1)//arxiv.org/abs/2503.11731", "is not an arXiv id"),
        ("ftp://arxiv.org/abs/2503.11731", "Only arXiv links"),
        ("https://arxiv.org/list/cs.CL/new", "does not point to a paper"),
        ("2503.11731" + "x" * 400, "too long"),
    ],
)
def test_parse_arxiv_ref_refuses_the_rest(text, message):
    with pytest.raises(community.SubmitError, match=message) as e:
        community.parse_arxiv_ref(text)
    assert e.value.status == 400


def id_route(req):
    ids = req.query["id_list"].replace("/", "_").replace(",", "_")
    return recorded_reply(f"id_{ids}_s0_m100_")


def test_submit_known_paper_does_not_ask_arxiv(store, srv, tmp_path, db_url):
    add_papers(store)
    a = store.accounts.ensure("a@example.org")
    result = community.submit(
        store, arxiv_settings(tmp_path, srv, database_url=db_url), a.id, f"https://arxiv.org/abs/{ARXIV_ID}v2"
    )
    assert (result.status, result.listed_day, result.fetched, result.paper.id) == ("listed", TODAY, False, ARXIV_ID)
    assert srv.requests() == []
    again = community.submit(
        store, arxiv_settings(tmp_path, srv, database_url=db_url), a.id, ARXIV_ID
    )  # duplicate: merged
    assert (again.status, again.listed_day) == ("merged", TODAY)
    assert [e.upvotes for e in store.community.day_list(TODAY)] == [1]


@needs_recorded
def test_submit_unknown_paper_fetches_and_ingests_it(store, srv, tmp_path, db_url):
    srv.route("/api/query", id_route)
    a = store.accounts.ensure("a@example.org")
    result = community.submit(
        store, arxiv_settings(tmp_path, srv, database_url=db_url), a.id, "https://arxiv.org/pdf/1707.08567v1.pdf"
    )
    assert result.status == "listed" and result.fetched
    [req] = srv.requests("/api/query")
    assert req.query["id_list"] == "1707.08567"
    paper = store.papers.get("1707.08567")
    assert paper is not None and paper.source == "arxiv-api" and paper.title == result.paper.title
    assert paper.abs_url == "https://arxiv.org/abs/1707.08567" and paper.authors
    pk = store.papers.pks_for(["1707.08567"])["1707.08567"]
    assert [e.pk for e in store.community.day_list(TODAY)] == [pk]
    assert store.papers.changes_since(0)[-1].pk == pk  # on the change feed: the indexers will pick it up
    # the old-style id, fetched too
    old = community.submit(store, arxiv_settings(tmp_path, srv, database_url=db_url), a.id, "astro-ph/0601001")
    assert old.paper.id == "astro-ph/0601001" and old.paper.journal_ref == "ActaAstron.56:1-50,2006"


@needs_recorded
def test_submit_id_arxiv_does_not_know_writes_nothing(store, srv, tmp_path, db_url):
    srv.route("/api/query", id_route)
    a = store.accounts.ensure("a@example.org")
    before = snapshot(store)
    with pytest.raises(community.PaperNotFound, match="arXiv has no paper 0808.05394") as e:
        community.submit(store, arxiv_settings(tmp_path, srv, database_url=db_url), a.id, "0808.05394")
    assert e.value.status == 404 and snapshot(store) == before


def test_submit_malformed_id_writes_nothing_and_asks_nobody(store, srv, tmp_path, db_url):
    add_papers(store)
    a = store.accounts.ensure("a@example.org")
    before = snapshot(store)
    with pytest.raises(community.SubmitError, match="is not an arXiv id"):
        community.submit(store, arxiv_settings(tmp_path, srv, database_url=db_url), a.id, "not-an-id")
    assert snapshot(store) == before and srv.requests() == []


def test_submit_when_arxiv_answers_503_writes_nothing(store, srv, tmp_path, db_url):
    srv.route("/api/query", lambda req: Reply(503, b"busy", content_type="text/plain"))
    a = store.accounts.ensure("a@example.org")
    before = snapshot(store)
    with pytest.raises(
        community.ArxivUnavailable, match=r"arXiv could not be asked about 2501.00001 right now \(HTTP 503\)"
    ) as e:
        community.submit(store, arxiv_settings(tmp_path, srv, database_url=db_url, http_retries=5), a.id, "2501.00001")
    assert e.value.status == 503
    assert len(srv.requests("/api/query")) == 2  # a web submission retries once, not five times
    assert snapshot(store) == before


def test_submit_when_arxiv_is_unreachable_writes_nothing(store, srv, tmp_path, db_url):
    a = store.accounts.ensure("a@example.org")
    settings = arxiv_settings(
        tmp_path, srv, database_url=db_url, arxiv_api_url="http://127.0.0.1:9/api/query"
    )  # discard port: refused
    before = snapshot(store)
    with pytest.raises(community.ArxivUnavailable, match="no answer"):
        community.submit(store, settings, a.id, "2501.00001")
    assert snapshot(store) == before


# -- web --------------------------------------------------------------------------------------


@pytest.fixture
def web(tmp_path, srv, db_url):
    """(store, TestClient, arXiv server) over a fresh database holding the hand-made papers; the
    app asks the local arXiv server."""
    from paperwire.storage import open_store
    from paperwire.web.app import create_app

    settings = arxiv_settings(tmp_path, srv, database_url=db_url)
    store = open_store(settings.database_url)
    add_papers(store)
    app = create_app(settings, store=store, background=False)
    with TestClient(app) as client:
        yield store, client, srv
    store.close()


def signed_in(client, store, email="reader@example.org", role=None):
    account, cookie = sign_in(store, email, role)
    client.cookies.set(SESSION_COOKIE, cookie)
    return account, csrf_for(client, "/")


def pk_of(store, paper_id):
    return store.papers.pks_for([paper_id])[paper_id]


def test_vote_form_and_json(web):
    store, client, _ = web
    account, csrf = signed_in(client, store)
    path = f"/papers/{ARXIV_ID}/vote"
    r = client.post(
        path,
        data={"csrf": csrf, "action": "up"},
        headers={"Referer": "http://testserver/day/2025-03-17?page=1"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/day/2025-03-17?page=1"
    assert store.community.state([pk_of(store, ARXIV_ID)], account.id)[pk_of(store, ARXIV_ID)].voted
    # a Referer from elsewhere is not followed: back to the paper page
    r = client.post(
        path, data={"csrf": csrf, "action": "up"}, headers={"Referer": "https://evil.example/x"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/papers/{ARXIV_ID}"
    r = client.post(path, data={"action": "down"}, headers={"Accept": "application/json", "X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json() == {"paper_id": ARXIV_ID, "upvotes": 0, "voted": False}
    r = client.post(path, data={"action": "up"}, headers={"Accept": "application/json", "X-CSRF-Token": csrf})
    assert r.json()["upvotes"] == 1 and r.json()["voted"] is True
    # old-style ids keep their slash in the URL
    r = client.post(
        f"/papers/{OLD_ID}/vote", data={"action": "up"}, headers={"Accept": "application/json", "X-CSRF-Token": csrf}
    )
    assert r.status_code == 200 and r.json()["paper_id"] == OLD_ID
    # the pages show it: the vote form is pressed, the count is 1, the next action is "down"
    html = client.get(f"/papers/{ARXIV_ID}").text
    form = re.search(r'<form class="vote" method="post" action="/papers/2503.11731/vote">.*?</form>', html, re.S).group(
        0
    )
    assert 'aria-pressed="true"' in form and 'value="down"' in form and '<span class="vote-count">1</span>' in form


def test_vote_refusals_change_nothing(web):
    store, client, _ = web
    pk = pk_of(store, ARXIV_ID)
    before = snapshot(store)
    # anonymous: to sign in (a form) or 401 with the sign-in URL (a script)
    r = client.post(
        f"/papers/{ARXIV_ID}/vote",
        data={"action": "up"},
        headers={"Referer": "http://testserver/"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2F"
    r = client.post(f"/papers/{ARXIV_ID}/vote", data={"action": "up"}, headers={"Accept": "application/json"})
    assert r.status_code == 401 and r.json()["signin"] == f"/signin?next=%2Fpapers%2F{ARXIV_ID}"
    assert snapshot(store) == before
    _, csrf = signed_in(client, store)
    before = snapshot(store)
    r = client.post(f"/papers/{ARXIV_ID}/vote", data={"action": "up"}, follow_redirects=False)  # no CSRF token
    assert r.status_code == 403
    r = client.post(f"/papers/{ARXIV_ID}/vote", data={"action": "up", "csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/papers/2501.99999/vote", data={"action": "up", "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 404
    r = client.post(
        "/papers/2501.99999/vote", data={"action": "up"}, headers={"Accept": "application/json", "X-CSRF-Token": csrf}
    )
    assert r.status_code == 404 and "no paper" in r.json()["error"]
    r = client.post(f"/papers/{ARXIV_ID}/vote", data={"action": "sideways", "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 400
    assert snapshot(store) == before and store.community.state([pk]) == {}


def test_listing_cards_show_votes_badges_and_forms(web):
    store, client, _ = web
    html = client.get("/").text  # today: the XSS-titled paper, announced today
    assert f'action="/papers/{XSS_ID}/vote"' in html and 'aria-pressed="false"' in html
    assert 'action="/library/save"' in html and f'name="paper_id" value="{XSS_ID}"' in html
    assert '<span class="badge new">New</span>' in html
    assert 'title="Sign in to upvote"' in html
    # the CSRF token the forms carry is the page's
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    assert f'name="csrf" value="{token}"' in html


@needs_recorded
def test_submit_page_lists_merges_and_fetches(web):
    store, client, srv = web
    srv.route("/api/query", id_route)
    r = client.get("/submit")
    assert r.status_code == 200 and "Sign in</a> to submit" in r.text
    r = client.post("/submit", data={"paper": ARXIV_ID}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Fsubmit"
    _, csrf = signed_in(client, store)
    r = client.post("/submit", data={"paper": f"https://arxiv.org/abs/{ARXIV_ID}v2", "csrf": csrf})
    assert r.status_code == 200 and "Listed:" in r.text and "Iterative Refinement of Program Synthesis" in r.text
    r = client.post("/submit", data={"paper": ARXIV_ID, "csrf": csrf})
    assert r.status_code == 200 and "Already listed:" in r.text
    r = client.post("/submit", data={"paper": "1707.08567", "csrf": csrf})
    assert r.status_code == 200 and "Listed:" in r.text and store.papers.get("1707.08567") is not None
    listed = [e.pk for e in store.community.day_list(TODAY)]
    assert sorted(listed) == sorted([pk_of(store, ARXIV_ID), pk_of(store, "1707.08567")])
    # the list below the form shows both, ranked
    section = r.text.split('id="list-title"', 1)[1]
    assert section.count('class="card"') == 2 and f"/papers/{ARXIV_ID}" in section


def test_submit_page_errors_write_nothing(web):
    store, client, srv = web
    srv.route("/api/query", lambda req: Reply(503, b"busy", content_type="text/plain"))
    _, csrf = signed_in(client, store)
    before = snapshot(store)
    r = client.post("/submit", data={"paper": "<b>nope</b>", "csrf": csrf})
    assert r.status_code == 400 and "is not an arXiv id" in r.text
    assert "<b>nope</b>" not in r.text and "&lt;b&gt;nope&lt;/b&gt;" in r.text  # escaped, kept in the field
    r = client.post("/submit", data={"paper": "2501.00001", "csrf": csrf})
    assert r.status_code == 503 and "arXiv could not be asked about 2501.00001 right now" in r.text
    r = client.post("/submit", data={"paper": ARXIV_ID})  # no CSRF token
    assert r.status_code == 403
    assert snapshot(store) == before


def test_curation_through_the_web(web):
    store, client, _ = web
    pk = pk_of(store, XSS_ID)
    # readers cannot curate; anonymous visitors are sent to sign in
    r = client.get("/curate", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    _, csrf = signed_in(client, store, "reader@example.org")
    before = snapshot(store)
    assert client.get("/curate").status_code == 403
    r = client.post(f"/papers/{XSS_ID}/curate", data={"csrf": csrf, "action": "hide"}, follow_redirects=False)
    assert r.status_code == 403 and snapshot(store) == before
    assert "Curator actions" not in client.get(f"/papers/{XSS_ID}").text

    _, csrf = signed_in(client, store, "curator@example.org", "curator")
    r = client.post(f"/papers/{XSS_ID}/curate", data={"action": "hide"}, follow_redirects=False)
    assert r.status_code == 403 and snapshot(store) == before  # no CSRF token
    r = client.post(f"/papers/{XSS_ID}/curate", data={"csrf": csrf, "action": "explode"}, follow_redirects=False)
    assert r.status_code == 400 and snapshot(store) == before
    assert 'aria-label="Curator actions"' in client.get(f"/papers/{XSS_ID}").text
    r = client.post(
        f"/papers/{XSS_ID}/curate",
        data={"csrf": csrf, "action": "feature", "note": "<i>nice</i>"},
        headers={"Referer": f"http://testserver/papers/{XSS_ID}"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/papers/{XSS_ID}"
    assert '<span class="badge featured">Featured</span>' in client.get("/").text
    r = client.post(
        f"/papers/{XSS_ID}/curate", data={"csrf": csrf, "action": "hide", "note": "spam"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/curate"
    # hidden: left out of the day listing, still reachable by URL (with a notice)
    assert f"/papers/{XSS_ID}/vote" not in client.get("/").text
    page = client.get(f"/papers/{XSS_ID}")
    assert page.status_code == 200 and "A curator has hidden this paper" in page.text
    curate = client.get("/curate").text
    audit = curate.split('id="audit-title"', 1)[1]
    assert audit.count("curator@example.org") == 2 and "&lt;i&gt;nice&lt;/i&gt;" in audit
    hidden = curate.split('id="hidden-title"', 1)[1].split('id="audit-title"', 1)[0]
    assert f"/papers/{XSS_ID}/curate" in hidden and 'value="unhide"' in hidden
    assert [e.action for e in store.community.audit_log(paper_pk=pk)] == ["hide", "feature"]
    r = client.post(
        f"/papers/{XSS_ID}/curate",
        data={"action": "unhide"},
        headers={"Accept": "application/json", "X-CSRF-Token": csrf},
    )
    assert r.json() == {"paper_id": XSS_ID, "changed": True}
    assert f"/papers/{XSS_ID}/vote" in client.get("/").text
