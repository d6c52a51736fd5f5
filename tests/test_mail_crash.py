"""Crash safety of the outbox sender, with a real SMTP server (tests/smtp_sink.py) in its own
process and senders in their own processes, killed with SIGKILL.

Acceptance (the issue): 1,000 digests queued; kill -9 the sender in the middle, restart it; every
recipient gets its digest, at most one recipient per crash gets two, and such a pair carries the
same Message-ID. Also: two senders on one outbox never send a message twice.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve()


def child(database_url: str, root: str, port: int, lease: float, rate: float) -> None:
    """A sender process: sends until nothing is queued or leased any more."""
    import logging

    from paperwire.config import load_settings
    from paperwire.mail.sender import Sender
    from paperwire.storage import open_store

    logging.basicConfig(level=logging.WARNING)
    root = Path(root)
    settings = load_settings(
        data_dir=root,
        database_url=database_url,
        index_dir=root / "idx",
        smtp_port=port,
        mail_rate=rate,
        smtp_timeout=10,
        extra={"mail_backoff_base": 0.2, "mail_backoff_max": 1.0},
    )
    store = open_store(database_url)
    sender = Sender(store, settings, lease_seconds=lease)
    mine = 0
    while True:
        counts = sender.run_once()
        mine += counts.sent
        left = store.outbox.counts()
        if left["queued"] + left["sending"] == 0:
            break
        if not counts.sent:
            time.sleep(0.05)
    print(f"DONE sent={mine}", flush=True)


def spawn(settings, port: int, lease: float, rate: float = 0) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(HERE),
            "child",
            settings.database_url,
            str(settings.data_dir),
            str(port),
            str(lease),
            str(rate),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def queue_digests(store, settings, n: int) -> dict[str, str]:
    from paperwire.mail.message import build_message, make_message_id

    expected = {}
    for i in range(n):
        rcpt = f"reader{i:04d}@example.org"
        mid = make_message_id(settings, "digest", f"subscriber {i} period 2025-03-18")
        msg = build_message(
            settings,
            to=rcpt,
            subject="Your Paperwire digest for 2025-03-18",
            text=f"Dear reader {i},\n\nthree new papers match your searches.\n",
            html=f"<p>Dear reader {i},</p><p>three new papers match your searches.</p>",
            message_id=mid,
        )
        assert store.outbox.insert(kind="digest", recipient=rcpt, message_id=mid, message=msg) is not None
        expected[rcpt] = mid
    return expected


def wait_exit(proc: subprocess.Popen, timeout: float = 60) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


@pytest.fixture
def setup(tmp_path, db_url):
    from conftest import make_settings
    from paperwire.storage import open_store
    from smtp_sink import SmtpSink

    settings = make_settings(tmp_path, db_url)
    store = open_store(settings.database_url)
    sink = SmtpSink(tmp_path / "sink.db").start()
    yield settings, store, sink
    sink.stop()
    sink.db.close()
    store.close()


@pytest.mark.slow
def test_kill_9_in_the_middle_of_1000(setup):
    settings, store, sink = setup
    expected = queue_digests(store, settings, 1000)
    lease = 1.0
    # the server records message 300 and then waits before its "250 OK": a sender killed in that
    # window has delivered a message it will never mark sent (the worst case, made certain)
    sink.pause_after(300, 8.0)
    t0 = time.monotonic()
    proc = spawn(settings, sink.port, lease)
    assert sink.wait_for(300, timeout=60) >= 300
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    crashes = 1
    counts = store.outbox.counts()
    assert counts["sending"] == 1 and counts["sent"] == 299  # exactly one message was in flight

    # restart; kill it again wherever it happens to be, after some hundreds more
    proc = spawn(settings, sink.port, lease)
    assert sink.wait_for(650, timeout=60) >= 650
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    crashes += 1

    proc = spawn(settings, sink.port, lease)
    wait_exit(proc)
    elapsed = time.monotonic() - t0

    received = sink.received()
    by_rcpt = collections.defaultdict(list)
    for rcpt, mid in received:
        by_rcpt[rcpt].append(mid)
    assert set(by_rcpt) == set(expected), "every recipient received its digest"
    twice = {r: mids for r, mids in by_rcpt.items() if len(mids) > 1}
    assert len(twice) <= crashes, twice
    assert all(len(mids) == 2 for mids in twice.values()), twice
    for rcpt, mids in by_rcpt.items():
        assert set(mids) == {expected[rcpt]}, "every copy carries the recipient's own, stable Message-ID"
    assert "reader0299@example.org" in twice  # the message in flight at the first kill
    assert store.outbox.counts() == {"queued": 0, "sending": 0, "sent": 1000, "failed": 0, "cancelled": 0}
    assert elapsed < 60, elapsed
    print(f"1000 digests, {crashes} kills, {len(twice)} sent twice ({sorted(twice)}), {elapsed:.1f} s")


@pytest.mark.slow
def test_two_senders_never_send_twice(setup):
    settings, store, sink = setup
    expected = queue_digests(store, settings, 400)
    procs = [spawn(settings, sink.port, lease=300) for _ in range(2)]
    outs = [wait_exit(p) for p in procs]
    received = sink.received()
    assert len(received) == 400, collections.Counter(r for r, _ in received).most_common(3)
    assert dict(received) == expected
    assert store.outbox.counts()["sent"] == 400
    mine = [int(o.split("DONE sent=")[1].split()[0]) for o in outs]
    assert sum(mine) == 400
    print("sent by each sender:", mine)


if __name__ == "__main__" and len(sys.argv) == 7 and sys.argv[1] == "child":
    child(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]))
