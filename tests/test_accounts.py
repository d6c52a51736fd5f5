"""Accounts and magic-link sign-in (issue 4): the core (paperwire.accounts), the pages
(/signin, /signin/confirm, /signout) through a TestClient, and the `paperwire accounts` command.
A real database (SQLite, then PostgreSQL), real outbox rows (the mail is parsed from the queued message), no mocks."""

from __future__ import annotations

import email
import email.policy
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from conftest import sign_in
from paperwire import accounts
from paperwire.accounts import InvalidInput, RateLimited, SigninError
from paperwire.security import sign
from paperwire.web.session import SESSION_COOKIE, hash_token

ADDR = "reader@example.org"
CSRF_VALUE = re.compile(r'(name="csrf" value="|name="csrf-token" content=")[^"]+')


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path, db_url):
    from conftest import make_settings

    return make_settings(tmp_path, db_url)  # the database of the ``store`` fixture


@pytest.fixture
def env(settings, store):
    """(settings, store, TestClient over http://testserver)."""
    from paperwire.web.app import create_app

    app = create_app(settings, store=store, background=False)
    with TestClient(app) as client:
        yield settings, store, client


def snapshot(store) -> dict:
    """Everything sign-in may write."""
    from conftest import table_rows

    return {
        t: table_rows(store, t) for t in ("accounts", "signin_tokens", "sessions", "outbox", "rate_events", "audit_log")
    }


def signin_mails(store, addr: str | None = None) -> list[email.message.EmailMessage]:
    rows = store.conn.execute("SELECT recipient, message FROM outbox WHERE kind='signin' ORDER BY id").fetchall()
    return [
        email.message_from_bytes(r["message"], policy=email.policy.default)
        for r in rows
        if addr is None or r["recipient"] == addr
    ]


def token_of(msg) -> str:
    text = msg.get_body(("plain",)).get_content()
    m = re.search(r"https?://\S+/signin/confirm\?token=\S+", text)
    assert m, text
    return parse_qs(urlsplit(m.group(0)).query)["token"][0]


def new_token(store, settings, addr: str = ADDR, next_url: str = "/") -> str:
    accounts.request_signin(store, settings, addr, client="10.0.0.1", next_url=next_url)
    return token_of(signin_mails(store, addr)[-1])


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html) or re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def web_request_link(client, addr: str = ADDR, next_url: str | None = None):
    page = client.get("/signin" + (f"?next={next_url}" if next_url else ""))
    data = {"csrf": csrf_of(page.text), "email": addr}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/signin", data=data)


def web_confirm(client, token: str):
    """Open the link (GET: the page with the button), press the button (POST)."""
    page = client.get("/signin/confirm", params={"token": token})
    assert page.status_code == 200, page.text
    return client.post("/signin/confirm", data={"csrf": csrf_of(page.text), "token": token}, follow_redirects=False)


def set_cookie_header(resp, name: str) -> str:
    [header] = [h for h in resp.headers.get_list("set-cookie") if h.startswith(name + "=")]
    return header


# -- the core ---------------------------------------------------------------------------------


def test_request_queues_one_mail_with_a_link_in_the_same_transaction(store, settings):
    assert (
        accounts.request_signin(
            store, settings, "  Reader@Example.ORG ", client="1.2.3.4", next_url="/papers/2503.11731"
        )
        == "new"
    )
    [msg] = signin_mails(store)
    assert msg["To"] == ADDR and msg["Subject"] == "Sign in to Paperwire"
    assert msg.get_body(("html",)) is not None and msg.get_body(("plain",)) is not None
    assert "within 15 minutes" in msg.get_body(("plain",)).get_content()
    link = accounts.read_link(settings, token_of(msg))
    assert (link.email, link.next_url) == (ADDR, "/papers/2503.11731")
    [row] = store.conn.execute("SELECT nonce, email, used_at FROM signin_tokens").fetchall()
    assert tuple(row) == (link.nonce, ADDR, None)
    assert store.accounts.by_email(ADDR) is None  # no account before the link is used


