"""Subscriptions without the web: address validation, secret key, signed tokens, CSRF tokens."""

from __future__ import annotations

import os
import stat

import pytest

from paperwire import security
from paperwire.subscriptions import validate as v


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("reader@example.org", "reader@example.org"),
        ("  Reader.Name+tag@Example.ORG ", "Reader.Name+tag@example.org"),
        ("x@bücher.de", "x@xn--bcher-kva.de"),
        ("o'hara@sub.example.co.uk", "o'hara@sub.example.co.uk"),
        ("a" * 64 + "@example.org", "a" * 64 + "@example.org"),
    ],
)
def test_good_addresses(raw, expected):
    assert v.normalise_email(raw) == expected


def test_address_limits():
    with pytest.raises(v.InvalidInput, match="too long"):
        v.normalise_email("a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".org")
    with pytest.raises(v.InvalidInput, match="before @ is too long"):
        v.normalise_email("a" * 65 + "@example.org")
    with pytest.raises(v.InvalidInput, match="one line"):
        v.normalise_email("a@example.org\r\nBcc: b@example.org")


def test_categories_and_zones():
    assert v.parse_categories("cs.CL, hep-th astro-ph.GA q-bio.NC cs.CL") == [
        "cs.CL",
        "hep-th",
        "astro-ph.GA",
        "q-bio.NC",
    ]
    for bad in ("cs.CL;drop", "x", "cs..CL", "<b>"):
        with pytest.raises(v.InvalidInput):
            v.parse_categories(bad)
    p = v.parse_preferences({"timezone": "Asia/Kolkata", "send_hour": "0", "frequency": "WEEKLY"})
    assert (p.timezone, p.send_hour, p.frequency) == ("Asia/Kolkata", 0, "weekly")
    with pytest.raises(v.InvalidInput) as e:
        v.parse_preferences({"timezone": "Nowhere/City", "send_hour": 99})
    assert set(e.value.errors) == {"timezone", "send_hour"}


def test_secret_key_generated_once_with_mode_0600(tmp_path):
    from conftest import make_settings

    settings = make_settings(tmp_path / "d")
    key = security.secret_key(settings)
    path = tmp_path / "d" / "secret_key"
    assert path.read_text().strip() == key and len(key) >= 40
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    security._keys.clear()  # another process: reads the same key back
    assert security.secret_key(settings) == key
    assert security.secret_key(settings.with_(secret_key="configured")) == "configured"


def test_tokens_are_bound_to_purpose_and_expire(tmp_path):
    from conftest import make_settings

    settings = make_settings(tmp_path)
    t = security.sign(settings, "preferences", [1, 0])
    assert security.unsign(settings, "preferences", t, 60) == [1, 0]
    with pytest.raises(security.BadToken):
        security.unsign(settings, "unsubscribe", t, 60)
    with pytest.raises(security.BadToken) as e:
        security.unsign(settings, "preferences", t, -1)
    assert e.value.expired
    with pytest.raises(security.BadToken):
        security.unsign(settings.with_(secret_key="other"), "preferences", t, 60)


def test_csrf_token_tied_to_cookie(tmp_path):
    from conftest import make_settings

    settings = make_settings(tmp_path)
    cookie = security.new_csrf_cookie()
    token = security.csrf_token(settings, cookie)
    assert security.check_csrf(settings, cookie, token)
    assert not security.check_csrf(settings, security.new_csrf_cookie(), token)
    assert not security.check_csrf(settings, cookie, None)
    assert not security.check_csrf(settings, None, token)
    assert not security.check_csrf(settings, cookie, token, max_age=-1)
    assert not security.check_csrf(settings, cookie, security.sign(settings, "preferences", cookie))


def test_links_for_the_digest_use_base_url(tmp_path):
    from conftest import make_settings
    from paperwire import subscriptions as subs
    from paperwire.subscriptions.types import Subscriber

    settings = make_settings(tmp_path).with_(
        base_url="https://papers.example.org/", mail_from="Paperwire <news@example.org>"
    )
    sub = Subscriber(id=7, email="r@example.org", status="confirmed", token_version=3)
    h = subs.list_unsubscribe_headers(settings, sub)
    assert h["List-Unsubscribe"].startswith("<https://papers.example.org/unsubscribe/one-click?token=")
    assert "mailto:" not in h["List-Unsubscribe"]  # no mailbox reads unsubscribe mails
    assert h["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert subs.preferences_url(settings, sub).startswith("https://papers.example.org/preferences?token=")
    token = subs.unsubscribe_url(settings, sub).split("token=", 1)[1]
    assert subs.read_token(settings, "unsubscribe", token, subs.UNSUBSCRIBE_MAX_AGE) == (7, 3)
    local = make_settings(tmp_path)  # no base_url: http://{host}:{port}
    assert subs.preferences_url(local, sub).startswith("http://127.0.0.1:8000/preferences?token=")
    # the headers go through build_message unchanged
    from paperwire.mail.message import build_message

    raw = build_message(settings, to=sub.email, subject="Digest", text="x", message_id="<a@b>", headers=h)
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw
