"""A real `paperwire serve` process against hostile clients: 300 MiB request bodies (with a
Content-Length and chunked) are refused with 413 while the server's memory stays flat (RSS read
from /proc), and X-Forwarded-For is believed only from PAPERWIRE_TRUSTED_PROXIES.

The bodies are generated as they are sent (one 64 KiB block, over and over), so the test process
never holds them either."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import make_settings
from conftest_web import _free_port

MiB = 1 << 20
BIG = 300 * MiB


class Served:
    def __init__(self, proc: subprocess.Popen, port: int):
        self.proc, self.port = proc, port

    def status(self, field: str) -> int:
        """A VmRSS/VmHWM line of the server process, in bytes."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"{field} not in /proc/{self.proc.pid}/status")

    def reset_peak(self) -> bool:
        """Reset the kernel's peak-RSS counter (VmHWM) of the server (clear_refs 5)."""
        try:
            Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
            return True
        except OSError:
            return False


def serve(tmp_path: Path, database_url: str, **env_extra) -> Served:
    settings = make_settings(tmp_path, database_url)
    port = _free_port()
    env = dict(
        os.environ,
        PAPERWIRE_DATA_DIR=str(tmp_path),
        PAPERWIRE_DATABASE_URL=database_url,
        PAPERWIRE_INDEX_DIR=str(settings.index_dir),
        PAPERWIRE_SCHEDULER="0",
        **env_extra,
    )
    for name in ("PAPERWIRE_TRUSTED_PROXIES", "PAPERWIRE_MAX_BODY_BYTES"):
        if name not in env_extra:
            env.pop(name, None)
    exe = Path(sys.executable).with_name("paperwire")
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--no-background", "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10) as r:
                if r.status == 200:
                    return Served(proc, port)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(Served(proc, port))
                pytest.fail("paperwire serve did not start: " + proc.stdout.read().decode()[-3000:])
            time.sleep(0.3)


def stop(served: Served) -> None:
    try:
        os.killpg(served.proc.pid, signal.SIGTERM)
        served.proc.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(served.proc.pid, signal.SIGKILL)
        served.proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory, db_urls):
    root = tmp_path_factory.mktemp("serve-limits")
    url = db_urls(root / "paperwire.db")
    served = serve(root, url)
    yield served
    stop(served)


def read_reply(sock: socket.socket, timeout: float = 30.0) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 response from ``sock``: (status, headers, body)."""
    sock.setblocking(True)
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def post_body(
    port: int, path: str, total: int, *, chunked: bool, content_type: str, headers: dict | None = None
) -> tuple[int, dict, bytes, int]:
    """POST ``total`` bytes to ``path``, stopping as soon as the server answers: returns
    (status, headers, body, bytes of the body sent before the answer came)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Type: {content_type}"]
        head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        block = b"a" * (64 * 1024)
        piece = (b"%x\r\n" % len(block)) + block + b"\r\n" if chunked else block
        sock.setblocking(False)
        sent, pending = 0, memoryview(piece)
        deadline = time.monotonic() + 120
        while sent < total and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                break  # the server answered before the body was complete
            if writable:
                try:
                    n = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    break
                except BlockingIOError:
                    continue
                pending = pending[n:]
                if not pending:
                    sent += len(block)
                    pending = memoryview(piece)
        else:
            if chunked and sent >= total:
                sock.setblocking(True)
                sock.sendall(b"0\r\n\r\n")
        status, reply_headers, body = read_reply(sock)
        return status, reply_headers, body, sent
    finally:
        sock.close()


REFUSED = (
    ("/api/subscriptions", "application/json"),
    ("/subscribe", "application/x-www-form-urlencoded"),
    ("/unsubscribe/one-click?token=x", "application/x-www-form-urlencoded"),
)


