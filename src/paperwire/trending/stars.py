"""Refresh GitHub star counts for the papers on a trending list, so "stars gained" is real.

`paperwire stars refresh [--window month]` runs it once; with PAPERWIRE_GITHUB_REFRESH_MINUTES
set, `paperwire serve` runs it every that many minutes in a thread (off by default: it needs
internet access, and without PAPERWIRE_GITHUB_TOKEN GitHub allows 60 requests an hour).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from ..sources.github import GitHubClient, refresh_stars
from ..sources.http import HarvestError
from .ranking import repo_of, window_bounds

log = logging.getLogger(__name__)


def window_repos(store, window: str = "month", now: datetime | None = None) -> list[str]:
    """The GitHub repositories of the papers a trending window holds (the same "as of" window
    the pages show), each once, in a stable order."""
    since, until, _ = window_bounds(store, window, now)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    cands = store.trending_candidates(since.strftime(fmt), until.strftime(fmt))
    return sorted({r for r in (repo_of(c) for c in cands) if r})


def refresh_window(store, settings, window: str = "month", *, progress: bool = True, client=None,
                   now: datetime | None = None) -> dict[str, int]:
    """Check the stars of every repository of ``window``'s papers; returns refresh_stars' counts
    plus ``repos``. Raises RateLimited / GitHubAuthError / HarvestError as refresh_stars does
    (what was checked before is kept)."""
    repos = window_repos(store, window, now)
    own = client is None
    client = client or GitHubClient(settings)
    try:
        counts = refresh_stars(store, client, repos, progress=progress)
    finally:
        if own:
            client.close()
    return {"repos": len(repos), **counts}


def start_stars_refresher(store, settings, stop: threading.Event, minutes: float,
                          window: str = "month") -> threading.Thread:
    """A daemon thread refreshing ``window``'s stars every ``minutes`` until ``stop`` is set."""

    def loop() -> None:
        while not stop.is_set():
            try:
                counts = refresh_window(store, settings, window, progress=False)
                log.info("GitHub stars refreshed: %s", counts)
            except HarvestError as e:  # rate limit, bad token, GitHub down: try again next time
                log.warning("GitHub stars refresh stopped: %s", e)
            except Exception:  # never take the server down with the refresher
                log.exception("GitHub stars refresh failed")
            stop.wait(max(1.0, minutes * 60.0))

    thread = threading.Thread(target=loop, name="paperwire-stars", daemon=True)
    thread.start()
    return thread
