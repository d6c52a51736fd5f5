"""All configuration: the PAPERWIRE_* environment variables, each declared once in SETTINGS.

A row names a setting, its type, default, allowed values and what it does. That one table builds
the ``Settings`` object, checks every value when the settings load (a process with a bad setting
stops at start with a message naming the variable, not at the first mail it sends) and writes the
README's configuration table (``paperwire config --markdown``; tests/test_config.py fails when the
README and this table differ).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, make_dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import platformdirs

from .errors import ConfigError

PREFIX = "PAPERWIRE_"

# the default of a setting that load_settings works out from the others (data_dir, database_url, index_dir)
DERIVED = object()

# how papers and queries are embedded (search/embed.py document_backend / query_backend): auto = ONNX
# int8 reading 128 word pieces on a CPU (torch at 128 on a GPU); docs/benchmarks.md "Embedding speed options"
EMBED_BACKENDS = ("auto", "torch", "onnx", "onnx-int8", "onnx-int8-128")
SMTP_SECURITY = ("none", "starttls", "tls")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Setting:
    name: str  # the Settings attribute; the variable is PAPERWIRE_ + NAME
    type: type  # str, int, float, bool or Path
    default: Any  # None: unset; DERIVED: worked out by load_settings
    doc: str  # the README's "meaning" (Markdown)
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    shown: str | None = None  # the README's "default" where the value itself says too little
    secret: bool = False  # `paperwire config` says whether it is set, never what it is

    @property
    def variable(self) -> str:
        return PREFIX + self.name.upper()

    def parse(self, raw: str) -> Any:
        """The value of the variable's text, or ConfigError saying what to set instead."""
        text = raw.strip()
        if self.choices:
            return text.lower()  # checked by check() with the others
        if self.type is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ConfigError(f"{self.variable}={raw!r} is not a yes/no value; set it to 1 or 0")
        if self.type is int:
            try:
                return int(text)
            except ValueError:
                raise ConfigError(
                    f"{self.variable}={raw!r} is not a whole number; set it to e.g. {self.default}"
                ) from None
        if self.type is float:
            try:
                return float(text)
            except ValueError:
                raise ConfigError(f"{self.variable}={raw!r} is not a number; set it to e.g. {self.default:g}") from None
        return Path(text) if self.type is Path else raw

    def check(self, value: Any) -> Any:
        """``value`` as the setting holds it (an int for a float, a str for a Path are converted),
        or ConfigError naming the variable."""
        if value is None:
            if self.default is None:
                return None
            raise ConfigError(f"{self.variable} must be set")
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if self.type is Path and isinstance(value, str):
            value = Path(value)
        if not isinstance(value, self.type) or (self.type is int and isinstance(value, bool)):
            raise ConfigError(f"{self.variable}={value!r} is not a {self.type.__name__}")
        if self.choices and value not in self.choices:
            raise ConfigError(f"{self.variable}={value!r} is not one of {', '.join(self.choices)}")
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            if high is not None:
                want = f"{low:g} to {high:g}"
            else:
                want = "0 or more" if low == 0 else f"{low:g} or more"
            why = "is negative" if low == 0 and value < 0 else "is out of range"
            raise ConfigError(f"{self.variable}={value:g} {why}; set it to {want}, e.g. {self.default:g}")
        return value

    def shown_default(self) -> str:
        if self.shown is not None:
            return self.shown
        if self.default is None:
            return "unset"
        if self.type is bool:
            return "`1`" if self.default else "`0`"
        if self.type is float:
            return f"`{self.default:g}`"
        return f"`{self.default}`"

    def meaning(self) -> str:
        if not self.choices or "`" + self.choices[-1] + "`" in self.doc:
            return self.doc
        *rest, last = (f"`{c}`" for c in self.choices)
        return f"{self.doc}: {', '.join(rest)} or {last}"


