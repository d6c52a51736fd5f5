"""Errors meant for the user: library code raises PaperwireError subclasses (never SystemExit),
and only the `paperwire` command turns one into an exit status and a one-line message. Real
subprocesses of the real command; the bad settings stop a command before it opens anything."""

from __future__ import annotations

import ast
import collections
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from paperwire.errors import ConfigError, PaperwireError, SecretKeyError

SRC = Path(__file__).resolve().parents[1] / "src" / "paperwire"


def paperwire(tmp_path: Path, *args: str, timeout: float = 120, **env_extra) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERWIRE_")}
    env.update(PAPERWIRE_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1", **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "paperwire.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    "variable, value, says",
    [
        ("PAPERWIRE_SMTP_SECURITY", "ssl", "none, starttls, tls"),
        ("PAPERWIRE_SMTP_PORT", "twenty-five", "number"),
        ("PAPERWIRE_OUTBOX_KEEP_DAYS", "-3", "negative"),
        ("PAPERWIRE_EMBED_BACKEND", "onnx-fp16", "auto, torch"),
    ],
)
def test_a_bad_setting_exits_2_with_one_line_naming_the_variable(tmp_path, variable, value, says):
    proc = paperwire(tmp_path, "status", **{variable: value})
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr  # no traceback
    assert lines[0].startswith(f"paperwire: error: {variable}="), lines[0]
    assert says in lines[0], lines[0]
    assert proc.stdout == ""
    assert not (tmp_path / "data").exists()  # stopped before the database was opened


def test_serve_with_a_bad_setting_fails_at_start_not_at_the_first_send(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # a sink-less SMTP setup that only the first digest would have tripped over before
    proc = paperwire(tmp_path, "serve", "--port", str(port), timeout=60, PAPERWIRE_SMTP_SECURITY="SSL/TLS")
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "PAPERWIRE_SMTP_SECURITY='ssl/tls'" in proc.stderr and "Paperwire on http" not in proc.stdout


def test_no_library_code_raises_systemexit():
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "cli.py" and path.parent == SRC:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(target, ast.Name) and target.id == "SystemExit":
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "exit"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "sys"
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == [], "raise a PaperwireError subclass instead: " + ", ".join(offenders)


def test_no_two_exception_classes_share_a_name():
    # two unrelated errors with one name make `except RateLimited` in a caller ambiguous
    where = collections.defaultdict(list)
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and (b.id.endswith(("Error", "Exception")) or b.id in where) for b in node.bases
            ):
                where[node.name].append(str(path.relative_to(SRC)))
    assert {name: files for name, files in where.items() if len(files) > 1} == {}


def test_errors_the_user_must_act_on_are_paperwire_errors():
    from paperwire.accounts.types import SigninRefused
    from paperwire.library.core import LibraryError
    from paperwire.sources.github import GitHubRateLimited
    from paperwire.sources.http import HarvestError
    from paperwire.storage import DatabaseUnreachable, DatabaseURLError
    from paperwire.storage.copy_db import CopyError
    from paperwire.subscriptions.types import RateLimited

    for cls in (
        SigninRefused,
        GitHubRateLimited,
        HarvestError,
        DatabaseUnreachable,
        DatabaseURLError,
        LibraryError,
        RateLimited,
        CopyError,
        ConfigError,
        SecretKeyError,
    ):
        assert issubclass(cls, PaperwireError), cls
    assert GitHubRateLimited is not RateLimited


def test_an_empty_secret_key_file_is_an_error_saying_what_to_do(tmp_path):
    from paperwire.config import load_settings
    from paperwire.security import secret_key

    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(SecretKeyError, match="PAPERWIRE_SECRET_KEY"):
        secret_key(load_settings(data_dir=tmp_path, secret_key=None))
    assert (tmp_path / "secret_key").read_text() == "\n"  # nothing half-written
