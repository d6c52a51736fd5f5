"""Schemathesis against a real uvicorn server on loopback: every /api operation of the OpenAPI
document, with examples generated from the document (its examples, its boundaries and values that
break them, then random ones; a bounded number per operation), once without a session and once
signed in (session cookie + CSRF cookie and header). Every answer must be documented: status,
media type, body schema and headers, and none a server error. 0 failures, on both databases."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import requests

from conftest import ingest_seed, make_settings, sign_in
from conftest_web import ARXIV_ID, OLD_ID, extra_papers, serving

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 25  # per operation and phase
SEED = 20261203  # the same cases every run: a failure here is the code's, not the draw's
PHASES = "examples,coverage,fuzzing"  # stateless: the API has no links between operations
# every check that judges one answer against the document, less positive_data_acceptance: the
# document cannot say which strings name a time zone or can be mailed to (those are 400s)
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
]


@pytest.fixture(scope="module")
def api_site(tmp_path_factory, db_urls, seed_path):
    """A site of its own (the session's web fixtures are shared with tests that count what they
    hold): the seed papers + the hand-made ones, fully indexed, one reader with a library."""
    from paperwire import library as lib
    from paperwire.models import validated
    from paperwire.search.hybrid import SearchEngine
    from paperwire.search.indexer import Indexer
    from paperwire.storage import open_store
    from paperwire.web.app import create_app

    root = tmp_path_factory.mktemp(f"schemathesis-{db_urls.backend}")
    site = make_settings(root, db_urls(root / "paperwire.db"))
    store = open_store(site.database_url)
    ingest_seed(store, seed_path)
    store.papers.upsert([validated(p) for p in extra_papers()])
    indexer = Indexer(store, site)
    indexer.sync(progress=False)
    engine = SearchEngine(store, site)
    engine.reload()
    account, session = sign_in(store, "schemathesis@example.org")
    lib.save(store, account.id, ARXIV_ID, "code")
    lib.save(store, account.id, OLD_ID, "strings, code")
    app = create_app(site, store=store, engine=engine, indexer=indexer, background=False)
    with serving(app) as base:
        yield {"base": base, "session": session}
    store.close()


@pytest.fixture(scope="module")
def signed_in_headers(api_site) -> list[str]:
    """What a signed-in browser sends: the session cookie, the CSRF cookie a page set, and that
    page's token in X-CSRF-Token as the site's scripts do."""
    from paperwire.security import CSRF_COOKIE
    from paperwire.web.session import SESSION_COOKIE

    with requests.Session() as s:
        s.cookies.set(SESSION_COOKIE, api_site["session"])
        page = s.get(api_site["base"] + "/library")
        assert page.status_code == 200 and "Sign out" in page.text
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)
        csrf = s.cookies.get(CSRF_COOKIE)
    assert csrf and token
    signed = requests.get(
        api_site["base"] + "/api/library", headers={"Cookie": f"{SESSION_COOKIE}={api_site['session']}"}
    )
    assert signed.status_code == 200 and signed.json()["total"] == 2  # the headers do sign in
    return [f"Cookie: {SESSION_COOKIE}={api_site['session']}; {CSRF_COOKIE}={csrf}", f"X-CSRF-Token: {token}"]


def schemathesis_run(base: str, workdir, *headers: str) -> subprocess.CompletedProcess:
    """``st run`` (the schemathesis command) against the server's own document; its exit status
    is 0 only when no check failed and nothing else went wrong. It runs in ``workdir``, where it
    keeps its cache (.schemathesis/), so nothing lands in the work tree."""
    cmd = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base}/openapi.json",
        "--include-path-regex",
        "^/api/",
        "--phases",
        PHASES,
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
        "--suppress-health-check",
        "all",
        "--continue-on-failure",
    ]
    for h in headers:
        cmd += ["--header", h]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "SCHEMATHESIS_HOOKS": ""}, cwd=workdir
    )


def _report(proc) -> str:
    return f"exit {proc.returncode}\n{proc.stdout[-20000:]}\n{proc.stderr[-5000:]}"


def assert_clean(proc, base: str) -> str:
    """0 failures, every /api operation of the document tested, every generated case passed."""
    out = proc.stdout
    assert proc.returncode == 0, _report(proc)
    operations = sum(
        len(ops)
        for path, ops in requests.get(base + "/openapi.json").json()["paths"].items()
        if path.startswith("/api/")
    )
    assert re.search(rf"^\s*Tested: {operations}$", out, re.M), _report(proc)
    counts = re.search(r"^\s*(\d+) generated, (\d+) passed$", out, re.M)
    assert counts and counts.group(1) == counts.group(2) and int(counts.group(1)) >= 20 * operations, _report(proc)
    return out


def test_api_conforms_to_its_document_anonymous(api_site, tmp_path):
    out = assert_clean(schemathesis_run(api_site["base"], tmp_path), api_site["base"])
    # without a session only the sign-in answer comes back from the reader's own lists
    signed_in_only = re.search(r"401 Unauthorized \(\d+ operations?\):\n((?:\s+- .*\n)+)", out)
    assert signed_in_only and signed_in_only.group(1).split() == [
        "-",
        "GET",
        "/api/follows",
        "-",
        "GET",
        "/api/for-you",
        "-",
        "GET",
        "/api/library",
        "-",
        "POST",
        "/api/follows",
        "-",
        "POST",
        "/api/papers/{paper_id}/comments",
    ], out


def test_api_conforms_to_its_document_signed_in(api_site, signed_in_headers, tmp_path):
    out = assert_clean(schemathesis_run(api_site["base"], tmp_path, *signed_in_headers), api_site["base"])
    assert "401 Unauthorized" not in out, out  # the session signs every case in
