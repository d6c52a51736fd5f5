"""The fast digest message builder gives what the email package would (parsed back)."""

from __future__ import annotations

import email
import email.policy

import pytest

from paperwire.config import load_settings
from paperwire.digest.mime import build_alternative
from paperwire.mail.message import HeaderInjection, build_message

SUBJECT = "Paperwire: 12 new papers for you — Tue 18 Mar — Ünïcödé 数学 " + "long " * 20
TEXT = "Héllo\n\n* A title with = signs & a very long line " + "x" * 200 + "\n  https://example.org/papers/2503.11731\n"
HTML = '<p style="margin:0">&lt;script&gt; — ' + "y" * 300 + "</p>\n"
UNSUB = (
    "<https://papers.example.org/unsubscribe/one-click?token=" + "t" * 120 + ">, "
    "<mailto:digest@papers.example.org?subject=unsubscribe%20" + "u" * 90 + ">"
)


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_same_message_as_the_email_package(tmp_path):
    settings = load_settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        index_dir=tmp_path,
        mail_from="Paperwire <digest@papers.example.org>",
    )
    headers = {"List-Unsubscribe": UNSUB, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    slow = parse(
        build_message(
            settings,
            to="ada@example.org",
            subject=SUBJECT,
            text=TEXT,
            html=HTML,
            message_id="<digest.1@papers.example.org>",
            headers=headers,
        )
    )
    raw = build_alternative(
        headers=[
            ("From", settings.mail_from),
            ("To", "ada@example.org"),
            ("Subject", SUBJECT),
            ("Date", slow["Date"]),
            ("Message-ID", "<digest.1@papers.example.org>"),
            ("MIME-Version", "1.0"),
            *headers.items(),
        ],
        text=TEXT,
        html=HTML,
    )
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    head = raw.split(b"\r\n\r\n", 1)[0]
    # only a single long URL may pass 78 characters (it cannot be folded)
    assert all(len(line) <= 78 or line.count(b"<") == 1 for line in head.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")
    fast = parse(raw)
    assert fast["Subject"] == SUBJECT  # (the email package's own folding loses a space here)
    for name in ("From", "To", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post"):
        assert str(fast[name]).replace("\n", "") == str(slow[name]).replace("\n", ""), name
    assert fast.get_content_type() == slow.get_content_type() == "multipart/alternative"
    for kind in ("plain", "html"):
        assert fast.get_body((kind,)).get_content() == slow.get_body((kind,)).get_content()
    assert fast.defects == [] and all(p.defects == [] for p in fast.iter_parts())


@pytest.mark.parametrize("name,value", [("Subject", "hi\r\nBcc: x@y"), ("To", "a@b\nBcc: c@d"), ("X\nY", "v")])
def test_line_breaks_in_headers_are_refused(name, value):
    with pytest.raises(HeaderInjection):
        build_alternative(headers=[(name, value)], text="t", html="h")