S = Setting
SETTINGS: tuple[Setting, ...] = (
    S(
        "data_dir",
        Path,
        DERIVED,
        "where the default database lives (created when missing)",
        shown="the user data directory (`~/.local/share/paperwire`)",
    ),
    S(
        "database_url",
        str,
        DERIVED,
        "the database: `sqlite:///path/to/file.db` (its directory must exist; only "
        "the data directory is created) or `postgresql://user:password@host:port/dbname` "
        "([docs/postgresql.md](docs/postgresql.md)); `--database-url` on the command line",
        shown="`sqlite:///<data dir>/paperwire.db`",
    ),
    S(
        "index_dir",
        Path,
        DERIVED,
        "word and vector index files",
        shown="`<database file>.index` (PostgreSQL: `<data dir>/index`)",
    ),
    S("host", str, "127.0.0.1", "the address `serve` listens on (`--host`)"),
    S("port", int, 8000, "the port `serve` listens on (`--port`)", minimum=0, maximum=65535),
    S(
        "base_url",
        str,
        None,
        "absolute links in feeds and mails (set it to the public address)",
        shown="feeds: the request's own; mails: `http://HOST:PORT`",
    ),
    S("embed_model", str, None, "path of another sentence-transformers model", shown="the packaged all-MiniLM-L6-v2"),
    S("embed_batch", int, 64, "texts per embedding batch", minimum=1),
    S("embed_device", str, "cpu", "device for embeddings (`cuda`: torch on the GPU)"),
    S(
        "embed_threads",
        int,
        0,
        "CPU threads of bulk embedding: `ingest`, `reindex`, `demo` and worker processes' index jobs. "
        "`serve`'s background indexer, its in-process worker and every query embedding use one thread beside "
        "the requests",
        shown="`0` (every core)",
        minimum=0,
    ),
    S(
        "embed_backend",
        str,
        "auto",
        "how papers and queries are embedded. `auto`: papers by ONNX Runtime int8 "
        "reading 128 word pieces (6.8× torch on this CPU, SciFact hybrid nDCG@10 within 0.002 of torch's; torch "
        "cut to 128 pieces on a GPU, same vectors), queries by int8 (2.4 ms instead of 10 ms). `torch`, `onnx` "
        "(fp32, the same vectors as torch) and `onnx-int8` read the model's 256 pieces and share one key; "
        "`onnx-int8-128` is `auto` on a CPU. Changing between the 256- and 128-piece families re-embeds every "
        "paper once. ONNX files are built once from the installed model into `~/.cache/paperwire/onnx`, never "
        "downloaded ([docs/benchmarks.md](docs/benchmarks.md#embedding-speed-options))",
        choices=EMBED_BACKENDS,
    ),
    S("background_indexing", bool, True, "`serve` computes embeddings in the background"),
    S("arxiv_api_url", str, "http://export.arxiv.org/api/query", "arXiv API endpoint"),
    S("arxiv_oai_url", str, "https://oaipmh.arxiv.org/oai", "arXiv OAI-PMH endpoint"),
    S("http_delay", float, 3.0, "seconds between requests to one service (arXiv asks for 3)", minimum=0),
    S("http_retries", int, 5, "retries on 429/5xx/time-outs, with backoff and `Retry-After`", minimum=0),
    S("http_timeout", float, 30.0, "seconds per request", minimum=0.001),
    S("harvest_overlap_days", int, 2, "overlap of `--since-last` windows, in days", minimum=0),
    S(
        "github_token",
        str,
        None,
        "GitHub token for star counts (any token, no scopes needed): raises GitHub's "
        "limit from 60 to 5,000 requests an hour",
        secret=True,
    ),
    S(
        "github_api_url",
        str,
        "https://api.github.com",
        "GitHub REST API endpoint (GitHub Enterprise: `https://HOST/api/v3`)",
    ),
    S(
        "github_refresh_minutes",
        float,
        0.0,
        "`serve` refreshes the GitHub stars of this month's trending papers "
        "this often (needs internet; see `paperwire stars refresh`)",
        minimum=0,
        shown="`0` (off)",
    ),
    S(
        "secret_key",
        str,
        None,
        "signs links in mails and CSRF tokens; set the same value on every web process",
        shown="generated once into `<data dir>/secret_key` (mode 0600)",
        secret=True,
    ),
    S("smtp_host", str, "127.0.0.1", "the SMTP server digests go through"),
    S("smtp_port", int, 25, "the SMTP server's port", minimum=1, maximum=65535),
    S("smtp_user", str, None, "SMTP login, when the server wants one"),
    S("smtp_password", str, None, "the password of that login", secret=True),
    S("smtp_security", str, "none", "how the connection to the SMTP server is secured", choices=SMTP_SECURITY),
    S("smtp_timeout", float, 30.0, "seconds per SMTP command", minimum=0.001),
    S("mail_from", str, "Paperwire <digest@localhost>", "sender of every mail"),
    S("mail_rate", float, 20.0, "messages per second, per sending process (`0`: no limit)", minimum=0),
    S("mail_max_attempts", int, 8, "tries before a message is marked failed", minimum=1),
    S("digest_send_empty", bool, False, "send a digest even when nothing is new"),
    S(
        "scheduler",
        bool,
        True,
        "`serve` runs a job-queue worker thread (digests, mail, ...) in-process; `0` "
        "leaves the jobs to `paperwire worker` processes ([docs/workers.md](docs/workers.md))",
    ),
    S(
        "job_lease",
        float,
        60.0,
        "seconds a worker holds a job between heartbeats; a dead worker's job is retried after this",
        minimum=0.001,
    ),
    S("job_backoff", float, 30.0, "seconds before a failed job's first retry (doubling, at most 1 h)", minimum=0),
    S("job_max_attempts", int, 5, "attempts before a job is marked failed (periodic jobs: 3)", minimum=1),
    S(
        "digest_interval",
        float,
        60.0,
        "seconds between digest runs (the periodic `digest` job; `worker --interval` overrides it)",
        minimum=0.001,
    ),
    S(
        "index_interval",
        float,
        0.0,
        "workers sync the search indexes this often, in seconds (periodic `index` "
        "job); off: `serve` indexes in the background",
        minimum=0,
        shown="`0` (off)",
    ),
    S(
        "harvest_categories",
        str,
        None,
        "arXiv categories (`cs.CL cs.LG`) workers harvest `--since-last` (periodic `ingest` job)",
        shown="unset (off)",
    ),
    S("harvest_minutes", float, 360.0, "how often that harvest runs, in minutes", minimum=0.001),
    S(
        "outbox_keep_days",
        int,
        14,
        "days a sent (or failed, cancelled) mail keeps its body in the outbox; then "
        "the daily `prune` job (or `paperwire prune`) keeps only the row's metadata: recipient, Message-ID, "
        "status, times (a digest to 100k subscribers is ~2.3 GB of bodies a day)",
        minimum=0,
    ),
    S(
        "signin_max_age",
        int,
        900,
        "seconds an emailed sign-in link works (once); see [docs/accounts.md](docs/accounts.md)",
        minimum=1,
    ),
    S(
        "page_cache",
        int,
        256,
        "rendered anonymous home/day/search pages kept per web process, keyed by "
        "everything they show (a vote or a new paper changes the key); `0` turns it off; see "
        "[docs/benchmarks.md](docs/benchmarks.md)",
        minimum=0,
    ),
    S(
        "web_workers",
        int,
        1,
        "web worker processes of `paperwire serve` (`--workers`); each loads the search "
        "indexes read-only, indexing and mail stay in the parent",
        minimum=1,
        maximum=64,
    ),
    S(
        "trusted_proxies",
        str,
        None,
        "addresses of reverse proxies whose `X-Forwarded-For` and "
        "`X-Forwarded-Proto` are believed (comma-separated IPs or networks such as `10.0.0.0/8`, or `*`): the "
        "client address the rate limits count and the https scheme (Secure cookies, HSTS) come from them. Unset, "
        "these headers are ignored, so no client can choose its own address",
        shown="unset (none)",
    ),
    S(
        "max_body_bytes",
        int,
        64 * 1024,
        "the largest request body any route accepts: a longer `Content-Length` "
        "is refused (413) before a byte is read, a chunked body the moment it passes the limit; no form or API "
        "call needs more; `0` turns the limit off",
        minimum=0,
    ),
    S(
        "web_threads",
        int,
        4,
        "requests one web process runs at once (the rest wait in its event loop); more "
        "threads than cores make Python threads fight over the GIL: one worker served the home page at 587 "
        "req/s with 4, 253 with anyio's default 40 (32 connections); `0`: anyio's 40. arXiv look-ups of "
        "`/submit` run on threads of their own",
        minimum=0,
    ),
    S(
        "comment_per_minute",
        int,
        5,
        "comments one account may post in a minute (more are refused, 429)",
        minimum=1,
    ),
    S(
        "comment_per_day",
        int,
        100,
        "comments one account may post in a day",
        minimum=1,
    ),
    S(
        "notify_batch_minutes",
        int,
        10,
        "notifications (replies, mentions, ...) wait this long after a reader's first pending one and then go "
        "out together in one mail; `0`: each in a mail of its own at the next flush (once a minute)",
        minimum=0,
        maximum=1440,
    ),
    S(
        "gzip_level",
        int,
        1,
        "zlib level of gzip-compressed answers (HTML, JSON, Atom, CSS, JS; to clients that "
        "send `Accept-Encoding: gzip`, bodies of 500 bytes or more); `0` turns compression off (e.g. behind a "
        "proxy that compresses). Level 1 makes the home page 21.8 KB instead of 83.5 KB and costs 1.2 ms a "
        "request; level 6 saves 3 KB more for 6 ms ([docs/benchmarks.md](docs/benchmarks.md#compression))",
        minimum=0,
        maximum=9,
    ),
)
del S
BY_NAME = {s.name: s for s in SETTINGS}


