"""What the arXiv API and OAI-PMH sources share: date windows, ``--since-last`` with overlap, the
resume state and zero-paper weekday warnings (harvest.py builds a source for the CLI).

A harvesting source keeps, under its key in ``source_state``::

    {"last": {"from": "2025-01-01", "until": "2025-01-07"},   # the last complete window
     "window": {...} | None,                                    # the window of an unfinished run
     "resume": {...} | None}                                    # where that run stopped

``--since-last`` starts the next window ``harvest_overlap_days`` before the last one ended (a paper
arXiv indexes late is picked up; storing it again changes nothing) and ends today.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from ..models import Paper

if TYPE_CHECKING:
    from ..config import Settings
    from ..storage import Store

DEFAULT_FIRST_DAYS = 3  # a first run without --from covers today and the 2 days before


def utc_today() -> date:
    return datetime.now(UTC).date()


def parse_day(value: str | date | None, name: str = "date") -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} {value!r}: use YYYY-MM-DD, e.g. 2025-01-07") from None


@dataclass(frozen=True)
class Window:
    """Days ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError(f"empty date window: {self.start} is after {self.end}")

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def to_dict(self) -> dict:
        return {"from": self.start.isoformat(), "until": self.end.isoformat()}

    @classmethod
    def from_dict(cls, d: dict | None) -> Window | None:
        if not d or not d.get("from") or not d.get("until"):
            return None
        return cls(date.fromisoformat(d["from"]), date.fromisoformat(d["until"]))

    def __str__(self) -> str:
        return f"{self.start}..{self.end}" if self.start != self.end else str(self.start)


def choose_window(
    stored: dict | None,
    *,
    date_from=None,
    date_to=None,
    since_last: bool = False,
    overlap_days: int = 2,
    today: date | None = None,
    first_days: int = DEFAULT_FIRST_DAYS,
) -> Window:
    """The window a harvest covers.

    - an unfinished run is resumed when no dates are given (or the same ones);
    - ``since_last``: from the last complete window's end minus ``overlap_days`` to today
      (``date_to`` may still cap it); the first run takes ``date_from`` or the last ``first_days``;
    - otherwise ``date_from``..``date_to`` (defaults: ``first_days`` ago .. today).
    """
    today = today or utc_today()
    stored = stored or {}
    d_from, d_to = parse_day(date_from, "--from"), parse_day(date_to, "--until")
    unfinished = Window.from_dict(stored.get("window")) if stored.get("resume") else None
    if since_last:
        last = Window.from_dict(stored.get("last"))
        if last is not None:
            start = last.end - timedelta(days=max(0, overlap_days))
        else:
            start = d_from or today - timedelta(days=first_days - 1)
        end = d_to or today
        if end < start:
            end = start
        if unfinished is not None and unfinished.start == start:
            return unfinished  # the same harvest, killed earlier today: finish it
        return Window(start, end)
    if d_from is None and d_to is None and unfinished is not None:
        return unfinished
    end = d_to or today
    start = d_from or min(end, today) - timedelta(days=first_days - 1)
    return Window(start, end)


@dataclass(frozen=True)
class CategoryCheck:
    """What a harvest promises to cover, for the zero-paper weekday check."""

    label: str  # 'cs.CL', 'cs', 'hep-th'
    exact: str | None = None  # a paper counts when it lists this category ...
    prefix: str | None = None  # ... or one starting with this ('cs.'); neither: any paper

    def matches(self, paper: Paper) -> bool:
        if self.exact:
            return self.exact in paper.categories
        if self.prefix:
            return any(c.startswith(self.prefix) for c in paper.categories)
        return True


class HarvestSource:
    """Shared by the arXiv API and OAI-PMH sources: window, resume state, weekday warnings.

    Subclasses set ``key``/``label`` and implement ``items(state)``: ``self._resume_point(state)``
    gives where to continue (or None), ``self._state(resume)`` the state an item carries, and
    ``self._saw(paper)`` counts each paper for the weekday check done in ``final_state``.
    """

    unit = "rec"

    def __init__(
        self,
        settings: Settings,
        window: Window,
        *,
        store: Store | None = None,
        checks: list[CategoryCheck] | None = None,
        today: date | None = None,
    ):
        self.settings = settings
        self.window = window
        self.store = store
        self.checks = checks or []
        self.today = today or utc_today()
        self.warnings: list[str] = []
        self.counts: Counter[tuple[str, str]] = Counter()  # (check label, YYYY-MM-DD) -> papers this run
        self.records = 0
        self._last: dict | None = None  # the previous complete window, carried in every state

    def total(self) -> int | None:
        return None

    # -- state -------------------------------------------------------------------------
    def _state(self, resume: dict | None) -> dict:
        return {"window": self.window.to_dict(), "resume": resume, "last": self._last}

    def _resume_point(self, state: dict) -> dict | None:
        """The stored resume point, if it belongs to this window."""
        self._last = (state or {}).get("last")
        if state and state.get("resume") and Window.from_dict(state.get("window")) == self.window:
            return state["resume"]
        return None

    def can_resume(self, state: dict) -> bool:
        """Whether a stored resume point belongs to this harvest's window (asked by the runner)."""
        return Window.from_dict((state or {}).get("window")) == self.window

    def final_state(self, state: dict) -> dict:
        self._add_weekday_warnings()
        last = Window.from_dict(self._last)
        end = max(last.end, self.window.end) if last else self.window.end
        start = self.window.start if not last or self.window.end >= last.end else last.start
        return {
            "window": None,
            "resume": None,
            "last": {"from": start.isoformat(), "until": end.isoformat()},
            "complete": True,
        }

    # -- the weekday check ---------------------------------------------------------------
    def _saw(self, paper: Paper, day: str | None = None) -> None:
        """Count a paper for the weekday check, under ``day`` (the day a query asked for) or the
        day it was first submitted."""
        self.records += 1
        day = day or (paper.submitted or "")[:10]
        if not day:
            return
        for check in self.checks:
            if check.matches(paper):
                self.counts[(check.label, day)] += 1

    def _stored_counts(self, check: CategoryCheck) -> dict[str, int]:
        if self.store is None or not hasattr(self.store, "papers"):
            return {}
        prefix = check.exact or check.prefix
        try:
            return self.store.papers.day_counts(prefix, self.window.start.isoformat())
        except Exception:  # a check must never fail a harvest that succeeded
            return {}

    def _add_weekday_warnings(self) -> None:
        for check in self.checks:
            stored = self._stored_counts(check)
            for day in self.window.days():
                # weekends have no announcements; today is not over (arXiv lists a day's
                # submissions only after its next announcement), so it is not judged yet
                if day.weekday() >= 5 or day >= self.today:
                    continue
                iso = day.isoformat()
                if self.counts[(check.label, iso)] == 0 and stored.get(iso, 0) == 0:
                    self.warnings.append(
                        f"no {check.label} papers for {day.strftime('%a')} {iso}: arXiv may be late; "
                        "the next --since-last run re-checks this day"
                    )
