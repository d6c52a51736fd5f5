"""The signed links every subscription mail carries (confirm, preferences, unsubscribe, RFC 8058
one-click) and reading them back: each token is signed for one purpose with the subscriber's id and
``token_version`` (paperwire.security), so unsubscribing voids every link sent before."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from ..security import BadToken, sign, unsign
from .types import Subscriber

CONFIRM_MAX_AGE = 48 * 3600
PREFERENCES_MAX_AGE = 90 * 86400
UNSUBSCRIBE_MAX_AGE = 365 * 86400


@dataclass
class LinkError(Exception):
    """A link that cannot be used: ``expired`` (too old) or not valid (forged, revoked, ...)."""

    expired: bool = False

    def __str__(self) -> str:
        return "the link has expired" if self.expired else "the link is not valid (any more)"


# -- links --------------------------------------------------------------------------------


def site_url(settings) -> str:
    return (settings.base_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def make_token(settings, purpose: str, subscriber: Subscriber) -> str:
    return sign(settings, purpose, [subscriber.id, subscriber.token_version])


def confirm_url(settings, subscriber: Subscriber) -> str:
    return f"{site_url(settings)}/subscribe/confirm?{urlencode({'token': make_token(settings, 'confirm', subscriber)})}"


def preferences_url(settings, subscriber: Subscriber) -> str:
    """The signed link to the subscriber's preferences page (put it in every email)."""
    return f"{site_url(settings)}/preferences?{urlencode({'token': make_token(settings, 'preferences', subscriber)})}"


def unsubscribe_url(settings, subscriber: Subscriber) -> str:
    """The signed link to the unsubscribe page (a button there; put it in every email)."""
    return f"{site_url(settings)}/unsubscribe?{urlencode({'token': make_token(settings, 'unsubscribe', subscriber)})}"


def one_click_url(settings, subscriber: Subscriber) -> str:
    """The RFC 8058 one-click endpoint (POST, body List-Unsubscribe=One-Click)."""
    return (
        f"{site_url(settings)}/unsubscribe/one-click?"
        f"{urlencode({'token': make_token(settings, 'unsubscribe', subscriber)})}"
    )


def list_unsubscribe_headers(settings, subscriber: Subscriber) -> dict[str, str]:
    """The List-Unsubscribe (RFC 2369) and List-Unsubscribe-Post (RFC 8058) headers for a message
    to ``subscriber``: pass them to build_message(headers=...).

    Only the one-click URL: Paperwire reads no incoming mail, so a mailto: address here would
    promise an unsubscribe that nobody carries out."""
    return {
        "List-Unsubscribe": f"<{one_click_url(settings, subscriber)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def read_token(settings, purpose: str, token: str | None, max_age: float) -> tuple[int, int]:
    """(subscriber id, token_version) from a link's token, else LinkError."""
    try:
        payload = unsign(settings, purpose, token, max_age)
    except BadToken as e:
        raise LinkError(expired=e.expired) from None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in payload)
    ):
        raise LinkError()
    return payload[0], payload[1]


def subscriber_for(
    store,
    settings,
    purpose: str,
    token: str | None,
    max_age: float,
    statuses: tuple[str, ...] = ("pending", "confirmed"),
) -> Subscriber:
    """The subscriber a link is for, if the link is current (its token_version) and the
    subscriber in one of ``statuses``; else LinkError."""
    sid, version = read_token(settings, purpose, token, max_age)
    sub = store.subscribers.get(sid)
    if sub is None or sub.token_version != version or sub.status not in statuses:
        raise LinkError()
    return sub
