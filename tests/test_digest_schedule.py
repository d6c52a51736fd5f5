"""When digests are due: time zones, DST, weekly periods, catch-up, confirmation time."""

from __future__ import annotations

from datetime import UTC, datetime

from paperwire.digest.schedule import due_period, latest_period, lookback_since
from paperwire.digest.types import DigestSubscriber

UTC = UTC


def at(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def sub(**kw) -> DigestSubscriber:
    kw.setdefault("confirmed_at", "2025-01-01T00:00:00Z")
    return DigestSubscriber(id=1, email="a@example.org", **kw)


def test_daily_due_after_send_hour_in_local_time():
    s = sub(timezone="Europe/Berlin", send_hour=7)  # UTC+1 in March (before DST)
    assert due_period(s, at("2025-03-18T05:59:00Z")).period == "2025-03-17"  # 06:59 local: yesterday's
    d = due_period(s, at("2025-03-18T06:00:00Z"))  # 07:00 local
    assert d.period == "2025-03-18" and d.send_at == at("2025-03-18T06:00:00Z")


def test_local_date_differs_from_utc_date():
    s = sub(timezone="Pacific/Auckland", send_hour=7)  # UTC+13 in March
    assert due_period(s, at("2025-03-17T18:30:00Z")).period == "2025-03-18"  # 07:30 on the 18th there
    s = sub(timezone="America/Los_Angeles", send_hour=20)  # UTC-7 (PDT)
    assert due_period(s, at("2025-03-19T03:30:00Z")).period == "2025-03-18"  # 20:30 on the 18th there


def test_dst_changes_the_utc_send_time():
    s = sub(timezone="America/New_York", send_hour=7)
    # winter: 07:00 EST = 12:00 UTC; summer: 07:00 EDT = 11:00 UTC
    assert latest_period("daily", 7, 0, "America/New_York", at("2025-03-07T11:30:00Z")).period == "2025-03-06"
    assert due_period(s, at("2025-03-07T12:00:00Z")).period == "2025-03-07"
    assert due_period(s, at("2025-03-11T11:00:00Z")).period == "2025-03-11"
    assert due_period(s, at("2025-03-11T11:00:00Z")).send_at == at("2025-03-11T11:00:00Z")


def test_dst_gap_and_overlap_hours():
    # 2025-03-09 02:00 does not exist in New York (clocks jump 02:00 -> 03:00)
    d = latest_period("daily", 2, 0, "America/New_York", at("2025-03-09T07:00:00Z"))  # 03:00 EDT
    assert d.period == "2025-03-09" and d.send_at <= at("2025-03-09T07:00:00Z")
    assert latest_period("daily", 2, 0, "America/New_York", at("2025-03-09T06:59:00Z")).period == "2025-03-08"
    # 2025-11-02 01:00 happens twice: due at the first one (05:00 UTC), once
    d = latest_period("daily", 1, 0, "America/New_York", at("2025-11-02T05:00:00Z"))
    assert d.period == "2025-11-02" and d.send_at == at("2025-11-02T05:00:00Z")
    s = sub(timezone="America/New_York", send_hour=1, recorded={"2025-11-02"})
    assert due_period(s, at("2025-11-02T06:30:00Z")) is None  # the second 01:30: already sent


def test_weekly_period_is_the_iso_week_of_the_send_day():
    s = sub(frequency="weekly", send_weekday=1, send_hour=7, timezone="UTC")  # Tuesdays
    assert due_period(s, at("2025-03-18T07:00:00Z")).period == "2025-W12"  # Tue 18 Mar
    assert due_period(s, at("2025-03-18T06:59:00Z")).period == "2025-W11"  # not yet: last week's
    assert due_period(s, at("2025-03-23T23:00:00Z")).period == "2025-W12"  # Sunday: still this week's
    s.recorded.add("2025-W12")
    assert due_period(s, at("2025-03-24T10:00:00Z")) is None  # Monday: W13's comes on Tuesday
    assert due_period(s, at("2025-03-25T07:00:00Z")).period == "2025-W13"
    # year boundary: Mon 29 Dec 2025 is in ISO week 2026-W01
    assert latest_period("weekly", 7, 0, "UTC", at("2025-12-29T08:00:00Z")).period == "2026-W01"


def test_catch_up_sends_once_for_the_latest_period():
    s = sub(timezone="UTC", send_hour=7, recorded={"2025-03-14"}, last_digest_at="2025-03-14T07:00:00Z")
    d = due_period(s, at("2025-03-18T09:00:00Z"))  # scheduler down 15th..17th
    assert d.period == "2025-03-18"  # one digest, for the latest period
    assert lookback_since(s, d).isoformat() == "2025-03-14"  # covering everything since the last one
    s.recorded.add(d.period)
    assert due_period(s, at("2025-03-18T23:00:00Z")) is None


def test_first_digest_comes_after_confirming():
    s = sub(timezone="UTC", send_hour=7, confirmed_at="2025-03-18T10:00:00Z")
    assert due_period(s, at("2025-03-18T12:00:00Z")) is None  # today's send time was before confirming
    d = due_period(s, at("2025-03-19T07:00:00Z"))
    assert d.period == "2025-03-19"
    assert lookback_since(s, d).isoformat() == "2025-03-18"


def test_unknown_time_zone_falls_back_to_utc():
    s = sub(timezone="Mars/Olympus_Mons", send_hour=7)
    assert due_period(s, at("2025-03-18T07:00:00Z")).period == "2025-03-18"