def test_300_mib_bodies_are_refused_without_growing_the_server(server):
    # warm up: every path of the refusal runs once (templates, handlers) before the baseline
    for path, ctype in REFUSED:
        for chunked in (False, True):
            assert post_body(server.port, path, MiB, chunked=chunked, content_type=ctype)[0] == 413
    baseline = server.status("VmRSS")
    peak_reset = server.reset_peak()
    samples = [baseline]
    done = threading.Event()

    def sample():  # beside the kernel's own peak counter, in case clear_refs is not allowed
        while not done.is_set():
            samples.append(server.status("VmRSS"))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    results = []
    try:
        started = time.monotonic()
        for path, ctype in REFUSED:
            for chunked in (False, True):
                results.append((path, chunked, post_body(server.port, path, BIG, chunked=chunked, content_type=ctype)))
        # four at once, as an attacker would
        threads = [
            threading.Thread(
                target=lambda c=c: results.append(
                    (
                        "/api/subscriptions",
                        c,
                        post_body(server.port, "/api/subscriptions", BIG, chunked=c, content_type="application/json"),
                    )
                )
            )
            for c in (True, False, True, False)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        took = time.monotonic() - started
    finally:
        done.set()
        sampler.join()
    peak = max(max(samples), server.status("VmHWM") if peak_reset else 0)
    print(
        f"\nserver RSS baseline {baseline / MiB:.0f} MiB, peak growth {(peak - baseline) / MiB:.1f} MiB, "
        f"sent before the answer: {max(r[2][3] for r in results) / MiB:.1f} MiB at most, {took:.1f} s"
    )
    assert peak - baseline < 20 * MiB, (
        f"server RSS grew {(peak - baseline) / MiB:.1f} MiB (baseline {baseline / MiB:.0f} MiB)"
    )
    assert len(results) == 10
    for path, chunked, (status, headers, body, sent) in results:
        assert status == 413, (path, chunked, status, body[:200])
        assert headers.get("connection") == "close", (path, headers)
        assert sent < 16 * MiB, (path, chunked, sent)  # answered long before the body was through
        if path.startswith("/api/"):
            assert json.loads(body)["status"] == 413
    assert took < 60
    # and it still serves
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/health", timeout=10) as r:
        assert r.status == 200


def subscribe_from(port: int, n: int, forwarded_for: str | None) -> int:
    body = json.dumps({"email": f"reader{n}@example.org"}).encode()
    headers = {"Content-Type": "application/json"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/subscriptions", data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_x_forwarded_for_is_ignored_without_trusted_proxies(server):
    from paperwire.subscriptions import REQUESTS_PER_CLIENT_PER_HOUR

    # a local process naming a new client address each time still counts as one client
    codes = [subscribe_from(server.port, i, f"203.0.113.{i}") for i in range(REQUESTS_PER_CLIENT_PER_HOUR + 2)]
    assert codes[:REQUESTS_PER_CLIENT_PER_HOUR].count(202) == REQUESTS_PER_CLIENT_PER_HOUR
    assert codes[REQUESTS_PER_CLIENT_PER_HOUR:] == [429, 429]
    # nor does X-Forwarded-Proto make the site think it is on https
    req = urllib.request.Request(f"http://127.0.0.1:{server.port}/", headers={"X-Forwarded-Proto": "https"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.headers.get("Strict-Transport-Security") is None


def test_x_forwarded_for_is_believed_from_a_trusted_proxy(tmp_path, db_url):
    from paperwire.subscriptions import REQUESTS_PER_CLIENT_PER_HOUR

    served = serve(tmp_path, db_url, PAPERWIRE_TRUSTED_PROXIES="127.0.0.1")
    try:
        n = REQUESTS_PER_CLIENT_PER_HOUR + 2
        # the proxy forwards many readers: each is its own client for the rate limit
        assert [subscribe_from(served.port, i, f"203.0.113.{i}") for i in range(n)] == [202] * n
        # one reader behind it is still limited
        codes = [subscribe_from(served.port, 100 + i, "198.51.100.7") for i in range(n)]
        assert codes[-2:] == [429, 429] and codes.count(202) == REQUESTS_PER_CLIENT_PER_HOUR
        req = urllib.request.Request(f"http://127.0.0.1:{served.port}/", headers={"X-Forwarded-Proto": "https"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
            assert all("Secure" in c for c in r.headers.get_all("Set-Cookie"))
    finally:
        stop(served)
