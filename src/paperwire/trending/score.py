"""The trending score: how "hot" a paper is right now.

Formula (see docs/trending.md for the reasoning and the real-data check)::

    engagement = w_votes * ln(1 + upvotes) + w_stars * ln(1 + stars_gained) + base
    score      = engagement * 2 ** (-age_hours / half_life_hours)

Why this shape:

* **Log-damped counts** (as Reddit's "hot"): the 10th upvote says more than the 1,000th, and
  upvotes (median 6, max 250 on Hugging Face daily papers) and GitHub stars (median 5, max ~79k)
  live on very different scales. ``ln(1 + x)`` puts both on a comparable scale, is 0 at 0 and
  strictly increasing, so more of either always helps but a huge count cannot drown everything.
* **Stars gained, not total stars**: the function only ever sees the stars a repository gained
  inside the ranking window. A paper that links a famous, years-old repository would otherwise
  trend forever; what should trend is a burst of attention now.
* **Exponential half-life decay** (rather than Hacker News' ``/(age + 2) ** gravity``): every
  ``half_life_hours`` the score halves, whatever the counts. Because every paper decays by the
  same factor, two papers never swap places just because time passes; a newer paper overtakes
  an older one once it has ``2 ** (dt / half_life)`` times less engagement. A power law combined
  with a log numerator lets a 1-hour-old paper with one vote beat yesterday's 250-vote paper
  (0.69 / 3**1.8 > 5.5 / 26**1.8), which is not what "trending" means.
* ``base`` is a small prior: a paper nobody has voted on yet still has a positive score that
  decays, so among unvoted papers the newest comes first and the score is strictly decreasing
  in age for every input.

The score is a non-negative float; it underflows to 0.0 only after ~1,000 half-lives (years),
far beyond any ranking window. Ages below zero (clock skew, a paper "published" a little in the
future) count as zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TrendingParams:
    """Tunable knobs of :func:`trending_score`.

    w_votes:          weight of ``ln(1 + upvotes)``.
    w_stars:          weight of ``ln(1 + stars_gained)``; below w_votes because stars come from a
                      wider audience than the site's readers and have a much longer tail.
    base:             engagement every paper starts with (keeps scores positive and time-ordered
                      for papers with no votes or stars yet).
    half_life_hours:  hours after which a score has halved.
    window_hours:     papers older than this are left out by :func:`rank` (None: keep all); stars
                      gained are meant to be counted over the same window.
    """

    w_votes: float = 1.0
    w_stars: float = 0.5
    base: float = 0.1
    half_life_hours: float = 72.0
    window_hours: float | None = 7 * 24.0

    def __post_init__(self) -> None:
        for name in ("w_votes", "w_stars", "base"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {v!r}")
        if not (math.isfinite(self.half_life_hours) and self.half_life_hours > 0):
            raise ValueError(f"half_life_hours must be finite and > 0, got {self.half_life_hours!r}")
        if self.window_hours is not None and not (self.window_hours > 0):
            raise ValueError(f"window_hours must be > 0 or None, got {self.window_hours!r}")


#: Default: "trending this week" (72 h half-life, 7-day window).
DEFAULT = TrendingParams()

#: One set of parameters per listing window. The half-life grows with the window so that the
#: month's list is not just the last few days again.
WINDOWS: dict[str, TrendingParams] = {
    "today": TrendingParams(half_life_hours=12.0, window_hours=24.0),
    "week": DEFAULT,
    "month": TrendingParams(half_life_hours=7 * 24.0, window_hours=30 * 24.0),
}


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def trending_score(upvotes: int, stars_gained: int, age_hours: float, *, params: TrendingParams = DEFAULT) -> float:
    """Score of one paper: higher is hotter. Pure; see the module docstring for the formula.

    upvotes:       votes on this site (all of them: votes decay with the paper's age).
    stars_gained:  GitHub stars the linked repository gained inside the ranking window
                   (not its total; 0 when there is no repository).
    age_hours:     hours since the paper was published; negative values count as 0.
    Raises ValueError for negative counts or a NaN/infinite age.
    """
    _count("upvotes", upvotes)
    _count("stars_gained", stars_gained)
    age = float(age_hours)
    if not math.isfinite(age):
        raise ValueError(f"age_hours must be finite, got {age_hours!r}")
    age = max(age, 0.0)
    engagement = params.w_votes * math.log1p(upvotes) + params.w_stars * math.log1p(stars_gained) + params.base
    return engagement * math.exp2(-age / params.half_life_hours)


@dataclass(frozen=True)
class TrendingInput:
    """What :func:`rank` needs about one paper. ``published_at`` must be comparable with the
    ``now`` given to rank (both timezone-aware, or both naive UTC)."""

    paper_id: str
    upvotes: int
    stars_gained: int
    published_at: datetime


def rank(items: Iterable[TrendingInput], now: datetime, *, params: TrendingParams = DEFAULT) -> list[TrendingInput]:
    """The items best first.

    Items published more than ``params.window_hours`` before ``now`` are left out. Ties on the
    score go to the newer paper, then to the smaller ``paper_id`` (then, for duplicate ids, more
    upvotes, then more stars), so the order never depends on the order of the input. Equal scores
    are real: e.g. 5 votes and 0 stars score exactly as 2 votes and 3 stars (ln 6 = ln 3 + ½ ln 4).
    """
    scored = []
    for it in items:
        age = (now - it.published_at).total_seconds() / 3600.0
        if params.window_hours is not None and age > params.window_hours:
            continue
        s = trending_score(it.upvotes, it.stars_gained, age, params=params)
        scored.append((-s, -it.published_at.timestamp(), it.paper_id, -it.upvotes, -it.stars_gained, it))
    scored.sort(key=lambda t: t[:5])
    return [t[-1] for t in scored]
