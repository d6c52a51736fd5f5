"""The reader's library: save / remove / tags in the store and through the web (bad input changes
nothing, one reader cannot see or touch another's library), and the BibTeX and CSV exports.
A real database (SQLite, then PostgreSQL), real FastAPI app through TestClient."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from conftest import csrf_for, make_settings, sign_in, table_rows
from conftest_web import ARXIV_ID, XSS_ID, extra_papers
from paperwire import library as lib
from paperwire.library import export
from paperwire.library.core import MAX_TAGS_PER_ACCOUNT, LibraryError
from paperwire.models import Paper, validated
from paperwire.web.session import SESSION_COOKIE

JSON = {"accept": "application/json"}
FORMULA_ID = "local:formula"


def _papers() -> list[Paper]:
    return extra_papers() + [
        Paper(
            id=FORMULA_ID,
            title='=HYPERLINK("http://evil.example","click")',
            source="test",
            abstract="A title a spreadsheet would run.",
            authors=["+Plus Person", "@At Person"],
            categories=["cs.CR"],
            announced="2025-03-18",
        ),
        Paper(
            id="2503.00001",
            title="Attention & Transformers: 100% of {Braces}",
            source="test",
            authors=["Ashish Vaswani"],
            categories=["cs.CL"],
            submitted="2025-03-01T00:00:00Z",
            announced="2025-03-03",
        ),
        Paper(
            id="2503.00002",
            title="Attention for Graphs",
            source="test",
            authors=["Ashish Vaswani"],
            categories=["cs.LG"],
            submitted="2025-03-01T00:00:00Z",
            announced="2025-03-03",
        ),
    ]


@pytest.fixture
def lib_env(tmp_path, db_url):
    """(store, pks by paper id, app) over a fresh database with a handful of papers."""
    from paperwire.storage import open_store
    from paperwire.web.app import create_app

    settings = make_settings(tmp_path, db_url)
    store = open_store(settings.database_url)
    store.papers.upsert([validated(p) for p in _papers()])
    pks = store.papers.pks_for([p.id for p in _papers()])
    app = create_app(settings, store=store, background=False)
    yield store, pks, app
    store.close()


def client_for(app, store, email: str) -> tuple[TestClient, str, object]:
    account, cookie = sign_in(store, email)
    c = TestClient(app)
    c.cookies.set(SESSION_COOKIE, cookie)
    return c, csrf_for(c, "/library"), account


def snapshot(store) -> dict:
    return {t: table_rows(store, t) for t in ("library", "library_tags", "not_relevant", "accounts")}


# -- store and core ---------------------------------------------------------------------------
def test_save_tags_remove_and_version_bumps(lib_env):
    store, pks, _ = lib_env
    acc = store.accounts.ensure("a@example.org")
    v0 = store.accounts.get(acc.id).library_version
    assert lib.save(store, acc.id, ARXIV_ID, "  reading   group , RL ,") is True
    assert lib.save(store, acc.id, ARXIV_ID) is False  # saving twice is one entry
    [entry] = store.library.entries(acc.id)
    assert entry.paper.id == ARXIV_ID and entry.tags == ["RL", "reading group"] and entry.saved_at
    assert store.library.tags(acc.id) == [("reading group", 1), ("RL", 1)]
    assert lib.set_tags(store, acc.id, ARXIV_ID, "RL, privacy.v2") == ["RL", "privacy.v2"]
    assert [e.paper.id for e in store.library.entries(acc.id, tag="privacy.v2")] == [ARXIV_ID]
    assert store.library.entries(acc.id, tag="reading group") == []
    store.library.add_tag(acc.id, pks[ARXIV_ID], "extra")
    store.library.remove_tag(acc.id, pks[ARXIV_ID], "RL")
    assert store.library.entries(acc.id)[0].tags == ["extra", "privacy.v2"]
    assert lib.remove(store, acc.id, ARXIV_ID) is True
    assert store.library.entries(acc.id) == [] and store.library.tags(acc.id) == []
    assert store.accounts.get(acc.id).library_version == v0 + 6  # one bump per change


@pytest.mark.parametrize(
    "bad, why",
    [
        ("", "empty"),
        ("x" * 41, "longer than 40"),
        ("<script>", "may only hold"),
        ("a,b;c", "may only hold"),
        ("tab\u200bzero", "may only hold"),
    ],
)
def test_bad_tag_names_are_refused_and_change_nothing(lib_env, bad, why):
    store, _, _ = lib_env
    acc = store.accounts.ensure("a@example.org")
    lib.save(store, acc.id, ARXIV_ID, "ok")
    before = snapshot(store)
    with pytest.raises(LibraryError, match=why):
        lib.set_tags(store, acc.id, ARXIV_ID, [bad])
    with pytest.raises(LibraryError):
        lib.save(store, acc.id, XSS_ID, [bad])
    assert snapshot(store) == before


def test_at_most_50_tags_per_account(lib_env):
    store, pks, _ = lib_env
    acc = store.accounts.ensure("a@example.org")
    lib.save(store, acc.id, ARXIV_ID, [f"t{i}" for i in range(20)])
    lib.save(store, acc.id, XSS_ID, [f"t{i}" for i in range(20, 40)])
    lib.save(store, acc.id, FORMULA_ID, [f"t{i}" for i in range(40, 50)])
    assert len(store.library.tags(acc.id)) == MAX_TAGS_PER_ACCOUNT
    before = snapshot(store)
    with pytest.raises(LibraryError, match="at most 50 tags"):
        lib.save(store, acc.id, "2503.00001", ["t50"])
    with pytest.raises(LibraryError, match="at most 50 tags"):
        store.library.add_tag(acc.id, pks[ARXIV_ID], "one more")
    assert snapshot(store) == before  # the paper of the refused save is not saved either
    lib.save(store, acc.id, "2503.00001", ["t0", "t49"])  # existing tags are fine
    assert len(store.library.tags(acc.id)) == MAX_TAGS_PER_ACCOUNT


def test_unknown_paper_and_unsaved_paper(lib_env):
    store, _, _ = lib_env
    acc = store.accounts.ensure("a@example.org")
    before = snapshot(store)
    with pytest.raises(lib.NotFound):
        lib.save(store, acc.id, "9999.99999")
    with pytest.raises(lib.NotFound):
        lib.mark_not_relevant(store, acc.id, "local:nope")
    with pytest.raises(LibraryError, match="save the paper"):
        lib.set_tags(store, acc.id, ARXIV_ID, ["x"])
    assert snapshot(store) == before


def test_not_relevant_marks_per_feed(lib_env):
    store, pks, _ = lib_env
    acc = store.accounts.ensure("a@example.org")
    assert lib.mark_not_relevant(store, acc.id, ARXIV_ID) is True
    assert lib.mark_not_relevant(store, acc.id, ARXIV_ID) is False
    lib.mark_not_relevant(store, acc.id, XSS_ID, "RL")
    assert store.library.not_relevant_pks(acc.id) == {pks[ARXIV_ID]}
    assert store.library.not_relevant_pks(acc.id, "RL") == {pks[XSS_ID]}
    with pytest.raises(LibraryError):
        lib.mark_not_relevant(store, acc.id, ARXIV_ID, "bad<tag>")


# -- exports ----------------------------------------------------------------------------------
def test_bibtex_export_parses(lib_env):
    bibtexparser = pytest.importorskip("bibtexparser", reason="the BibTeX check needs bibtexparser (test extra)")
    store, _, _ = lib_env
    acc = store.accounts.ensure("a@example.org")
    for pid in (ARXIV_ID, XSS_ID, "2503.00001", "2503.00002"):
        lib.save(store, acc.id, pid, ["all"])
    text = export.to_bibtex(
        export.all_entries(store, acc.id, "all"), url_for=lambda p: "https://pw.example/papers/" + p.id
    )
    db = bibtexparser.loads(text)
    by_key = {e["ID"]: e for e in db.entries}
    assert len(db.entries) == 4
    # two Vaswani 2025 "attention" papers: their keys must differ
    assert {"vaswani2025attention", "vaswani2025attentiona"} <= by_key.keys()
    amp = next(e for e in db.entries if e.get("eprint") == "2503.00001")
    assert amp["title"] == r"Attention \& Transformers: 100\% of \{Braces\}"
    assert amp["archiveprefix"] == "arXiv" and amp["year"] == "2025" and amp["author"] == "Ashish Vaswani"
    xss = next(e for e in db.entries if e["url"].endswith(XSS_ID))
    assert r"$\alpha<\beta$" in xss["title"] and r"\&" in xss["title"]
    refine = next(e for e in db.entries if e.get("eprint") == ARXIV_ID)
    assert refine["doi"] == "10.48550/arXiv.2503.11731" and refine["url"] == f"https://arxiv.org/abs/{ARXIV_ID}"


def test_csv_export_round_trips_and_guards_formulas(lib_env):
    store, _, _ = lib_env
    acc = store.accounts.ensure("a@example.org")
    lib.save(store, acc.id, FORMULA_ID, ["-2 weeks", "x"])
    lib.save(store, acc.id, XSS_ID)
    rows = list(csv.reader(io.StringIO(export.to_csv(export.all_entries(store, acc.id)))))
    assert rows[0] == list(export.CSV_COLUMNS)
    by_id = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert set(by_id) == {FORMULA_ID, XSS_ID}
    f = by_id[FORMULA_ID]
    assert f["title"] == '\'=HYPERLINK("http://evil.example","click")'
    assert f["authors"] == "'+Plus Person; @At Person"
    assert f["tags"] == "'-2 weeks; x" and f["day"] == "2025-03-18" and f["categories"] == "cs.CR"
    x = by_id[XSS_ID]
    assert x["title"] == extra_papers()[0].title  # commas, quotes and markup survive the round trip
    assert x["authors"] == "Mallory <em>O'Hara</em>; Eve & Co"
    assert all(not r[i].startswith(("=", "+", "-", "@")) for r in rows[1:] for i in range(len(r)))


# -- web ---------------------------------------------------------------------------------------
def test_web_save_tags_remove_and_errors(lib_env):
    store, pks, app = lib_env
    c, tok, acc = client_for(app, store, "web@example.org")
    r = c.post("/library/save", data={"csrf": tok, "paper_id": ARXIV_ID, "action": "save", "tags": "RL"}, headers=JSON)
    assert r.status_code == 200 and r.json()["saved"] is True
    r = c.post(
        "/library/save",
        data={"csrf": tok, "paper_id": XSS_ID, "action": "save"},
        headers={"referer": "http://testserver/day/2025-03-17?page=2"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/day/2025-03-17?page=2"
    r = c.post(
        "/library/save",
        data={"csrf": tok, "paper_id": FORMULA_ID, "action": "save"},
        headers={"referer": "https://evil.example/x"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/library"  # never back to another site
    before = snapshot(store)
    for data, status in [
        ({"paper_id": "9999.99999"}, 404),
        ({"paper_id": ARXIV_ID, "tags": "no<way>"}, 400),
        ({"paper_id": ARXIV_ID, "action": "explode"}, 400),
        ({"paper_id": ARXIV_ID, "tags": ",".join(f"t{i}" for i in range(60))}, 400),
    ]:
        r = c.post("/library/save", data={"csrf": tok, "action": "save", **data}, headers=JSON)
        assert r.status_code == status, (data, r.text)
        assert r.json()["error"]
    r = c.post("/library/save", data={"csrf": tok, "paper_id": "9999.99999", "action": "save"})
    assert r.status_code == 404 and "no paper" in r.text.lower()
    r = c.post("/library/save", data={"paper_id": ARXIV_ID, "action": "remove"}, headers=JSON)
    assert r.status_code == 403  # no CSRF token
    assert snapshot(store) == before

    page = c.get("/library")
    assert page.status_code == 200 and "Iterative Refinement of Program Synthesis" in page.text
    assert 'href="/library?tag=RL"' in page.text and "&lt;script&gt;alert(1)" in page.text
    assert "<script>alert(1)" not in page.text
    r = c.post("/library/tags", data={"csrf": tok, "paper_id": ARXIV_ID, "tags": "RL, code repair"}, headers=JSON)
    assert r.json()["tags"] == ["RL", "code repair"]
    tagged = c.get("/library", params={"tag": "code repair"})
    assert "Iterative Refinement" in tagged.text and "alert(1)" not in tagged.text
    assert c.get("/library", params={"tag": "<x>"}).status_code == 400
    assert c.get("/library", params={"page": 2}).status_code == 404
    r = c.post("/library/save", data={"csrf": tok, "paper_id": ARXIV_ID, "action": "remove"}, headers=JSON)
    assert r.json()["saved"] is False and store.library.saved_pks(acc.id, [pks[ARXIV_ID]]) == set()


def test_web_exports(lib_env):
    store, _, app = lib_env
    c, tok, acc = client_for(app, store, "exp@example.org")
    lib.save(store, acc.id, ARXIV_ID, ["code repair"])
    lib.save(store, acc.id, FORMULA_ID)
    bib = c.get("/library/export.bib")
    assert bib.status_code == 200 and bib.headers["content-type"].startswith("application/x-bibtex")
    assert bib.headers["content-disposition"] == 'attachment; filename="paperwire-library.bib"'
    assert bib.text.count("@misc{") == 2
    only = c.get("/library/export.csv", params={"tag": "code repair"})
    assert only.headers["content-disposition"] == 'attachment; filename="paperwire-library-code-repair.csv"'
    rows = list(csv.reader(io.StringIO(only.text)))
    assert [r[0] for r in rows[1:]] == [ARXIV_ID]
    anon = TestClient(app)
    r = anon.get("/library/export.csv", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")


def test_one_reader_cannot_see_or_change_anothers_library(lib_env):
    store, pks, app = lib_env
    alice, alice_tok, a = client_for(app, store, "alice@example.org")
    bob, bob_tok, b = client_for(app, store, "bob@example.org")
    lib.save(store, a.id, ARXIV_ID, ["alice-secret-tag"])
    lib.mark_not_relevant(store, a.id, XSS_ID)
    assert "Iterative Refinement" not in bob.get("/library").text
    assert "alice-secret-tag" not in bob.get("/library").text
    assert "Iterative Refinement" not in bob.get("/library/export.csv").text
    assert bob.get("/api/library").json()["total"] == 0
    # Bob's removes and tag edits touch only Bob's rows, and Alice's CSRF token does not work for Bob
    before = snapshot(store)
    r = bob.post("/library/save", data={"csrf": bob_tok, "paper_id": ARXIV_ID, "action": "remove"}, headers=JSON)
    assert r.status_code == 200 and r.json()["saved"] is False
    r = bob.post("/library/tags", data={"csrf": bob_tok, "paper_id": ARXIV_ID, "tags": "mine"}, headers=JSON)
    assert r.status_code == 400
    assert store.library.entries(a.id)[0].tags == ["alice-secret-tag"]
    assert [row for row in snapshot(store)["library"]] == before["library"]
    r = bob.post("/library/save", data={"csrf": alice_tok, "paper_id": ARXIV_ID, "action": "save"}, headers=JSON)
    assert r.status_code == 403
    assert store.library.saved_pks(b.id, [pks[ARXIV_ID]]) == set()
    assert store.library.count(a.id) == 1 and store.library.not_relevant_pks(b.id) == set()


def test_signed_out_reader_is_sent_to_sign_in(lib_env):
    store, _, app = lib_env
    c = TestClient(app)
    r = c.get("/library", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Flibrary"
    tok = csrf_for(c, "/")
    r = c.post("/library/save", data={"csrf": tok, "paper_id": ARXIV_ID}, headers=JSON)
    assert r.status_code == 401 and r.json()["signin"].startswith("/signin")
    page = c.get("/for-you")
    assert page.status_code == 200 and "Sign in to get papers picked for you" in page.text
    assert store.conn.execute("SELECT count(*) FROM library").fetchone()[0] == 0
