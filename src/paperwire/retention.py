"""How long each kind of record that piles up is kept, and ``prune``, which removes what is past
that (the daily ``prune`` job and ``paperwire prune``).

* outbox bodies: a message is kept whole for PAPERWIRE_OUTBOX_KEEP_DAYS (14) after it was sent
  (or failed, or was cancelled); then its body goes and the row's metadata stays (recipient,
  Message-ID, status, attempts, times): a digest of 100k subscribers is about 2.3 GB a day of
  bodies, which nothing reads once the message is sent;
* pending subscribers who never confirmed: removed once their confirmation link has expired
  (subscriptions.CONFIRM_MAX_AGE after they last asked), with their saved searches and
  confirmation mails; asking again starts afresh, with the same answer as any new address;
* sign-in tokens: after the same margin the sign-in requests already prune with (a day, or
  twice the link's lifetime when that is longer); sessions once they have expired;
* rate-limit events older than the longest window; done and failed jobs after a week.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def prune(store, settings, *, now: datetime | None = None, jobs_keep_days: float | None = None) -> dict[str, int]:
    """Remove everything past its time; returns how many of each were removed (for the job's result
    and the command's report). Idempotent: a second run removes nothing more."""
    from .accounts.signin import signin_prune_before
    from .jobs.periodic import PRUNE_KEEP_DAYS
    from .storage.subscribers import RATE_EVENTS_KEEP
    from .subscriptions import CONFIRM_MAX_AGE

    now = now or datetime.now(UTC)
    keep_days = settings.outbox_keep_days
    jobs_days = PRUNE_KEEP_DAYS if jobs_keep_days is None else jobs_keep_days
    return {
        "outbox_bodies": store.outbox.prune_bodies(_iso(now - timedelta(days=keep_days)), _iso(now)),
        "pending_subscribers": store.subscribers.prune_pending(_iso(now - timedelta(seconds=CONFIRM_MAX_AGE))),
        "signin_tokens": store.accounts.prune_signin_tokens(signin_prune_before(settings, now.timestamp())),
        "sessions": store.accounts.prune_sessions(_iso(now)),
        "rate_events": store.rate_limits.prune(now.timestamp() - RATE_EVENTS_KEEP),
        "jobs": store.jobs.prune(_iso(now - timedelta(days=jobs_days))),
    }


def describe(counts: dict[str, int], settings) -> str:
    """One line per kind, for ``paperwire prune``."""
    labels = {
        "outbox_bodies": f"outbox bodies (older than {settings.outbox_keep_days} days)",
        "pending_subscribers": "pending subscribers (never confirmed)",
        "signin_tokens": "sign-in tokens",
        "sessions": "sessions",
        "rate_events": "rate-limit events",
        "jobs": "finished jobs",
    }
    return "\n".join(f"{labels.get(k, k)}: {v:,}" for k, v in counts.items())
