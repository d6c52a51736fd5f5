"""A recording SMTP server for tests (aiosmtpd), run in its own process.

    with SmtpSink(tmp_path / "sink.db") as sink:      # starts it; stop()/start() again at will
        settings = settings.with_(smtp_port=sink.port)
        sink.fail_recipient("x@example.org", 550)      # every RCPT TO this address gets 550
        sink.fail_next(2, 421)                         # the next 2 RCPTs get 421 (stage "mail"/"data" too)
        sink.fail_next(1, 0, "data")                   # code 0: hang up instead of answering
        sink.pause_after(300, 5.0)                     # after recording message 300, wait 5 s before "250"
        sink.received()                                # [(recipient, message_id), ...] in arrival order

Everything it receives is committed to an SQLite file (table ``received``) BEFORE it answers 250,
so a message counts as received exactly when the server accepted it. The rules live in the same
file, so a test scripts the server from outside while it runs. Also a command:
``python tests/smtp_sink.py --port 2525 --db sink.db [--auth user:password]``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import warnings
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS received (
    id INTEGER PRIMARY KEY, recipient TEXT NOT NULL, message_id TEXT, mail_from TEXT,
    data BLOB NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS rules (recipient TEXT PRIMARY KEY, code INTEGER NOT NULL, stage TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fail_next (stage TEXT PRIMARY KEY, code INTEGER NOT NULL, remaining INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pause (after_n INTEGER PRIMARY KEY, seconds REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, what TEXT NOT NULL, at REAL NOT NULL);
"""

REPLIES = {
    421: "421 4.3.2 Service not available, closing transmission channel",
    450: "450 4.2.1 Mailbox unavailable, try again later",
    451: "451 4.3.0 Local error in processing",
    452: "452 4.2.2 Insufficient storage",
    550: "550 5.1.1 No such user here",
    552: "552 5.2.2 Mailbox full",
    554: "554 5.7.1 Message rejected",
}


def _connect(path) -> sqlite3.Connection:
    c = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA busy_timeout=30000")
    c.executescript(SCHEMA)
    return c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the server (child process) -------------------------------------------------------
class _Handler:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def _rule(self, stage: str, address: str) -> int | None:
        row = self.db.execute(
            "SELECT code FROM rules WHERE recipient=? AND stage=?", (address.lower(), stage)
        ).fetchone()
        if row:
            return row[0]
        self.db.execute("BEGIN IMMEDIATE")
        row = self.db.execute("SELECT code FROM fail_next WHERE stage=? AND remaining > 0", (stage,)).fetchone()
        if row:
            self.db.execute("UPDATE fail_next SET remaining = remaining - 1 WHERE stage=?", (stage,))
        self.db.execute("COMMIT")
        return row[0] if row else None

    def _event(self, what: str) -> None:
        self.db.execute("INSERT INTO events (what, at) VALUES (?, ?)", (what, time.time()))

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        code = self._rule("mail", "")
        if code is not None:
            self._event(f"mail {address} {code}")
            return self._reply(server, code)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    @staticmethod
    def _reply(server, code: int) -> str:
        if code == 0:  # hang up without an answer
            server.transport.close()
            return "421 4.4.2 gone"
        return REPLIES.get(code, f"{code} scripted reply")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self._rule("rcpt", address)
        if code is not None:
            self._event(f"rcpt {address} {code}")
            return self._reply(server, code)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        for address in envelope.rcpt_tos:
            code = self._rule("data", address)
            if code is not None:
                self._event(f"data {address} {code}")
                return self._reply(server, code)
        msg = message_from_bytes(data, policy=default_policy)
        mid = msg.get("Message-ID")
        self.db.execute("BEGIN IMMEDIATE")
        for address in envelope.rcpt_tos:
            self.db.execute(
                "INSERT INTO received (recipient, message_id, mail_from, data, at) VALUES (?, ?, ?, ?, ?)",
                (address, str(mid) if mid else None, envelope.mail_from, data, time.time()),
            )
        n = self.db.execute("SELECT count(*) FROM received").fetchone()[0]
        self.db.execute("COMMIT")
        row = self.db.execute("SELECT seconds FROM pause WHERE after_n=?", (n,)).fetchone()
        if row:
            await asyncio.sleep(row[0])
        return "250 OK: queued"


