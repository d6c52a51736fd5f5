"""Build RFC 5322 messages safely: multipart/alternative, stable Message-IDs, no header injection."""

from __future__ import annotations

import hashlib
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr


class HeaderInjection(ValueError):
    """A header value held a line break (an attempt to add headers)."""


def _clean_header(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise HeaderInjection(f"{name} must be one line")
    return value


def sender_domain(mail_from: str) -> str:
    addr = parseaddr(mail_from)[1]
    return addr.rsplit("@", 1)[-1] if "@" in addr else "localhost"


def make_message_id(settings, kind: str, key: str) -> str:
    """A Message-ID that is the same every time for the same (kind, key), e.g. ('digest',
    'subscriber 12 period 2025-03-18'): a resent message carries the same id."""
    digest = hashlib.sha256(f"{kind}\x00{key}".encode()).hexdigest()[:32]
    return f"<{kind}.{digest}@{sender_domain(settings.mail_from)}>"


def build_message(
    settings,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    message_id: str,
    headers: dict[str, str] | None = None,
) -> bytes:
    """The complete message as bytes (CRLF line ends), ready for SMTP."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _clean_header("From", settings.mail_from)
    msg["To"] = _clean_header("To", to)
    msg["Subject"] = _clean_header("Subject", subject)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = _clean_header("Message-ID", message_id)
    msg["MIME-Version"] = "1.0"
    for name, value in (headers or {}).items():
        msg[_clean_header("header name", name)] = _clean_header(name, value)
    msg.set_content(text, subtype="plain", charset="utf-8")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg.as_bytes()


__all__ = ["Address", "HeaderInjection", "build_message", "make_message_id", "sender_domain"]
