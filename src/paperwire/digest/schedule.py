"""When a subscriber is due a digest, and for which period.

A daily digest's period is the subscriber's local date ('2025-03-18'); a weekly digest's is the
ISO week of its send day ('2025-W12'). A period is due once its send time (send_hour, local, on the
day; weekly: on send_weekday) has passed, if the subscriber had confirmed by then and no digests
row exists for it. Only the *latest* period whose send time has passed is ever due: a scheduler
that was down for three days sends one digest (covering everything since the last one), not three.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = UTC


@dataclass(frozen=True)
class Due:
    period: str  # '2025-03-18' or '2025-W12'
    day: date  # the local date the digest is for (weekly: the send day)
    send_at: datetime  # when it became due (UTC)


@lru_cache(maxsize=1024)
def zone(name: str):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return UTC


def parse_utc(value: str | datetime | None) -> datetime | None:
    """'2025-03-18T07:00:00Z' (or an aware/naive datetime, naive = UTC) -> aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso_week(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def _send_at(d: date, hour: int, tz) -> datetime:
    # a wall-clock time that does not exist (DST gap) resolves forward, one that exists twice
    # (DST overlap) to its first occurrence: zoneinfo's fold=0
    return datetime.combine(d, time(hour=hour), tzinfo=tz).astimezone(UTC)


def latest_period(frequency: str, send_hour: int, send_weekday: int, tz_name: str, now: datetime) -> Due:
    """The latest period whose send time is at or before ``now``."""
    now = parse_utc(now)
    tz = zone(tz_name or "UTC")
    hour = min(23, max(0, int(send_hour)))
    today = now.astimezone(tz).date()
    if frequency == "weekly":
        d = today - timedelta(days=(today.weekday() - int(send_weekday) % 7) % 7)
        at = _send_at(d, hour, tz)
        if at > now:
            d -= timedelta(days=7)
            at = _send_at(d, hour, tz)
        return Due(iso_week(d), d, at)
    at = _send_at(today, hour, tz)
    if at > now:
        today -= timedelta(days=1)
        at = _send_at(today, hour, tz)
    return Due(today.isoformat(), today, at)


def due_period(sub, now: datetime) -> Due | None:
    """The period ``sub`` (a DigestSubscriber) is due a digest for at ``now``, or None (also when
    that period is in ``sub.recorded``; the run asks the store which candidates are recorded)."""
    due = latest_period(sub.frequency, sub.send_hour, sub.send_weekday, sub.timezone, now)
    if due.period in sub.recorded:
        return None
    confirmed = parse_utc(sub.confirmed_at)
    if confirmed is not None and confirmed > due.send_at:
        return None  # confirmed after this period's send time: their first digest is the next one
    return due


def lookback_since(sub, due: Due, now: datetime | None = None, max_days: int = 14) -> date:
    """Papers listed on or after this day are candidates: since the previous digest (its UTC
    date), else (a first digest) one period back from ``now`` (default: the send time); never
    more than ``max_days`` back. Every first digest of one run gets the same day, so the run
    searches each distinct saved query once, not once per time zone."""
    ref = (parse_utc(now) or due.send_at).date()
    floor = ref - timedelta(days=max_days)
    last = parse_utc(sub.last_digest_at)
    if last is not None:
        since = last.date()
    else:
        since = ref - timedelta(days=7 if sub.frequency == "weekly" else 1)
    return max(since, floor)
