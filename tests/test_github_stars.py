"""paperwire.sources.github against a local server speaking GitHub's REST wire format, and the
stars time series in the database: conditional requests, tokens, rate limits, gone repositories,
retries, stars gained over a window, repository URL parsing."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from arxiv_server import ArxivServer, Reply, make_settings
from paperwire.sources.github import (
    GitHubAuthError,
    GitHubClient,
    GitHubRateLimited,
    InvalidRepo,
    StarResult,
    parse_repo,
)
from paperwire.sources.http import HarvestError
from paperwire.trending.stars import refresh_stars


class FakeGitHub:
    """GET /repos/{owner}/{repo} as api.github.com answers it: JSON with stargazers_count and
    full_name, a weak ETag, 304 when If-None-Match matches, X-RateLimit-* headers, 404 for an
    unknown repository. ``remaining``/``reset`` set the rate-limit headers of the next answers."""

    def __init__(self, srv: ArxivServer, stars: dict[str, int]):
        self.stars = dict(stars)
        self.remaining = 4999
        self.reset = int(time.time()) + 3600
        self.times: list[float] = []  # wall-clock time of every request
        for full in self.stars:
            srv.route(f"/repos/{full}", self)

    def etag(self, full: str) -> str:
        return f'W/"{hashlib.sha1(f"{full}:{self.stars[full]}".encode()).hexdigest()}"'

    def rate_headers(self) -> dict:
        return {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
            "X-RateLimit-Used": "1",
            "X-RateLimit-Resource": "core",
        }

    def __call__(self, req) -> Reply:
        self.times.append(time.time())
        full = req.path[len("/repos/") :]
        etag = self.etag(full)
        headers = {"ETag": etag, **self.rate_headers()}
        if req.headers.get("If-None-Match") == etag:
            return Reply(304, b"", headers=headers, content_type="application/json; charset=utf-8")
        body = json.dumps({"id": 1, "full_name": full, "stargazers_count": self.stars[full], "forks_count": 3})
        return Reply(200, body, headers=headers, content_type="application/json; charset=utf-8")


def gh_json(status: int, message: str, headers: dict | None = None) -> Reply:
    body = json.dumps({"message": message, "documentation_url": "https://docs.github.com/rest"})
    return Reply(status, body, headers=headers or {}, content_type="application/json; charset=utf-8")


def settings_for(tmp_path, srv, **overrides):
    values = dict(
        github_api_url=srv.base, github_token=None, http_retries=2, http_timeout=2.0, extra={"http_backoff": 0.01}
    )
    values.update(overrides)
    return make_settings(tmp_path, srv, **values)


def client_for(tmp_path, srv, settings_overrides=None, **kwargs) -> GitHubClient:
    kwargs.setdefault("reset_margin", 0.05)
    kwargs.setdefault("secondary_backoff", 0.05)
    return GitHubClient(settings_for(tmp_path, srv, **(settings_overrides or {})), **kwargs)


# -- one repository -------------------------------------------------------------------------


def test_fetch_sends_github_headers_and_reads_stars(srv, tmp_path):
    gh = FakeGitHub(srv, {"facebookresearch/segment-anything": 47000})
    with client_for(tmp_path, srv) as client:
        result = client.fetch_stars("https://github.com/facebookresearch/segment-anything/tree/main")
    assert result == StarResult(
        "facebookresearch/segment-anything",
        47000,
        gh.etag("facebookresearch/segment-anything"),
        False,
        200,
        "facebookresearch/segment-anything",
    )
    (req,) = srv.requests("/repos/facebookresearch/segment-anything")
    assert req.headers["Accept"] == "application/vnd.github+json"
    assert req.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert req.headers["User-Agent"].startswith("paperwire/")
    assert "Authorization" not in req.headers and "If-None-Match" not in req.headers


def test_token_sent_as_bearer_only_when_configured(srv, tmp_path):
    FakeGitHub(srv, {"a/b": 1})
    with client_for(tmp_path, srv, {"github_token": "ghp_fromsetting"}) as client:
        client.fetch_stars("a/b")
    with client_for(tmp_path, srv, token="ghp_fromarg") as client:
        client.fetch_stars("a/b")
    with client_for(tmp_path, srv) as client:
        client.fetch_stars("a/b")
    auth = [r.headers.get("Authorization") for r in srv.requests("/repos/a/b")]
    assert auth == ["Bearer ghp_fromsetting", "Bearer ghp_fromarg", None]


def test_conditional_request_sends_if_none_match_and_handles_304(srv, tmp_path):
    gh = FakeGitHub(srv, {"owner/repo": 10})
    with client_for(tmp_path, srv) as client:
        first = client.fetch_stars("owner/repo")
        second = client.fetch_stars("owner/repo", etag=first.etag)
        gh.stars["owner/repo"] = 12
        third = client.fetch_stars("owner/repo", etag=first.etag)
    reqs = srv.requests("/repos/owner/repo")
    assert [r.headers.get("If-None-Match") for r in reqs] == [None, first.etag, first.etag]
    assert second.not_modified and second.status == 304 and second.stars is None and second.etag == first.etag
    assert not third.not_modified and third.stars == 12 and third.etag != first.etag


def test_refresh_records_points_and_uses_stored_etag(srv, store, tmp_path):
    gh = FakeGitHub(srv, {"owner/repo": 10, "other/thing": 5})
    etag_10 = gh.etag("owner/repo")
    with client_for(tmp_path, srv) as client:
        counts = refresh_stars(
            store,
            client,
            ["https://github.com/Owner/Repo.git", "other/thing", "owner/repo", "https://gitlab.com/x/y"],
            progress=False,
        )
        assert counts == {"checked": 2, "updated": 2, "not_modified": 0, "gone": 0, "invalid": 1, "failed": 0}
        counts = refresh_stars(store, client, ["owner/repo", "other/thing"], progress=False)
        assert counts["not_modified"] == 2 and counts["updated"] == 0
        gh.stars["owner/repo"] = 15
        counts = refresh_stars(store, client, ["owner/repo"], progress=False)
        assert counts["updated"] == 1
    reqs = srv.requests("/repos/owner/repo")
    assert len(reqs) == 3  # the duplicate in the first batch was asked once
    assert [r.headers.get("If-None-Match") for r in reqs] == [None, etag_10, etag_10]
    state = store.stars.state("owner/repo")
    assert state.stars == 15 and state.status == "ok" and state.etag == gh.etag("owner/repo")
    assert store.stars.state("other/thing").stars == 5


def test_gone_repositories_are_recorded_and_the_batch_goes_on(srv, store, tmp_path):
    FakeGitHub(srv, {"live/one": 3})
    srv.route("/repos/dead/one", lambda req: gh_json(404, "Not Found"))
    srv.route("/repos/dmca/one", lambda req: gh_json(451, "Repository access blocked"))
    store.stars.record("dead/one", 7, 'W/"old"', "2026-01-01T00:00:00Z")
    with client_for(tmp_path, srv) as client:
        counts = refresh_stars(store, client, ["dead/one", "dmca/one", "live/one"], progress=False)
    assert counts["gone"] == 2 and counts["updated"] == 1 and counts["failed"] == 0
    dead = store.stars.state("dead/one")
    assert dead.status == "gone" and dead.stars is None and dead.etag is None
    assert store.stars.state("dmca/one").status == "unavailable"
    assert store.stars.gained("dead/one", "2025-12-01T00:00:00Z") == 0


def test_server_error_then_success_is_retried(srv, tmp_path):
    FakeGitHub(srv, {"a/b": 9})
    srv.queue("/repos/a/b", gh_json(500, "Server Error"), gh_json(502, "Bad Gateway"))
    with client_for(tmp_path, srv) as client:
        assert client.fetch_stars("a/b").stars == 9
    assert len(srv.requests("/repos/a/b")) == 3


def test_batch_stops_after_consecutive_failures(srv, store, tmp_path):
    for name in ("a", "b", "c", "d"):
        srv.route(f"/repos/x/{name}", lambda req: gh_json(503, "unavailable"))
    with client_for(tmp_path, srv, {"http_retries": 0}) as client, pytest.raises(HarvestError) as err:
        refresh_stars(store, client, ["x/a", "x/b", "x/c", "x/d"], progress=False)
    assert "3 repositories in a row failed" in str(err.value) and "HTTP 503" in str(err.value)
    assert srv.requests("/repos/x/d") == []


def test_bad_token_stops_with_a_clear_error(srv, tmp_path):
    srv.route("/repos/a/b", lambda req: gh_json(401, "Bad credentials"))
    with client_for(tmp_path, srv, token="nope") as client, pytest.raises(GitHubAuthError) as err:
        client.fetch_stars("a/b")
    assert "PAPERWIRE_GITHUB_TOKEN" in str(err.value)
    assert len(srv.requests("/repos/a/b")) == 1


# -- rate limits ------------------------------------------------------------------------------


def test_primary_limit_waits_until_reset(srv, tmp_path):
    gh = FakeGitHub(srv, {"a/b": 1, "c/d": 2})
    gh.remaining, gh.reset = 0, int(time.time()) + 1
    with client_for(tmp_path, srv) as client:
        client.fetch_stars("a/b")
        gh.remaining = 59
        client.fetch_stars("c/d")
        assert client.waits and "X-RateLimit-Remaining: 0" in client.waits[0][0]
    assert gh.times[1] >= gh.reset  # the second request waited for the reset


def test_primary_limit_403_waits_for_reset_then_retries(srv, tmp_path):
    gh = FakeGitHub(srv, {"a/b": 4})
    reset = int(time.time()) + 1
    srv.queue(
        "/repos/a/b",
        gh_json(
            403,
            "API rate limit exceeded for 127.0.0.1.",
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        ),
    )
    with client_for(tmp_path, srv) as client:
        assert client.fetch_stars("a/b").stars == 4
    assert len(srv.requests("/repos/a/b")) == 2
    assert gh.times[0] >= reset  # the retry (the route's first request) came after the reset
    assert len(client.waits) == 1 and "reset" in client.waits[0][0]


def test_batch_stops_when_the_reset_is_beyond_the_cap(srv, store, tmp_path):
    gh = FakeGitHub(srv, {"a/b": 1, "c/d": 2, "e/f": 3})
    gh.remaining, gh.reset = 0, int(time.time()) + 3600
    started = time.monotonic()
    with client_for(tmp_path, srv, max_wait=2.0) as client, pytest.raises(GitHubRateLimited) as err:
        refresh_stars(store, client, ["a/b", "c/d", "e/f"], progress=False)
    assert time.monotonic() - started < 2.0  # did not sleep for the hour
    msg = str(err.value)
    assert "run again after" in msg and "PAPERWIRE_GITHUB_TOKEN" in msg and "5,000" in msg
    assert err.value.retry_at >= gh.reset and err.value.counts["updated"] == 1
    assert len(gh.times) == 1  # no request once the limit was used up
    assert store.stars.state("a/b").stars == 1 and store.stars.state("c/d") is None


def test_secondary_limit_403_retry_after_is_honoured(srv, tmp_path):
    FakeGitHub(srv, {"a/b": 8})
    srv.queue("/repos/a/b", gh_json(403, "You have exceeded a secondary rate limit.", {"Retry-After": "0.4"}))
    with client_for(tmp_path, srv) as client:
        assert client.fetch_stars("a/b").stars == 8
    reqs = srv.requests("/repos/a/b")
    assert len(reqs) == 2 and reqs[1].time - reqs[0].time >= 0.38


def test_429_without_headers_backs_off_exponentially(srv, tmp_path):
    FakeGitHub(srv, {"a/b": 8})
    srv.queue("/repos/a/b", gh_json(429, "Too Many Requests"), gh_json(403, "secondary rate limit"))
    with client_for(tmp_path, srv, secondary_backoff=0.1) as client:
        assert client.fetch_stars("a/b").stars == 8
        waits = [w for why, w in client.waits if "secondary" in why]
    assert len(waits) == 2 and waits[0] >= 0.1 and waits[1] >= 0.2  # doubles
    reqs = srv.requests("/repos/a/b")
    assert len(reqs) == 3 and reqs[2].time - reqs[1].time >= 0.19


def test_retry_after_beyond_the_cap_stops(srv, tmp_path):
    FakeGitHub(srv, {"a/b": 8})
    srv.queue("/repos/a/b", gh_json(429, "slow down", {"Retry-After": "600"}))
    with client_for(tmp_path, srv, max_wait=1.0) as client, pytest.raises(GitHubRateLimited) as err:
        client.fetch_stars("a/b")
    assert "600 s from now" in str(err.value) and "run again after" in str(err.value)
    assert len(srv.requests("/repos/a/b")) == 1


def test_default_secondary_backoff_is_at_least_a_minute(srv, tmp_path):
    with GitHubClient(settings_for(tmp_path, srv)) as client:
        assert client.secondary_backoff >= 60


# -- the time series --------------------------------------------------------------------------


def test_stars_gained_over_a_window(store):
    store.stars.record("o/r", 100, 'W/"1"', "2026-11-01T00:00:00Z")
    store.stars.record("o/r", 110, 'W/"2"', "2026-11-10T00:00:00Z")
    assert store.stars.record("o/r", None, 'W/"2"', "2026-11-15T00:00:00Z") == 110  # a 304: same count
    store.stars.record("o/r", 150, 'W/"3"', "2026-11-20T00:00:00Z")
    assert store.stars.gained("o/r", "2026-11-10T00:00:00Z") == 40  # at or before: the 11-10 point
    assert store.stars.gained("o/r", "2026-11-16T12:00:00Z") == 40  # the 304 point counts (110)
    assert store.stars.gained("o/r", "2026-11-05") == 50
    assert store.stars.gained("o/r", "2026-11-20T00:00:00Z") == 0
    assert store.stars.gained("o/r", "2026-10-01T00:00:00Z") == 0  # before the first point: unknown
    assert store.stars.gained("never/seen", "2026-11-01T00:00:00Z") == 0
    # an older observation adds its point but does not become the latest state
    store.stars.record("o/r", 90, 'W/"0"', "2026-10-20T00:00:00Z")
    assert store.stars.gained("o/r", "2026-10-25T00:00:00Z") == 60
    state = store.stars.state("o/r")
    assert (state.stars, state.etag, state.checked_at) == (150, 'W/"3"', "2026-11-20T00:00:00Z")
    # stars lost: never a negative gain
    store.stars.record("o/r", 140, 'W/"4"', "2026-11-21T00:00:00Z")
    assert store.stars.gained("o/r", "2026-11-20T00:00:00Z") == 0


def test_not_modified_without_a_stored_count_is_refused(store):
    with pytest.raises(ValueError):
        store.stars.record("o/r", None, 'W/"1"', "2026-11-01T00:00:00Z")
    assert store.stars.state("o/r") is None  # the transaction left nothing behind


# -- repository names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, expected",
    [
        ("https://github.com/huggingface/transformers", "huggingface/transformers"),
        ("http://www.github.com/huggingface/transformers/", "huggingface/transformers"),
        ("https://github.com/HuggingFace/Transformers.git", "huggingface/transformers"),
        ("https://github.com/openai/CLIP/blob/main/clip/model.py#L10", "openai/clip"),
        ("https://github.com/a-b/c.d_e?tab=readme-ov-file", "a-b/c.d_e"),
        ("github.com/owner/name/issues/3", "owner/name"),
        ("git@github.com:owner/name.git", "owner/name"),
        ("owner/name", "owner/name"),
        ("  owner/name  ", "owner/name"),
    ],
)
def test_parse_repo_accepts(given, expected):
    assert parse_repo(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "",
        "owner",
        "owner/name/extra",
        "https://github.com/owner",
        "https://gitlab.com/owner/name",
        "https://gist.github.com/owner/abc",
        "https://github.com/topics/nlp",
        "https://github.com/orgs/x/repositories",
        "-bad/name",
        "owner/..",
        "own er/name",
        "ftp://github.com/owner/name",
        "https://example.org/github.com/a/b",
    ],
)
def test_parse_repo_rejects(given):
    with pytest.raises(InvalidRepo) as err:
        parse_repo(given)
    assert "github" in str(err.value).lower() or "repository" in str(err.value).lower()


def test_repo_stars_gives_the_latest_count_of_ok_repositories_in_one_call(store):
    from paperwire.models import STATUS_GONE

    store.stars.record("a/one", 10, "e1", observed_at="2026-08-01T00:00:00Z")
    store.stars.record("a/one", 12, "e2", observed_at="2026-08-02T00:00:00Z")
    store.stars.record("a/one", 11, "e0", observed_at="2026-07-01T00:00:00Z")  # older: not the latest
    store.stars.record("b/two", 1_234, "e3", observed_at="2026-08-02T00:00:00Z")
    store.stars.record("c/gone", 5, "e4", observed_at="2026-08-01T00:00:00Z")
    store.stars.record("c/gone", None, None, observed_at="2026-08-02T00:00:00Z", status=STATUS_GONE)
    assert store.stars.latest(["a/one", "b/two", "c/gone", "d/never", "a/one"]) == {"a/one": 12, "b/two": 1_234}
    assert store.stars.latest([]) == {}
    many = [f"x/r{i}" for i in range(1_200)]  # more than one IN (...) chunk
    for i, repo in enumerate(many[:3] + many[-3:]):
        store.stars.record(repo, i, None, observed_at="2026-08-01T00:00:00Z")
    assert store.stars.latest(many) == {r: i for i, r in enumerate(many[:3] + many[-3:])}
