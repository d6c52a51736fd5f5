"""Refresh GitHub star counts for the papers on a trending list, so "stars gained" is real.

`paperwire stars refresh [--window month]` runs it once; with PAPERWIRE_GITHUB_REFRESH_MINUTES
set, `paperwire serve` runs it every that many minutes in a thread (off by default: it needs
internet access, and without PAPERWIRE_GITHUB_TOKEN GitHub allows 60 requests an hour).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime

from tqdm import tqdm

from ..models import STATUS_OK, utc_now
from ..sources.github import GitHubAuthError, GitHubClient, GitHubRateLimited, InvalidRepo, parse_repo
from ..sources.http import HarvestError, HttpError
from .ranking import repo_of, window_bounds

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_FAILURES = 3  # a batch stops after this many repositories failed in a row


def refresh_stars(store, client: GitHubClient, repos: Iterable[str], progress: bool = True) -> dict[str, int]:
    """Check the stars of many repositories (URLs or owner/name) and record each answer as it
    comes (one transaction each), sending the stored ETag so unchanged ones answer 304.

    Returns counts: checked, updated (200), not_modified (304), gone (404/410/451), invalid (not
    a repository URL), failed (retries exhausted). Stops with GitHubRateLimited (its ``counts`` set)
    when the rate limit asks for a longer wait than the client accepts, with GitHubAuthError for
    a bad token, and with HarvestError after MAX_CONSECUTIVE_FAILURES failures in a row.
    """
    counts = {"checked": 0, "updated": 0, "not_modified": 0, "gone": 0, "invalid": 0, "failed": 0}
    seen: dict[str, None] = {}
    for raw in repos:
        try:
            slug = parse_repo(raw)
        except InvalidRepo as e:
            counts["invalid"] += 1
            log.warning("%s", e)
            continue
        seen.setdefault(slug)
    consecutive = 0
    bar = tqdm(list(seen), desc="GitHub stars", unit="repo", disable=not progress, dynamic_ncols=True, mininterval=0.5)
    try:
        for slug in bar:
            state = store.stars.state(slug)
            etag = state.etag if state is not None and state.status == STATUS_OK and state.stars is not None else None
            try:
                result = client.fetch_stars(slug, etag=etag)
            except GitHubRateLimited as e:
                e.counts = counts
                raise
            except GitHubAuthError:
                raise
            except HttpError as e:
                counts["failed"] += 1
                consecutive += 1
                log.warning("%s", e)
                if consecutive >= MAX_CONSECUTIVE_FAILURES:
                    raise HarvestError(
                        f"{consecutive} repositories in a row failed; stopped (last: {e}). "
                        "Star counts checked so far are saved; run again later."
                    ) from e
                continue
            consecutive = 0
            counts["checked"] += 1
            observed = utc_now()
            if result.state != STATUS_OK:  # gone, unavailable
                store.stars.record(slug, None, None, observed, result.state)
                counts["gone"] += 1
            elif result.not_modified:
                store.stars.record(slug, None, result.etag, observed, STATUS_OK)
                counts["not_modified"] += 1
            else:
                store.stars.record(slug, result.stars, result.etag, observed, STATUS_OK)
                counts["updated"] += 1
    finally:
        bar.close()
    return counts


def window_repos(store, window: str = "month", now: datetime | None = None) -> list[str]:
    """The GitHub repositories of the papers a trending window holds (the same "as of" window
    the pages show), each once, in a stable order."""
    since, until, _ = window_bounds(store, window, now)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    cands = store.trending.candidates(since.strftime(fmt), until.strftime(fmt))
    return sorted({r for r in (repo_of(c) for c in cands) if r})


def refresh_window(
    store, settings, window: str = "month", *, progress: bool = True, client=None, now: datetime | None = None
) -> dict[str, int]:
    """Check the stars of every repository of ``window``'s papers; returns refresh_stars' counts
    plus ``repos``. Raises GitHubRateLimited / GitHubAuthError / HarvestError as refresh_stars does
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


def start_stars_refresher(
    store, settings, stop: threading.Event, minutes: float, window: str = "month"
) -> threading.Thread:
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
