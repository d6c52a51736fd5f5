"""Settings declared once: the SETTINGS table in config.py builds the Settings object, checks
every value when the settings load (and on every with_() copy), and is the README's configuration
table. Callers read attributes; nothing else reads PAPERWIRE_* variables or parses a SQLite URL."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from paperwire.config import BY_NAME, SETTINGS, Settings, index_dir_for, load_settings, markdown_table, sqlite_file
from paperwire.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "paperwire"
BEGIN = "<!-- BEGIN configuration table: generated from src/paperwire/config.py by scripts/config_table.py -->"
END = "<!-- END configuration table -->"


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("PAPERWIRE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PAPERWIRE_DATA_DIR", str(tmp_path))
    return monkeypatch


def test_the_readme_table_is_the_one_the_code_declares():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert BEGIN in readme and END in readme, "README.md lost the configuration table's markers"
    table = readme.split(BEGIN, 1)[1].split(END, 1)[0].lstrip("\n")
    assert table == markdown_table(), (
        "README.md's configuration table differs from src/paperwire/config.py; "
        "regenerate it with: python scripts/config_table.py"
    )


def test_the_generator_rewrites_only_the_table(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "config_table.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import config_table
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    stale = f"intro\n{BEGIN}\n| old | table |\n{END}\noutro\n"
    assert config_table.with_table(stale) == f"intro\n{BEGIN}\n{markdown_table()}{END}\noutro\n"


def test_every_setting_is_a_row_and_every_row_a_setting(clean_env):
    attributes = {f.name for f in fields(Settings)} - {"extra"}
    assert attributes == set(BY_NAME)
    assert len({s.variable for s in SETTINGS}) == len(SETTINGS)
    table = markdown_table()
    for s in SETTINGS:
        assert f"| `{s.variable}` |" in table


def test_defaults_come_from_the_table(clean_env, tmp_path):
    settings = load_settings()
    for s in SETTINGS:
        if s.name not in ("data_dir", "database_url", "index_dir"):
            assert getattr(settings, s.name) == s.default, s.name
    assert settings.web_threads == 4  # web/app.py once assumed 0 here
    assert settings.data_dir == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path / 'paperwire.db'}"
    assert settings.index_dir == tmp_path / "paperwire.db.index"
    assert isinstance(settings.http_delay, float)


@pytest.mark.parametrize(
    "variable, raw, expected",
    [
        ("PAPERWIRE_SMTP_SECURITY", "STARTTLS", "starttls"),
        ("PAPERWIRE_EMBED_BACKEND", " onnx-int8 ", "onnx-int8"),
        ("PAPERWIRE_SCHEDULER", "off", False),
        ("PAPERWIRE_DIGEST_SEND_EMPTY", "Yes", True),
        ("PAPERWIRE_HTTP_DELAY", "0.5", 0.5),
        ("PAPERWIRE_SMTP_PORT", "2525", 2525),
        ("PAPERWIRE_OUTBOX_KEEP_DAYS", "0", 0),
        ("PAPERWIRE_GZIP_LEVEL", "9", 9),
        ("PAPERWIRE_BASE_URL", "", None),  # empty: unset
    ],
)
def test_values_are_read_from_the_environment(clean_env, variable, raw, expected):
    clean_env.setenv(variable, raw)
    setting = next(s for s in SETTINGS if s.variable == variable)
    assert getattr(load_settings(), setting.name) == expected


@pytest.mark.parametrize(
    "variable, raw, message",
    [
        ("PAPERWIRE_SMTP_SECURITY", "ssl", "PAPERWIRE_SMTP_SECURITY='ssl' is not one of none, starttls, tls"),
        ("PAPERWIRE_SMTP_PORT", "25a", "PAPERWIRE_SMTP_PORT='25a' is not a whole number; set it to e.g. 25"),
        ("PAPERWIRE_SMTP_PORT", "70000", "PAPERWIRE_SMTP_PORT=70000 is out of range; set it to 1 to 65535"),
        ("PAPERWIRE_HTTP_TIMEOUT", "fast", "PAPERWIRE_HTTP_TIMEOUT='fast' is not a number; set it to e.g. 30"),
        ("PAPERWIRE_OUTBOX_KEEP_DAYS", "-1", "PAPERWIRE_OUTBOX_KEEP_DAYS=-1 is negative; set it to 0 or more, e.g. 14"),
        ("PAPERWIRE_HARVEST_OVERLAP_DAYS", "-2", "PAPERWIRE_HARVEST_OVERLAP_DAYS=-2 is negative"),
        ("PAPERWIRE_GZIP_LEVEL", "10", "PAPERWIRE_GZIP_LEVEL=10 is out of range; set it to 0 to 9"),
        ("PAPERWIRE_SCHEDULER", "maybe", "PAPERWIRE_SCHEDULER='maybe' is not a yes/no value; set it to 1 or 0"),
        ("PAPERWIRE_WEB_WORKERS", "0", "PAPERWIRE_WEB_WORKERS=0 is out of range; set it to 1 to 64"),
        ("PAPERWIRE_EMBED_BATCH", "0", "PAPERWIRE_EMBED_BATCH=0 is out of range; set it to 1 or more"),
    ],
)
def test_a_bad_value_fails_at_load_naming_the_variable(clean_env, variable, raw, message):
    clean_env.setenv(variable, raw)
    with pytest.raises(ConfigError) as e:
        load_settings()
    assert message in str(e.value)


def test_a_copy_is_checked_too(clean_env):
    settings = load_settings()
    with pytest.raises(ConfigError, match="PAPERWIRE_SMTP_SECURITY='ssl' is not one of"):
        settings.with_(smtp_security="ssl")
    with pytest.raises(ConfigError, match="PAPERWIRE_PORT='80' is not a int"):
        settings.with_(port="80")
    with pytest.raises(ConfigError, match="PAPERWIRE_MAIL_RATE=-1 is negative"):
        load_settings(mail_rate=-1)
    with pytest.raises(TypeError, match="no such setting: smtp_prot"):
        load_settings(smtp_prot=25)
    assert settings.with_(http_delay=1).http_delay == 1.0


@pytest.mark.parametrize(
    "url, path",
    [
        ("sqlite:///relative/p.db", "relative/p.db"),
        ("sqlite:////abs/p.db", "/abs/p.db"),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite://p.db", "p.db"),
        ("postgresql://u:p@h:5432/db", None),
        ("postgres://h/db", None),
    ],
)
def test_one_function_reads_a_sqlite_url(clean_env, tmp_path, url, path):
    assert sqlite_file(url) == path
    settings = load_settings(database_url=url)
    assert settings.sqlite_path == (None if path is None else Path(path))
    expected_index = tmp_path / "index" if path is None else Path(path + ".index")
    assert index_dir_for(url, tmp_path) == expected_index == settings.index_dir


def _calls(predicate):
    found = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and predicate(node):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_callers_read_attributes_not_getattr_with_a_default():
    def settings_getattr(node):
        # getattr(settings, "name", default): a second default that drifts from the table's
        if not (
            isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) == 3
            and isinstance(node.args[1], ast.Constant)
        ):
            return False
        target = ast.unparse(node.args[0])
        return target.split(".")[-1] in ("settings", "_settings", "s", "cfg")

    assert _calls(settings_getattr) == []


def test_only_config_reads_paperwire_variables():
    def reads_env(node):
        text = ast.unparse(node)
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "getenv", "pop")
            and "environ" in ast.unparse(node.func.value) + node.func.attr
        ):
            return "'PAPERWIRE_" in text
        return any(k.arg == "envvar" and "PAPERWIRE_" in ast.unparse(k.value) for k in node.keywords)

    assert [c for c in _calls(reads_env) if not c.startswith("config.py")] == []


def _paperwire(tmp_path, *args, **env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERWIRE_")}
    env.update(PAPERWIRE_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1", **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "paperwire.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_paperwire_config_shows_the_settings_in_effect_without_secrets(tmp_path):
    proc = _paperwire(
        tmp_path,
        "config",
        PAPERWIRE_SMTP_PASSWORD="hunter2",
        PAPERWIRE_WEB_THREADS="2",
        PAPERWIRE_DATABASE_URL="postgresql://paper:s3cret@db.example:5432/pw",
        PAPERWIRE_SCHEDULER="no",
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(SETTINGS)
    assert "PAPERWIRE_WEB_THREADS=2" in lines and "PAPERWIRE_SCHEDULER=0" in lines
    assert "PAPERWIRE_DATABASE_URL=postgresql://paper:***@db.example:5432/pw" in lines
    assert "# PAPERWIRE_SMTP_PASSWORD is set (not shown)" in lines and "# PAPERWIRE_BASE_URL is unset" in lines
    assert "hunter2" not in proc.stdout and "s3cret" not in proc.stdout
    assert not (tmp_path / "data").exists()  # showing the settings opens no database

    proc = _paperwire(tmp_path, "config", "--markdown")
    assert proc.returncode == 0 and proc.stdout == markdown_table()