def serve(
    host: str,
    port: int,
    db_path: str,
    auth: str | None = None,
    tls: str | None = None,
    cert: str | None = None,
    key: str | None = None,
) -> None:
    import ssl

    from aiosmtpd.smtp import SMTP, AuthResult

    db = _connect(db_path)
    handler = _Handler(db)
    kwargs = {}
    if auth:
        user, password = auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                getattr(auth_data, "login", b"") == user.encode()
                and getattr(auth_data, "password", b"") == password.encode()
            )
            return AuthResult(success=ok, handled=False)

        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
        kwargs = {"authenticator": authenticator, "auth_require_tls": False, "auth_required": True}

    server_ssl = None
    if tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        if tls == "starttls":
            kwargs.update(tls_context=ctx, require_starttls=True)
        else:
            server_ssl = ctx
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(
            lambda: SMTP(handler, hostname="sink.test", enable_SMTPUTF8=True, decode_data=False, **kwargs),
            host,
            port,
            ssl=server_ssl,
        )
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    print("READY", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()
        db.close()


# -- the handle (test process) --------------------------------------------------------
class SmtpSink:
    def __init__(
        self,
        db_path,
        port: int | None = None,
        host: str = "127.0.0.1",
        auth: str | None = None,
        tls: str | None = None,
        cert=None,
        key=None,
    ):
        """auth: 'user:password' to require AUTH; tls: 'starttls' or 'tls' (implicit) with cert, key."""
        self.db_path = Path(db_path)
        self.host = host
        self.port = port or free_port()
        self.auth = auth
        self.tls, self.cert, self.key = tls, cert, key
        self.proc: subprocess.Popen | None = None
        self.db = _connect(self.db_path)

    def start(self, timeout: float = 15.0) -> SmtpSink:
        if self.proc is not None:
            return self
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--db",
            str(self.db_path),
        ] + (["--auth", self.auth] if self.auth else [])
        if self.tls:
            cmd += ["--tls", self.tls, "--cert", str(self.cert), "--key", str(self.key)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None, text=True)
        deadline = time.monotonic() + timeout
        line = self.proc.stdout.readline()  # "READY" once listening (or EOF if it died)
        if line.strip() != "READY":
            self.proc.wait(timeout=5)
            self.proc = None
            raise RuntimeError(f"SMTP sink did not start on port {self.port}")
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"SMTP sink not reachable on port {self.port}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self.db.close()

    # scripting
    def fail_recipient(self, address: str, code: int, stage: str = "rcpt") -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO rules (recipient, code, stage) VALUES (?, ?, ?)", (address.lower(), code, stage)
        )

    def clear_rules(self) -> None:
        self.db.execute("DELETE FROM rules")
        self.db.execute("DELETE FROM fail_next")
        self.db.execute("DELETE FROM pause")

    def fail_next(self, n: int, code: int, stage: str = "rcpt") -> None:
        self.db.execute("INSERT OR REPLACE INTO fail_next (stage, code, remaining) VALUES (?, ?, ?)", (stage, code, n))

    def pause_after(self, n: int, seconds: float) -> None:
        self.db.execute("INSERT OR REPLACE INTO pause (after_n, seconds) VALUES (?, ?)", (n, seconds))

    # what it got
    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM received").fetchone()[0]

    def received(self) -> list[tuple[str, str]]:
        return [tuple(r) for r in self.db.execute("SELECT recipient, message_id FROM received ORDER BY id")]

    def messages(self) -> list[tuple[str, bytes]]:
        return [(r[0], bytes(r[1])) for r in self.db.execute("SELECT recipient, data FROM received ORDER BY id")]

    def events(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT what FROM events ORDER BY id")]

    def wait_for(self, n: int, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            c = self.count()
            if c >= n:
                return c
            time.sleep(0.02)
        return self.count()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--auth", help="user:password; require AUTH (over plain text: tests only)")
    ap.add_argument("--tls", choices=["starttls", "tls"], help="offer STARTTLS, or speak TLS from the start")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    serve(a.host, a.port, a.db, a.auth, a.tls, a.cert, a.key)
