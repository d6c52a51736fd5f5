"""Submitting a paper to a day's list, by arXiv id or arXiv URL.

A paper this server does not hold yet is looked up with the arXiv API client
(sources/arxiv_api.fetch_by_ids, the same parsing and validation as every ingest) and stored
with ``store.papers.upsert``, the normal ingestion write; the indexers pick it up from the change
feed. Only then is it put on the list (``store.submit_to_list``: listing, the submitter's vote
and the audit row in one transaction). When arXiv cannot be asked, refuses, or does not know the
id, the reader gets a clear message and nothing is written.

A web request must not hang for minutes the way a harvest may wait out arXiv's rate limits, so a
submission retries at most ``WEB_RETRIES`` time(s) and waits at most ``WEB_MAX_WAIT`` seconds; the
look-ups of all submissions in a process share one lock that keeps PAPERWIRE_HTTP_DELAY between
them (arXiv asks for one request every 3 seconds).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from ..config import Settings
from ..models import Paper, RecordError, split_arxiv_id, utc_now
from ..sources.arxiv_api import ArxivApiError, fetch_by_ids
from ..sources.http import HarvestError, HttpError

MAX_INPUT_CHARS = 300
WEB_RETRIES = 1
WEB_MAX_WAIT = 5.0
WEB_TIMEOUT = 15.0
ARXIV_HOSTS = frozenset({"arxiv.org", "www.arxiv.org", "export.arxiv.org"})
_URL_PATH = re.compile(r"^/(?:abs|pdf|html)/(.+?)/?$")
EXAMPLES = "an arXiv id such as 2503.11731 or hep-th/9901001, or its arxiv.org/abs/… or /pdf/… link"

_fetch_lock = threading.Lock()
_last_fetch = 0.0


class SubmitError(ValueError):
    """A submission that cannot be carried out; the message is meant for the reader."""

    status = 400


class PaperNotFound(SubmitError):
    status = 404


class ArxivUnavailable(SubmitError):
    status = 503


@dataclass(frozen=True)
class Submission:
    status: str  # 'listed' | 'merged'
    paper: Paper
    listed_day: str  # the day list the paper is on
    fetched: bool  # the paper was fetched from arXiv for this submission


def parse_arxiv_ref(text: str) -> str:
    """The arXiv id (without its version) in what a reader typed: '2503.11731', 'arXiv:2503.11731v2',
    'hep-th/9901001', 'https://arxiv.org/abs/2503.11731v2', 'arxiv.org/pdf/2503.11731v2.pdf'.
    SubmitError when it is none of these."""
    s = (text or "").strip()
    if not s:
        raise SubmitError(f"Enter {EXAMPLES}.")
    if len(s) > MAX_INPUT_CHARS:
        raise SubmitError(f"That is too long for an arXiv id or link (at most {MAX_INPUT_CHARS} characters).")
    if "://" in s or s.lower().split("/", 1)[0] in ARXIV_HOSTS:
        url = urlsplit(s if "://" in s else "https://" + s)
        if url.scheme.lower() not in ("http", "https") or (url.hostname or "") not in ARXIV_HOSTS:
            raise SubmitError(f"Only arXiv links can be submitted: use {EXAMPLES}.")
        m = _URL_PATH.match(url.path)
        if not m:
            raise SubmitError(f"That arXiv link does not point to a paper: use {EXAMPLES}.")
        s = m.group(1)
    parsed = split_arxiv_id(s)
    if parsed is None:
        raise SubmitError(f"{s[:80]!r} is not an arXiv id: use {EXAMPLES}.")
    return parsed[0]


def _web_settings(settings: Settings) -> Settings:
    max_wait = float(settings.extra.get("http_max_wait", WEB_MAX_WAIT))
    return replace(
        settings,
        http_retries=min(settings.http_retries, WEB_RETRIES),
        http_timeout=min(settings.http_timeout, WEB_TIMEOUT),
        extra={**settings.extra, "http_max_wait": min(max_wait, WEB_MAX_WAIT)},
    )


def fetch_paper(settings: Settings, paper_id: str) -> Paper:
    """The paper from the arXiv API, validated. PaperNotFound, ArxivUnavailable or SubmitError."""
    global _last_fetch
    with _fetch_lock:
        wait = settings.http_delay - (time.monotonic() - _last_fetch)
        if _last_fetch and wait > 0:
            time.sleep(wait)
        try:
            papers = fetch_by_ids(_web_settings(settings), [paper_id])
        except ArxivApiError as e:
            raise SubmitError(f"arXiv refused the look-up of {paper_id}: {e}") from None
        except HttpError as e:
            # the client's message is written for a harvest on the command line: keep only the status
            m = re.search(r"HTTP (\d{3})", str(e))
            what = f"HTTP {e.status}" if e.status else f"HTTP {m.group(1)}" if m else "no answer"
            raise ArxivUnavailable(
                f"arXiv could not be asked about {paper_id} right now ({what}). "
                "Nothing was saved; please try again in a few minutes."
            ) from None
        except (HarvestError, RecordError) as e:
            raise ArxivUnavailable(
                f"arXiv's answer about {paper_id} could not be used ({e}). Nothing was saved; please try again later."
            ) from None
        finally:
            _last_fetch = time.monotonic()
    for p in papers:
        if p.id == paper_id:
            return p
    raise PaperNotFound(f"arXiv has no paper {paper_id}. Check the id; nothing was saved.")


def submit(
    store, settings: Settings, account_id: int, text: str, *, day: str | None = None, now: str | None = None
) -> Submission:
    """Put the paper ``text`` names on ``day``'s list (default: today, UTC), fetching it from arXiv
    first when it is not stored here. A paper already on a list is merged (not listed twice; the
    submitter's vote is added)."""
    paper_id = parse_arxiv_ref(text)
    paper = store.papers.get(paper_id)
    fetched = paper is None
    if paper is None:
        store.papers.upsert([fetch_paper(settings, paper_id)])
        paper = store.papers.get(paper_id)
    pk = store.papers.pks_for([paper_id])[paper_id]
    now = now or utc_now()
    status, listed_day = store.community.submit_to_list(account_id, pk, day or now[:10], now)
    return Submission(status, paper, listed_day, fetched)
