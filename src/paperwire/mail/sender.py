"""The sender: takes due messages from the outbox and delivers them over SMTP.

One message in flight at a time: claim one row (a lease), send it, record the outcome, next.
A sender killed between the server's "250 OK" and recording it leaves one row 'sending'; when its
lease runs out another (or the restarted) sender sends it again, with the same Message-ID. So a
crash doubles at most one message, and the copy is recognisably the same mail.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import asdict, dataclass

from .smtp import SendError, SMTPConnection

log = logging.getLogger("paperwire.mail")


@dataclass
class RunCounts:
    sent: int = 0
    retried: int = 0  # temporary failure, queued again with a backoff
    bounced: int = 0  # 5xx for the recipient: failed, address suppressed
    failed: int = 0  # gave up (max attempts) or the message itself was refused
    server_down: bool = False  # the pass stopped because the server could not be used
    retry_in: float | None = None  # seconds until the sender should try the server again

    def as_dict(self) -> dict:
        return asdict(self)


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; rate <= 0: no limit."""

    def __init__(self, rate: float, burst: float = 1.0):
        self.rate = float(rate)
        self.burst = max(1.0, float(burst))
        self.tokens = self.burst
        self.at = time.monotonic()

    def wait(self, stop: threading.Event | None = None) -> bool:
        """Take one token, sleeping as needed; False if ``stop`` was set meanwhile."""
        if self.rate <= 0:
            return True
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True
            delay = (1.0 - self.tokens) / self.rate
            if stop is not None:
                if stop.wait(delay):
                    return False
            else:
                time.sleep(delay)