def test_link_is_single_use_and_creates_a_reader_account(store, settings):
    token = new_token(store, settings)
    account, next_url = accounts.complete_signin(store, settings, token)
    assert (account.email, account.role, account.status, next_url) == (ADDR, "reader", "active", "/")
    assert account.last_signin_at is not None
    before = snapshot(store)
    with pytest.raises(SigninError) as e:
        accounts.complete_signin(store, settings, token)
    assert e.value.reason == "used" and "used already; ask for a new one" in str(e.value)
    with pytest.raises(SigninError):
        accounts.peek_signin(store, settings, token)
    assert snapshot(store) == before


def test_link_races_itself_once(store, settings):
    """Eight threads (each with its own database connection) use the same link at once: exactly
    one signs in."""
    from concurrent.futures import ThreadPoolExecutor

    token = new_token(store, settings)

    def attempt(_):
        try:
            return accounts.complete_signin(
                store, settings, token, session_hash=f"h{_}", session_expires="2999-01-01T00:00:00Z"
            )[0].email
        except SigninError as e:
            return e.reason

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(attempt, range(8)))
    assert outcomes == [ADDR] + ["used"] * 7
    assert store.conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1


def test_peek_does_not_use_the_link(store, settings):
    token = new_token(store, settings)
    for _ in range(3):  # a mail scanner fetching the link
        assert accounts.peek_signin(store, settings, token).email == ADDR
    assert accounts.complete_signin(store, settings, token)[0].email == ADDR


def test_expired_link_is_refused(store, settings, monkeypatch):
    import itsdangerous.timed

    # a token signed an hour ago (the signer's clock moved back), with a real row behind it
    real = itsdangerous.timed.TimestampSigner.get_timestamp
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: real(self) - 3600)
    token = new_token(store, settings)
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", real)
    before = snapshot(store)
    with pytest.raises(SigninError) as e:
        accounts.complete_signin(store, settings, token)
    assert e.value.reason == "expired" and "15 minutes" in str(e.value)
    assert snapshot(store) == before

    # and the setting: a one-second lifetime
    short = settings.with_(signin_max_age=1)
    token = new_token(store, short, addr="other@example.org")
    time.sleep(2.1)
    with pytest.raises(SigninError) as e:
        accounts.complete_signin(store, short, token)
    assert e.value.reason == "expired" and store.accounts.by_email("other@example.org") is None


def test_tampered_forged_and_other_purpose_tokens_are_refused(store, settings, tmp_path):
    from conftest import make_settings

    token = new_token(store, settings)
    link = accounts.read_link(settings, token)
    i = len(token) // 2
    tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    payload = {"nonce": link.nonce, "email": link.email, "next": "/"}
    other_site = make_settings(tmp_path / "other")  # its own secret key
    forged = sign(other_site, "signin", payload)
    confirm = sign(settings, "confirm", payload)  # a subscription-confirmation token, same secret
    swapped = sign(settings, "signin", {**payload, "email": "mallory@example.org"})  # valid sig, wrong address
    before = snapshot(store)
    for bad in (tampered, forged, confirm, swapped, "", "x" * 3000, None):
        with pytest.raises(SigninError) as e:
            accounts.complete_signin(store, settings, bad)
        assert e.value.reason == "invalid", bad
    assert snapshot(store) == before
    assert accounts.complete_signin(store, settings, token)[0].email == ADDR  # the real one still works


def test_subscription_token_is_not_a_signin_token(store, settings):
    from paperwire import subscriptions as subs

    subs.subscribe(store, settings, {"email": ADDR}, client=None)
    [row] = store.conn.execute("SELECT message FROM outbox WHERE kind='confirm'").fetchall()
    text = email.message_from_bytes(row["message"], policy=email.policy.default).get_body(("plain",)).get_content()
    url = re.search(r"https?://\S+/subscribe/confirm\?token=\S+", text).group(0)
    sub_token = parse_qs(urlsplit(url).query)["token"][0]
    with pytest.raises(SigninError) as e:
        accounts.complete_signin(store, settings, sub_token)
    assert e.value.reason == "invalid"
    assert store.accounts.by_email(ADDR) is None


