"""A throwaway PostgreSQL server for the tests: Debian's binaries (scripts/bootstrap.sh --test
installs them), a cluster in a temporary directory, listening on a free loopback port for the
whole test session, stopped and deleted at its end.

PostgreSQL refuses to run as root; as root the server runs as the ``postgres`` user Debian's
package creates (``nobody`` without it), through ``runuser``. Each test gets a fresh database
copied from a migrated template (CREATE DATABASE ... TEMPLATE: milliseconds, no migrations).

Fixtures (registered for every test module by conftest.py): ``pg_server`` (session), ``pg_url`` (a fresh migrated
database's URL), ``pg_store`` (a Store on it): for tests inherently about PostgreSQL.
``any_store`` is conftest's ``store``, which runs once per backend like every database test
(conftest.py: ``db_backend``, ``db_urls``, ``db_url``).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

SKIP_REASON = (
    "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: run scripts/bootstrap.sh --test "
    "(installs Debian's postgresql package) to run the PostgreSQL tests"
)


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PGServer:
    def __init__(self):
        bindir = _bindir()
        if bindir is None or not (bindir / "initdb").exists():
            raise FileNotFoundError(SKIP_REASON)
        self.bindir = bindir
        self.prefix: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="paperwire-pg-"))
        if os.geteuid() == 0:  # initdb and postgres refuse root: run them as an unprivileged user
            user = "postgres"
            try:
                pw = pwd.getpwnam(user)
            except KeyError:
                user, pw = "nobody", pwd.getpwnam("nobody")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.prefix = ["runuser", "-u", user, "--"]
        self.data = self.root / "data"
        self.port = _free_port()
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        proc = subprocess.run([*self.prefix, *args], capture_output=True, text=True)
        if proc.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-3000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}{tail}")

    def start(self) -> PGServer:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-instructions",
        )
        # durability off: a test cluster is thrown away, and fsync per commit would dominate the run
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            opts,
            "start",
        )
        from paperwire.storage import Store
        from paperwire.storage.postgres import PostgresDatabase

        self._admin("CREATE DATABASE pw_template")
        template = Store(PostgresDatabase(self.url("pw_template"), max_size=2))
        template.migrate()
        template.close()
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as c:
            c.execute(sql)

    def new_database(self, *, migrated: bool = True) -> str:
        name = f"pw_test_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name}" + (" TEMPLATE pw_template" if migrated else " TEMPLATE template0"))
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        try:
            if self.data.exists():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server():
    try:
        server = PGServer()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server):
    """The URL of a fresh, migrated PostgreSQL database (dropped after the test)."""
    name = pg_server.new_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)


@pytest.fixture
def pg_store(pg_url):
    from paperwire.storage import open_store

    s = open_store(pg_url)
    yield s
    s.close()


@pytest.fixture
def any_store(store):
    """An alias of conftest's ``store`` (itself run once per backend)."""
    return store