def _check_all(self) -> None:
    for s in SETTINGS:
        object.__setattr__(self, s.name, s.check(getattr(self, s.name)))


def sqlite_file(database_url: str) -> str | None:
    """The file of a ``sqlite:`` URL ('sqlite:///abs/path.db' -> '/abs/path.db',
    'sqlite:///:memory:' -> ':memory:'); None for any other database."""
    for prefix in ("sqlite:///", "sqlite://", "sqlite:"):
        if database_url.startswith(prefix):
            return database_url[len(prefix) :]
    return None


def _sqlite_path(self) -> Path | None:
    path = sqlite_file(self.database_url)
    return None if path is None else Path(path)


def _with(self, **changes) -> Settings:
    return replace(self, **changes)


# every attribute comes from SETTINGS, plus ``extra`` (options tests and benchmarks pass to one part,
# e.g. 'smtp_cafile'; never read from the environment). Values are checked on creation, so a
# ``with_(...)`` copy is checked too.
Settings = make_dataclass(
    "Settings",
    [(s.name, s.type) for s in SETTINGS if s.default is DERIVED]
    + [
        (s.name, s.type | None if s.default is None else s.type, field(default=s.default))
        for s in SETTINGS
        if s.default is not DERIVED
    ]
    + [("extra", dict, field(default_factory=dict))],
    frozen=True,
    namespace={
        "__post_init__": _check_all,
        "sqlite_path": property(_sqlite_path),
        "with_": _with,
        "__module__": __name__,
        "__doc__": "The settings of one process; see SETTINGS.",
    },
)