def test_invalid_addresses_change_nothing(store, settings):
    before = snapshot(store)
    for bad in (
        "",
        "not-an-address",
        "a@b",
        "x@example.org\r\nBcc: victim@example.org",
        "a" * 300 + "@example.org",
        None,
        ["a@example.org"],
    ):
        with pytest.raises(InvalidInput) as e:
            accounts.request_signin(store, settings, bad, client="1.2.3.4")
        assert "email" in e.value.errors
    assert snapshot(store) == before


def test_rate_limit_per_address(store, settings):
    for i in range(accounts.REQUESTS_PER_ADDRESS_PER_HOUR):
        accounts.request_signin(store, settings, ADDR if i % 2 else ADDR.upper(), client=f"10.0.0.{i}")
    before = snapshot(store)
    with pytest.raises(RateLimited) as e:
        accounts.request_signin(store, settings, ADDR, client="10.9.9.9")
    assert e.value.key.startswith("signin-address:")
    assert snapshot(store) == before
    assert len(signin_mails(store)) == accounts.REQUESTS_PER_ADDRESS_PER_HOUR
    # an hour later the address may ask again
    assert accounts.request_signin(store, settings, ADDR, client="10.9.9.9", now=time.time() + 3601) == "new"


def test_rate_limit_per_client(store, settings):
    for i in range(accounts.REQUESTS_PER_CLIENT_PER_HOUR):
        accounts.request_signin(store, settings, f"r{i}@example.org", client="10.0.0.1")
    before = snapshot(store)
    with pytest.raises(RateLimited) as e:
        accounts.request_signin(store, settings, "fresh@example.org", client="10.0.0.1")
    assert e.value.key.startswith("signin-client:")
    assert snapshot(store) == before
    assert accounts.request_signin(store, settings, "fresh@example.org", client="10.0.0.2") == "new"


def test_disabled_account_and_suppressed_address_get_no_mail_and_cannot_sign_in(store, settings):
    from paperwire.accounts import admin

    old_link = new_token(store, settings)  # asked for before the account is disabled
    accounts.complete_signin(store, settings, new_token(store, settings))
    admin.disable(store, ADDR)
    n = len(signin_mails(store))
    assert accounts.request_signin(store, settings, ADDR, client="10.0.0.1") == "blocked"
    assert len(signin_mails(store)) == n
    before = snapshot(store)
    with pytest.raises(SigninError) as e:
        accounts.complete_signin(store, settings, old_link)
    assert e.value.reason == "disabled"
    assert snapshot(store) == before

    with store.transaction() as c:
        c.execute("INSERT INTO suppressions (email, reason, created_at) VALUES ('gone@example.org', 'bounce', 'x')")
    assert accounts.request_signin(store, settings, "Gone@example.org", client="10.0.0.1") == "blocked"
    assert signin_mails(store, "gone@example.org") == []


@pytest.mark.parametrize(
    "value",
    [
        "//evil.org/x",
        "https://evil.org/",
        "http:/evil.org",
        "/\\evil.org",
        "\\\\evil.org",
        "/\t/evil.org",
        "/ /evil.org",
        "javascript:alert(1)",
        "evil.org",
        "",
        None,
        "/" + "a" * 600,
        "/signin?next=//evil.org",
        "/signin/confirm?token=x",
        "/signout",
        "/\x00",
    ],
)
def test_safe_next_refuses_what_leaves_the_site(value):
    assert accounts.safe_next(value) == "/"


@pytest.mark.parametrize(
    "value", ["/", "/papers/2503.11731", "/search?q=a+b&page=2", "/papers/hep-th/9901001", "/day/2025-03-17#top"]
)
def test_safe_next_keeps_local_paths(value):
    assert accounts.safe_next(value) == value


# -- the pages --------------------------------------------------------------------------------


