"""The arXiv OAI-PMH source against a local server speaking OAI-PMH with arXiv's metadata format,
fed with the real 0704.* arXiv records and hand-written fixtures."""

from __future__ import annotations

import time
from datetime import date

import pytest

from arxiv_server import ABS_0704, FIXTURES, SKIP_REASON, OaiRepository, Reply, Request, load_0704, make_settings
from paperwire.sources.arxiv_oai import OaiError, parse_list_records
from paperwire.sources.harvest import make_oai_source
from paperwire.sources.http import HarvestError, HttpError, UnsafeContent
from paperwire.sources.runner import run_ingest

pytestmark = pytest.mark.skipif(not ABS_0704.exists(), reason=SKIP_REASON)

TODAY = date(2007, 4, 10)
OAI_DIR = FIXTURES / "oai"


@pytest.fixture(scope="module")
def records():
    return load_0704()


def fixture_reply(name: str) -> Reply:
    return Reply(200, (OAI_DIR / name).read_bytes())


def harvest(settings, store, set_spec="cs", date_from="2007-04-02", date_to="2007-04-06", **kw):
    source = make_oai_source(settings, store, set_spec, date_from, date_to, today=kw.pop("today", TODAY))
    return source, run_ingest(store, source, progress=False, **kw)


def test_resumption_token_paging(srv, tmp_path, store, records, db_url):
    repo = OaiRepository(records, page_size=40)
    srv.route("/oai", repo)
    source, report = harvest(
        make_settings(tmp_path, srv, database_url=db_url), store, "math", "2007-04-02", "2007-04-03"
    )
    expected = len(repo._select({"from": "2007-04-02", "until": "2007-04-03", "set": "math"}))
    assert expected == 73  # 37 + 36 math papers: two pages of 40
    reqs = srv.requests("/oai")
    assert reqs[0].query == {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "from": "2007-04-02",
        "until": "2007-04-03",
        "set": "math",
    }
    # the token carries on alone: from/until/set are not sent again
    assert [r.query for r in reqs[1:]] == [{"verb": "ListRecords", "resumptionToken": "6960524|40"}]
    assert report.inserted == expected and report.skipped == 0 and store.papers.count() == expected
    assert report.warnings == []
    assert store.papers.source_state(source.key) == {
        "window": None,
        "resume": None,
        "complete": True,
        "last": {"from": "2007-04-02", "until": "2007-04-03"},
    }