def index_dir_for(database_url: str, data_dir: Path) -> Path:
    path = sqlite_file(database_url)
    if path is not None:
        db = Path(path)
        return db.with_name(db.name + ".index")
    return Path(data_dir) / "index"


def _from_env(setting: Setting) -> Any:
    raw = os.environ.get(setting.variable)
    if raw in (None, ""):
        return None
    return setting.parse(raw)


def load_settings(**overrides) -> Settings:
    """Read the environment; keyword arguments win over it (used by the CLI and tests). Raises
    ConfigError for a value that cannot be used."""
    unknown = set(overrides) - set(BY_NAME) - {"extra"}
    if unknown:
        raise TypeError(f"no such setting: {', '.join(sorted(unknown))}")
    values = {}
    for s in SETTINGS:
        # an empty data_dir / database_url / index_dir override means "not given" (the CLI's default)
        if s.name in overrides and (s.default is not DERIVED or overrides[s.name]):
            values[s.name] = overrides.pop(s.name)
        else:
            overrides.pop(s.name, None)
            value = _from_env(s)
            if value is not None:
                values[s.name] = value
    data_dir = Path(values.get("data_dir") or platformdirs.user_data_dir("paperwire"))
    database_url = values.get("database_url") or f"sqlite:///{data_dir / 'paperwire.db'}"
    values.update(
        data_dir=data_dir,
        database_url=database_url,
        index_dir=values.get("index_dir") or index_dir_for(database_url, data_dir),
    )
    return Settings(**values, **overrides)


def shown_value(setting: Setting, value: Any) -> str:
    """A value as an environment variable would hold it (1/0 for yes/no), the password of a
    database URL left out."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    if setting.name == "database_url":
        parts = urlsplit(value)
        if parts.password is not None:
            netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
            return urlunsplit(parts._replace(netloc=netloc))
    return str(value)


def markdown_table() -> str:
    """The README's configuration table, made from SETTINGS."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        rows.append(f"| `{s.variable}` | {s.shown_default()} | {s.meaning()} |")
    return "\n".join(rows) + "\n"
