"""The kinds of notification a reader can receive and turn off. A package that records a new
kind registers it here once, at import (``register``); the settings page lists every kind."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str  # stored in notify_events.kind and notify_muted.kind
    label: str  # the settings page's checkbox ("Replies to my comments")
    heading: str  # the mail's section heading ("Replies")


KINDS: dict[str, Kind] = {}


def register(name: str, label: str, heading: str) -> Kind:
    kind = Kind(name, label, heading)
    existing = KINDS.setdefault(name, kind)
    if existing != kind:
        raise ValueError(f"notification kind {name!r} is registered already, differently")
    return kind


register("reply", "Replies to my comments", "Replies")
register("mention", "Mentions of my @handle", "Mentions")