def test_full_flow_through_the_pages(env):
    settings, store, client = env
    resp = web_request_link(client, next_url="/papers/2503.11731")
    assert resp.status_code == 200 and "Check your inbox" in resp.text
    assert resp.headers["cache-control"] == "no-store"
    token = token_of(signin_mails(store)[0])
    page = client.get("/signin/confirm", params={"token": token})
    assert page.status_code == 200 and "Sign in as reader@example.org" in page.text
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    assert store.accounts.by_email(ADDR) is None  # opening the link did not sign in
    done = client.post("/signin/confirm", data={"csrf": csrf_of(page.text), "token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/papers/2503.11731"
    assert done.headers["cache-control"] == "no-store"
    cookie = client.cookies.get(SESSION_COOKIE)
    assert store.accounts.session_account(hash_token(cookie), "2000-01-01T00:00:00Z").email == ADDR
    home = client.get("/")
    # pages show a reader's handle, never the address
    assert "Sign out" in home.text and "reader@example.org" not in home.text
    # the used link, opened again
    again = client.get("/signin/confirm", params={"token": token})
    assert again.status_code == 400 and "used already; ask for a new one" in again.text
    assert "Sign in as" not in again.text


def test_session_cookie_flags(env):
    settings, store, client = env
    web_request_link(client)
    header = set_cookie_header(web_confirm(client, token_of(signin_mails(store)[-1])), SESSION_COOKIE).lower()
    assert "httponly" in header and "samesite=lax" in header and "path=/" in header and "max-age=2592000" in header
    assert "secure" not in header  # plain http: a Secure cookie would never come back


def test_session_cookie_is_secure_over_https(settings, store):
    from paperwire.web.app import create_app

    app = create_app(settings, store=store, background=False)
    with TestClient(app, base_url="https://testserver") as client:
        web_request_link(client)
        resp = web_confirm(client, token_of(signin_mails(store)[-1]))
        assert resp.status_code == 303
        header = set_cookie_header(resp, SESSION_COOKIE).lower()
        assert "secure" in header and "httponly" in header and "samesite=lax" in header


def test_answer_is_identical_for_account_new_and_disabled(env):
    from paperwire.accounts import admin

    settings, store, client = env
    store.accounts.ensure("member@example.org")
    store.accounts.ensure("banned@example.org")
    admin.disable(store, "banned@example.org")
    bodies, statuses = [], []
    for addr in ("member@example.org", "newcomer@example.org", "banned@example.org"):
        resp = web_request_link(client, addr)
        statuses.append(resp.status_code)
        bodies.append(CSRF_VALUE.sub(r"\1", resp.text))
        assert "set-cookie" not in resp.headers  # the CSRF cookie was set by the form page already
    assert statuses == [200, 200, 200]
    assert bodies[0] == bodies[1] == bodies[2]
    assert [m["To"] for m in signin_mails(store)] == ["member@example.org", "newcomer@example.org"]


def test_invalid_address_gets_the_form_again_with_the_error(env):
    settings, store, client = env
    client.get("/signin")
    before = snapshot(store)
    resp = web_request_link(client, "not an address", next_url="/papers/x")
    assert resp.status_code == 400
    assert 'role="alert"' in resp.text and "email" in resp.text and 'value="not an address"' in resp.text
    assert 'name="next" value="/papers/x"' in resp.text
    assert snapshot(store) == before


def test_rate_limited_page(env):
    settings, store, client = env
    for _ in range(accounts.REQUESTS_PER_ADDRESS_PER_HOUR):
        assert web_request_link(client).status_code == 200
    before = snapshot(store)
    resp = web_request_link(client)
    assert resp.status_code == 429 and "Too many sign-in links" in resp.text
    assert resp.headers["retry-after"] == "3600"
    assert snapshot(store) == before


def test_rate_limited_per_client_through_the_pages(env):
    settings, store, client = env
    for i in range(accounts.REQUESTS_PER_CLIENT_PER_HOUR):
        assert web_request_link(client, f"r{i}@example.org").status_code == 200
    resp = web_request_link(client, "another@example.org")
    assert resp.status_code == 429 and "from your network" in resp.text


def test_csrf_missing_or_wrong_is_refused_and_changes_nothing(env):
    settings, store, client = env
    web_request_link(client)
    token = token_of(signin_mails(store)[-1])
    _, cookie = sign_in(store, "signed@example.org")
    client.cookies.set(SESSION_COOKIE, cookie)
    good = csrf_of(client.get("/signin").text)
    before = snapshot(store)
    for path, data in (
        ("/signin", {"email": "x@example.org"}),
        ("/signin/confirm", {"token": token}),
        ("/signout", {}),
    ):
        for csrf in (None, "", "forged", good[:-2] + "xx"):
            form = dict(data) if csrf is None else {**data, "csrf": csrf}
            resp = client.post(path, data=form, follow_redirects=False)
            assert resp.status_code == 403, (path, csrf, resp.status_code)
            assert "set-cookie" not in resp.headers or SESSION_COOKIE not in resp.headers["set-cookie"]
    # a valid token from another browser (another CSRF cookie) is refused too
    other = TestClient(client.app)
    foreign = csrf_of(other.get("/signin").text)
    assert client.post("/signout", data={"csrf": foreign}, follow_redirects=False).status_code == 403
    assert snapshot(store) == before
    assert store.accounts.session_account(hash_token(cookie), "2000-01-01T00:00:00Z") is not None


def test_signout_makes_the_old_cookie_useless(env):
    settings, store, client = env
    web_request_link(client)
    web_confirm(client, token_of(signin_mails(store)[-1]))
    cookie = client.cookies.get(SESSION_COOKIE)
    assert "Sign out" in client.get("/").text
    resp = client.post("/signout", data={"csrf": csrf_of(client.get("/").text)}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/"
    header = set_cookie_header(resp, SESSION_COOKIE)
    assert 'pw_session=""' in header and "Max-Age=0" in header
    assert store.conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
    # replaying the old cookie: not signed in
    client.cookies.set(SESSION_COOKIE, cookie)
    page = client.get("/")
    assert "Sign out" not in page.text and ">Sign in</a>" in page.text
    assert store.accounts.session_account(hash_token(cookie), "2000-01-01T00:00:00Z") is None


def test_signing_in_again_replaces_the_session(env):
    settings, store, client = env
    web_request_link(client)
    web_confirm(client, token_of(signin_mails(store)[-1]))
    first = client.cookies.get(SESSION_COOKIE)
    web_request_link(client)
    web_confirm(client, token_of(signin_mails(store)[-1]))
    second = client.cookies.get(SESSION_COOKIE)
    assert first != second
    assert store.accounts.session_account(hash_token(first), "2000-01-01T00:00:00Z") is None
    assert store.accounts.session_account(hash_token(second), "2000-01-01T00:00:00Z").email == ADDR
    assert len(store.accounts.list()) == 1


@pytest.mark.parametrize("target", ["//evil.org/", "https://evil.org/", "/\\evil.org", "/%09/evil.org"])
def test_no_open_redirect(env, target):
    settings, store, client = env
    page = client.get("/signin", params={"next": target})
    expected = "/" if target != "/%09/evil.org" else target  # percent-encoded stays a path here
    assert f'name="next" value="{expected}"' in page.text
    client.post("/signin", data={"csrf": csrf_of(page.text), "email": ADDR, "next": target})
    resp = web_confirm(client, token_of(signin_mails(store)[-1]))
    assert resp.status_code == 303 and resp.headers["location"] == expected
    assert urlsplit(resp.headers["location"]).netloc == ""


def test_next_as_a_full_url_of_this_site_becomes_its_path(env):
    """require_account sends a POST's Referer (a full URL) as next: ours is kept, others are not."""
    settings, store, client = env
    page = client.get("/signin", params={"next": "http://testserver/papers/2503.11731?x=1"})
    assert 'name="next" value="/papers/2503.11731?x=1"' in page.text
    for foreign in (
        "http://evil.org/papers/x",
        "http://testserver.evil.org/x",
        "http://testserver@evil.org/x",
        "http://testserver//evil.org/x",
    ):
        page = client.get("/signin", params={"next": foreign})
        assert 'name="next" value="/"' in page.text, foreign


def test_disabled_account_cannot_sign_in_through_the_pages(env):
    from paperwire.accounts import admin

    settings, store, client = env
    web_request_link(client)
    token = token_of(signin_mails(store)[-1])
    store.accounts.ensure(ADDR)
    admin.disable(store, ADDR)
    page = client.get("/signin/confirm", params={"token": token})
    assert page.status_code == 400 and "disabled" in page.text and "Sign in as" not in page.text
    before = snapshot(store)
    resp = client.post("/signin/confirm", data={"csrf": csrf_of(page.text), "token": token}, follow_redirects=False)
    assert resp.status_code == 400 and SESSION_COOKIE not in resp.headers.get("set-cookie", "")
    assert snapshot(store) == before


def test_bad_links_say_what_to_do(env):
    settings, store, client = env
    for token, words in (("garbage", "not valid"), ("", "not valid")):
        page = client.get("/signin/confirm", params={"token": token})
        assert page.status_code == 400 and words in page.text and 'href="/signin"' in page.text


def test_signin_required_pages_redirect_here(env):
    """require_account (session.py) sends pages to /signin?next=...; the form keeps that next."""
    settings, store, client = env
    page = client.get("/signin", params={"next": "/library"})
    assert 'name="next" value="/library"' in page.text


# -- the command ------------------------------------------------------------------------------


def test_cli_curator_list_disable(tmp_path, monkeypatch, new_db_url):
    from paperwire.cli import main
    from paperwire.storage import open_store
    from paperwire.web.session import new_session

    monkeypatch.setenv("PAPERWIRE_DATA_DIR", str(tmp_path))
    url = new_db_url(tmp_path / "cli.db")
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, ["--database-url", url, "accounts", *args], catch_exceptions=False)

    r = run("curator", "Boss@Example.org")
    assert r.exit_code == 0 and "created the account boss@example.org as a curator" in r.output
    r = run("curator", "boss@example.org")
    assert r.exit_code == 0 and "curator already" in r.output
    r = run("curator", "not-an-address")
    assert r.exit_code == 2 and "not an email address" in r.output
    r = run("curator", "--remove", "nobody@example.org")
    assert r.exit_code == 1 and "no account" in r.output

    store = open_store(url)
    try:
        boss = store.accounts.by_email("boss@example.org")
        assert boss.is_curator and store.accounts.by_email("nobody@example.org") is None
        audit = store.conn.execute("SELECT action, actor_id, paper_pk, detail FROM audit_log").fetchall()
        assert [tuple(a)[:3] for a in audit] == [("role", None, None)]
        assert '"role": "curator"' in audit[0]["detail"]

        store.accounts.ensure("reader@example.org")
        r = run("list", "--role", "curator")
        assert r.exit_code == 0 and "boss@example.org\tcurator\tactive" in r.output and "reader@" not in r.output
        assert "reader@example.org" in run("list").output

        r = run("curator", "--remove", "boss@example.org")
        assert r.exit_code == 0 and "now a reader (was a curator)" in r.output
        assert not store.accounts.by_email("boss@example.org").is_curator

        cookie = new_session(store, boss.id)
        r = run("disable", "boss@example.org")
        assert r.exit_code == 0 and "1 session ended" in r.output
        assert store.accounts.by_email("boss@example.org").status == "disabled"
        assert store.accounts.session_account(hash_token(cookie), "2000-01-01T00:00:00Z") is None
        r = run("enable", "boss@example.org")
        assert r.exit_code == 0 and store.accounts.by_email("boss@example.org").status == "active"
        actions = [r[0] for r in store.conn.execute("SELECT action FROM audit_log ORDER BY id")]
        assert actions == ["role", "role", "disable", "enable"]
    finally:
        store.close()