def test_paging_with_tokens_as_arxivs_current_service_writes_them(srv, tmp_path, store, records, db_url):
    repo = OaiRepository(records, page_size=15, style="new")
    srv.route("/oai", repo)
    source, report = harvest(
        make_settings(tmp_path, srv, database_url=db_url), store, "physics:hep-th", "2007-04-02", "2007-04-06"
    )
    expected = repo._select({"from": "2007-04-02", "until": "2007-04-06", "set": "physics:hep-th"})
    assert len(expected) > 30  # at least three pages
    reqs = srv.requests("/oai")
    assert len(reqs) == -(-len(expected) // 15)
    assert all(set(r.query) == {"verb", "resumptionToken"} for r in reqs[1:])
    assert report.inserted == len(expected)
    assert all(store.papers.get(r["id"]) is not None for r in expected)
    assert report.warnings == []  # hep-th papers on every weekday of the window


def test_arxiv_metadata_mapping_and_deleted_records(srv, tmp_path, store, db_url):
    srv.queue("/oai", fixture_reply("list_records_deleted.xml"))
    source, report = harvest(
        make_settings(tmp_path, srv, database_url=db_url),
        store,
        "cs",
        "2008-12-13",
        "2009-01-01",
        today=date(2009, 1, 2),
    )
    assert report.inserted == 2 and source.deleted == 1
    assert "skipped 1 record arXiv marks as deleted" in report.warnings
    p = store.papers.get("0704.0002")
    assert p.title == "Sparsity-certifying Graph Decompositions"
    assert p.authors == ["Ileana Streinu", "Louis Theran"]
    assert p.categories == ["math.CO", "cs.CG"] and p.primary_category == "math.CO"
    assert p.submitted == "2007-03-31T00:00:00Z" and p.updated == "2008-12-13T00:00:00Z"
    assert p.version is None and p.comments == "To appear in Graphs and Combinatorics"
    assert p.abstract.startswith("We describe a new algorithm, the $(k,\\ell)$-pebble game")
    q = store.papers.get("0704.0047")
    assert q.title == "Intelligent location of simultaneously active acoustic emission sources: Part I"
    assert q.updated == q.submitted == "2007-04-01T00:00:00Z"
    assert store.papers.get("0704.0028") is None


def test_no_records_match_is_an_empty_window(srv, tmp_path, store, db_url):
    srv.queue("/oai", fixture_reply("no_records_match.xml"))
    source, report = harvest(make_settings(tmp_path, srv, database_url=db_url), store, "cs", "2007-04-07", "2007-04-08")
    assert report.read == 0 and report.warnings == []  # a weekend: no weekday to warn about
    assert store.papers.source_state(source.key)["last"] == {"from": "2007-04-07", "until": "2007-04-08"}
    assert len(srv.requests("/oai")) == 1


def test_other_oai_errors_fail_clearly(srv, tmp_path, store, db_url):
    srv.queue("/oai", fixture_reply("bad_argument.xml"))
    with pytest.raises(OaiError) as err:
        harvest(make_settings(tmp_path, srv, database_url=db_url), store, "nosuchset")
    msg = str(err.value)
    assert "OAI-PMH error badArgument: Invalid set: nosuchset" in msg and "Check the set name" in msg
    assert "set=nosuchset" in msg
    assert len(srv.requests("/oai")) == 1  # not retried
    # the same error sent with HTTP 400, as some OAI-PMH servers do
    srv.queue("/oai", Reply(400, (OAI_DIR / "bad_argument.xml").read_bytes()))
    with pytest.raises(OaiError, match="badArgument"):
        harvest(make_settings(tmp_path, srv, database_url=db_url), store, "nosuchset")
    assert len(srv.requests("/oai")) == 2


def test_entity_bomb_is_refused_and_nothing_stored(srv, tmp_path, store, db_url):
    srv.route("/oai", lambda req: fixture_reply("entity_bomb.xml"))
    started = time.monotonic()
    with pytest.raises(UnsafeContent, match="billion laughs"):
        harvest(make_settings(tmp_path, srv, database_url=db_url), store)
    assert time.monotonic() - started < 5
    assert store.papers.count() == 0
    assert len(srv.requests("/oai")) == 1  # refused on principle, not fetched again
    with pytest.raises(UnsafeContent):
        parse_list_records((OAI_DIR / "entity_bomb.xml").read_bytes())


def truncated(body: bytes) -> bytes:
    return body[: len(body) // 2]  # a complete HTTP answer whose XML stops mid-document


def test_truncated_xml_is_retried(srv, tmp_path, store, records, db_url):
    repo = OaiRepository(records, page_size=40)
    srv.route("/oai", repo)
    good = repo(
        Request(
            0.0,
            "/oai",
            {
                "verb": "ListRecords",
                "metadataPrefix": "arXiv",
                "from": "2007-04-02",
                "until": "2007-04-02",
                "set": "math",
            },
            "",
            {},
        )
    )
    srv.queue("/oai", Reply(200, truncated(good.body.encode())))
    source, report = harvest(
        make_settings(tmp_path, srv, database_url=db_url), store, "math", "2007-04-02", "2007-04-02"
    )
    assert len(srv.requests("/oai")) == 2
    assert report.inserted == 37 and store.papers.count() == 37


def test_connection_cut_mid_document_is_retried(srv, tmp_path, store, records, db_url):
    repo = OaiRepository(records, page_size=40)
    srv.route("/oai", repo)
    body = (OAI_DIR / "list_records_deleted.xml").read_bytes()
    srv.queue("/oai", Reply(200, body, cut_after=700), Reply(200, body))
    source, report = harvest(make_settings(tmp_path, srv, database_url=db_url), store, "cs", "2008-12-13", "2009-01-01")
    assert len(srv.requests("/oai")) == 2 and report.inserted == 2


def test_truncated_xml_every_time_is_reported_and_page_not_half_stored(srv, tmp_path, store, records, db_url):
    repo = OaiRepository(records, page_size=10)

    def route(req):
        reply = repo(req)
        if req.query.get("resumptionToken", "").endswith("|10"):  # page 2 always arrives cut off
            reply.body = truncated(reply.body.encode())
        return reply

    srv.route("/oai", route)
    settings = make_settings(tmp_path, srv, database_url=db_url, http_retries=2)
    with pytest.raises(HarvestError) as err:
        harvest(settings, store, "math", "2007-04-02", "2007-04-02", batch_size=5)
    msg = str(err.value)
    assert "incomplete or malformed XML" in msg and "gave up after 3 attempts" in msg and "resumptionToken" in msg
    assert len(srv.requests("/oai")) == 1 + 3
    assert store.papers.count() == 10  # page 1 only: nothing of the broken page 2
    assert store.papers.source_state("arxiv-oai:math")["resume"]["token"].endswith("|10")


def test_503_retry_after_then_success(srv, tmp_path, store, records, db_url):
    srv.route("/oai", OaiRepository(records, page_size=40))
    srv.queue("/oai", Reply(503, b"Retry later", headers={"Retry-After": "10"}, content_type="text/plain"))
    settings = make_settings(tmp_path, srv, database_url=db_url, extra={"http_max_wait": 0.3})
    source, report = harvest(settings, store, "math", "2007-04-02", "2007-04-02")
    reqs = srv.requests("/oai")
    assert len(reqs) == 2 and reqs[1].time - reqs[0].time >= 0.28
    assert reqs[1].query == reqs[0].query  # the same request again
    assert report.inserted == 37


def test_killed_harvest_resumes_from_last_committed_page(srv, tmp_path, store, records, db_url):
    repo = OaiRepository(records, page_size=10)
    repo.fail_from_page = 3
    srv.route("/oai", repo)
    settings = make_settings(tmp_path, srv, database_url=db_url, http_retries=1)
    with pytest.raises(HttpError, match="HTTP 500"):
        harvest(settings, store, "math", "2007-04-02", "2007-04-03", batch_size=10)
    assert store.papers.count() == 20
    assert store.papers.source_state("arxiv-oai:math")["resume"]["token"] == "6960524|20"

    repo.fail_from_page = None
    n = len(srv.requests("/oai"))
    source, report = harvest(settings, store, "math", "2007-04-02", "2007-04-03", batch_size=10)
    again = [r.query for r in srv.requests("/oai")[n:]]
    assert again[0] == {"verb": "ListRecords", "resumptionToken": "6960524|20"}
    assert len(again) == 6  # pages 3 to 8 of 73 records: none fetched twice
    assert report.resumed_from.startswith("page 3 of set math")
    assert report.inserted == 53 and store.papers.count() == 73


def test_expired_token_restarts_the_window(srv, tmp_path, store, records, db_url):
    repo = OaiRepository(records, page_size=10)
    repo.fail_from_page = 2
    srv.route("/oai", repo)
    settings = make_settings(tmp_path, srv, database_url=db_url, http_retries=0)
    with pytest.raises(HttpError):
        harvest(settings, store, "math", "2007-04-02", "2007-04-02", batch_size=10)
    assert store.papers.count() == 10
    repo.fail_from_page = None
    repo.forget_tokens()  # the server restarted: the saved token means nothing now
    source, report = harvest(settings, store, "math", "2007-04-02", "2007-04-02", batch_size=10)
    assert any("resumption token had expired" in w for w in report.warnings)
    assert (report.inserted, report.unchanged) == (27, 10) and store.papers.count() == 37


def test_reharvest_is_idempotent(srv, tmp_path, store, records, db_url):
    srv.route("/oai", OaiRepository(records, page_size=50))
    settings = make_settings(tmp_path, srv, database_url=db_url)
    _, first = harvest(settings, store, "math", "2007-04-02", "2007-04-03")
    seq = store.papers.max_seq()
    _, second = harvest(settings, store, "math", "2007-04-02", "2007-04-03")
    assert first.inserted == 73
    assert (second.inserted, second.updated, second.unchanged, second.skipped) == (0, 0, 73, 0)
    assert store.papers.max_seq() == seq