def _fmt_delay(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Sender:
    """Delivers the outbox. Settings used: smtp_* (the server), mail_from (envelope sender),
    mail_rate (messages/s), mail_max_attempts; and from settings.extra (or keyword arguments):
    mail_backoff_base (s, default 30), mail_backoff_max (s, default 3600), mail_lease_seconds
    (default max(300, 10 x smtp_timeout)), mail_poll_interval (s, default 5), mail_burst (1)."""

    def __init__(
        self,
        store,
        settings,
        *,
        backoff_base: float | None = None,
        backoff_max: float | None = None,
        lease_seconds: float | None = None,
        poll_interval: float | None = None,
        clock=time.time,
        rng: random.Random | None = None,
    ):
        extra = settings.extra or {}
        self.store = store
        self.settings = settings
        self.backoff_base = float(backoff_base if backoff_base is not None else extra.get("mail_backoff_base", 30.0))
        self.backoff_max = float(backoff_max if backoff_max is not None else extra.get("mail_backoff_max", 3600.0))
        default_lease = max(300.0, 10 * float(settings.smtp_timeout))
        self.lease_seconds = float(
            lease_seconds if lease_seconds is not None else extra.get("mail_lease_seconds", default_lease)
        )
        self.poll_interval = float(poll_interval if poll_interval is not None else extra.get("mail_poll_interval", 5.0))
        self.max_attempts = int(settings.mail_max_attempts)
        self.clock = clock
        self.rng = rng or random.Random()
        self.bucket = TokenBucket(settings.mail_rate, extra.get("mail_burst", 1.0))
        self.conn = SMTPConnection(settings)
        self._server_failures = 0  # consecutive passes that could not use the server
        self._drops_in_a_row = 0  # connections lost in the middle of a message, in a row

    def close(self) -> None:
        """Close the SMTP connection (it is kept open between passes of run_once)."""
        self.conn.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- policy ------------------------------------------------------------------------
    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: base x 2^(attempt-1), capped, then between half of
        that and all of it."""
        delay = min(self.backoff_max, self.backoff_base * (2 ** max(0, attempt - 1)))
        return delay / 2 + self.rng.uniform(0, delay / 2)

    # -- one pass ----------------------------------------------------------------------
    def run_once(self, limit: int | None = None, stop: threading.Event | None = None) -> RunCounts:
        """Send every message due now (at most ``limit``), one at a time, and return what happened."""
        counts = RunCounts()
        done = 0
        self._drops_in_a_row = 0
        while limit is None or done < limit:
            if stop is not None and stop.is_set():
                break
            if not self.conn.is_open:
                if not self.store.outbox.has_due(now=self.clock()):
                    break
                try:
                    self.conn.open()
                except SendError as e:
                    self._server_unusable(e, counts)
                    break
            if not self.bucket.wait(stop):
                break
            claimed = self.store.outbox.claim(limit=1, lease_seconds=self.lease_seconds, now=self.clock())
            if not claimed:
                break
            msg = claimed[0]
            done += 1
            if not self._deliver(msg, counts):
                break
        if not counts.server_down:
            self._server_failures = 0
        if counts.sent or counts.bounced or counts.failed or counts.retried:
            log.info(
                "mail: %d sent, %d retrying later, %d bounced, %d failed",
                counts.sent,
                counts.retried,
                counts.bounced,
                counts.failed,
            )
        return counts

    def _deliver(self, msg, counts: RunCounts) -> bool:
        """Send one claimed message and record the outcome; False: stop this pass (server unusable)."""
        try:
            self.conn.send(msg.recipient, msg.message)
        except SendError as e:
            return self._failed(msg, e, counts)
        except Exception as e:  # a bug or something unforeseen: do not lose the message
            log.exception("mail: unexpected error sending message %d to %s", msg.id, msg.recipient)
            self.conn.close()
            self._retry(msg, f"unexpected error: {e!r}", counts)
            return False
        self.store.outbox.mark_sent(msg.id, now=self.clock())
        self._drops_in_a_row = 0
        counts.sent += 1
        log.debug("mail: sent %s to %s", msg.message_id, msg.recipient)
        return True

    def _retry(self, msg, error: str, counts: RunCounts) -> str:
        attempt = msg.attempts + 1
        delay = self.backoff(attempt)
        status = self.store.outbox.mark_retry(msg.id, error, self.clock() + delay, max_attempts=self.max_attempts)
        if status == "failed":
            counts.failed += 1
            log.error(
                "mail: giving up on message %d to %s after %d attempts: %s. It stays in the outbox as 'failed'.",
                msg.id,
                msg.recipient,
                attempt,
                error,
            )
        else:
            counts.retried += 1
            log.warning(
                "mail: message %d to %s not delivered (attempt %d of %d): %s; retrying in %s.",
                msg.id,
                msg.recipient,
                attempt,
                self.max_attempts,
                error,
                _fmt_delay(delay),
            )
        return status

    def _failed(self, msg, e: SendError, counts: RunCounts) -> bool:
        if e.kind == "permanent":
            self.store.outbox.mark_bounced(msg.id, str(e))
            counts.bounced += 1
            log.warning(
                "mail: %s bounced (%s); message %d failed, the address is suppressed and will not be mailed again.",
                msg.recipient,
                e,
                msg.id,
            )
            return True
        if e.kind == "rejected":
            self.store.outbox.mark_failed(msg.id, str(e))
            counts.failed += 1
            log.error(
                "mail: the server refused message %d to %s for good (%s); not retrying. The address is kept.",
                msg.id,
                msg.recipient,
                e,
            )
            return True
        if e.kind == "temporary":
            self._retry(msg, f"{e.stage.upper()}: {e}", counts)
            return True
        # connection or config. Lost in the middle of this message's transaction: it counts one
        # attempt, and the pass goes on with a fresh connection unless that happened twice in a
        # row. Otherwise (nothing sent yet) the message goes back untouched and the pass stops.
        if e.delivered_maybe or e.stage in ("rcpt", "data"):
            self._retry(msg, str(e), counts)
            self._drops_in_a_row += 1
            if self._drops_in_a_row < 2:
                return True
        else:
            self.store.outbox.release(msg.id, str(e))
        self._server_unusable(e, counts)
        return False

    def _server_unusable(self, e: SendError, counts: RunCounts) -> None:
        self.conn.close()
        self._server_failures += 1
        # the server itself is retried at most every 5 minutes, however long it has been away
        delay = min(self.backoff(self._server_failures), max(self.backoff_base, 300.0))
        counts.server_down = True
        counts.retry_in = delay
        hint = (
            "Check PAPERWIRE_SMTP_HOST/PORT and that the server is running."
            if e.kind == "connection"
            else "Fix the mail settings (see the message); the sender keeps trying."
        )
        log.error("mail: %s; retrying in %s. %s", e, _fmt_delay(delay), hint)

    # -- forever -----------------------------------------------------------------------
    def run_forever(self, stop: threading.Event) -> None:
        """Send due messages until ``stop`` is set; sleep while nothing is due or the server is down."""
        log.info(
            "mail: sender started (SMTP %s, %s, %g messages/s)",
            self.conn.where,
            self.conn.security,
            self.settings.mail_rate,
        )
        try:
            while not stop.is_set():
                try:
                    counts = self.run_once(stop=stop)
                except Exception:
                    log.exception("mail: sender pass failed; trying again shortly")
                    self.conn.close()
                    stop.wait(self.poll_interval)
                    continue
                if counts.server_down:
                    stop.wait(counts.retry_in or self.poll_interval)
                    continue
                wait = self.poll_interval
                busy = counts.sent or counts.retried or counts.bounced or counts.failed
                due = self.store.outbox.next_due()
                if due is not None:
                    wait = min(wait, max(0.0 if busy else 0.05, due - self.clock()))
                if wait > 0:
                    if self.conn.is_open:
                        self.conn.close()  # idle: do not hold the server's connection
                    stop.wait(wait)
        finally:
            self.conn.close()
            log.info("mail: sender stopped")


def run_sender(settings, store, stop: threading.Event | None = None, once: bool = False) -> RunCounts | None:
    """Entry point for `paperwire worker` / `paperwire serve`: ``once`` sends what is due now and
    returns the counts; otherwise runs until ``stop`` is set (a new Event if None: forever)."""
    sender = Sender(store, settings)
    if once:
        with sender:
            return sender.run_once()
    sender.run_forever(stop or threading.Event())
    return None
