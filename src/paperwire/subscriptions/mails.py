"""The mails a subscribe request sends: the confirmation, and "already subscribed" (with a
preferences link) for an address that is confirmed already."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..mail.message import build_message, make_message_id
from .links import CONFIRM_MAX_AGE, confirm_url, list_unsubscribe_headers, preferences_url, site_url, unsubscribe_url
from .types import Subscriber
from .validate import (
    WEEKDAYS,
)

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"

_mail_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


# -- mails --------------------------------------------------------------------------------


def _render_mail(name: str, **context) -> tuple[str, str]:
    return (
        _mail_env.get_template(f"{name}.txt").render(**context),
        _mail_env.get_template(f"{name}.html").render(**context),
    )


def compose_confirmation(
    settings, subscriber: Subscriber, n: int, saved: list[str] | None = None
) -> tuple[str, str, bytes]:
    """The double opt-in mail: (kind, Message-ID, message bytes)."""
    message_id = make_message_id(settings, "confirm", f"{subscriber.id}:{subscriber.token_version}:{n}")
    text, html = _render_mail(
        "email_confirm",
        url=confirm_url(settings, subscriber),
        hours=CONFIRM_MAX_AGE // 3600,
        subscriber=subscriber,
        weekdays=WEEKDAYS,
        saved=saved or [],
        site=site_url(settings),
    )
    return (
        "confirm",
        message_id,
        build_message(
            settings,
            to=subscriber.email,
            subject="Confirm your Paperwire subscription",
            text=text,
            html=html,
            message_id=message_id,
            headers={"Auto-Submitted": "auto-generated"},
        ),
    )


def compose_already_subscribed(settings, subscriber: Subscriber, n: int) -> tuple[str, str, bytes]:
    """For a subscribe request for an address that is confirmed already: a link to manage it."""
    message_id = make_message_id(settings, "manage", f"{subscriber.id}:{subscriber.token_version}:{n}")
    text, html = _render_mail(
        "email_confirm_already",
        preferences=preferences_url(settings, subscriber),
        unsubscribe=unsubscribe_url(settings, subscriber),
        site=site_url(settings),
    )
    headers = {"Auto-Submitted": "auto-generated", **list_unsubscribe_headers(settings, subscriber)}
    return (
        "manage",
        message_id,
        build_message(
            settings,
            to=subscriber.email,
            subject="You are already subscribed to Paperwire",
            text=text,
            html=html,
            message_id=message_id,
            headers=headers,
        ),
    )
