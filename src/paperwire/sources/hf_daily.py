"""Hugging Face daily papers (``huggingface.co/api/daily_papers``) in the shapes they come in.

* one day's file: the API's JSON list (``2026-08-21.json``); the day is taken from the file name;
  one known file is wrapped as ``{"status", "date", "count", "data": [...]}``;
* JSON lines (``.jsonl`` or ``.jsonl.gz``), one API item per line with ``_daily_date``;
* a tar archive of day files (``.tar.gz``, ``.tgz``, ``.tar``), read member by member as a stream
  (nothing is extracted to disk, so member names cannot write anywhere).

Some saved items are Python-repr strings (``"{'paper': {'id': ...}}"``) rather than JSON objects;
they are parsed with :func:`ast.literal_eval`, which only accepts literals (never ``eval``).

Each item becomes an :class:`HFRecord`: a :class:`Paper` (arXiv id, title, ``summary`` as the
abstract, author names, ``publishedAt`` as submitted, the daily date as the listing day) plus its
community data: upvotes, the GitHub repository (``owner/name``, lower case) and its star count
at the time the day's file was saved. A malformed item is yielded as an error with its location
and the reason, and nothing of it is stored.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..models import (
    Paper,
    RecordError,
    is_http_url,
    iso_datetime,
    normalize_id,
    not_in_future,
    split_arxiv_id,
    validated,
)
from .github import InvalidRepo, parse_repo

SOURCE = "hf-daily"
MAX_FILE_BYTES = 64 * 1024 * 1024  # one day's file (a real one is ~100 KB)
MAX_REPR_CHARS = 2 * 1024 * 1024  # one repr-string item
_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})")


@dataclass
class HFRecord:
    """One daily-papers item, checked: the paper and what the community said about it."""

    location: str
    paper: Paper
    listed_day: str  # the daily list it was on, YYYY-MM-DD
    listed_at: str  # when it reached that list, ISO 8601 UTC
    upvotes: int
    github_repo: str | None  # 'owner/name', lower case
    github_stars: int | None  # the count when the day's file was saved


@dataclass
class HFItem:
    """What the reader yields: a record, or where and why an item could not be read."""

    location: str
    record: HFRecord | None = None
    error: str | None = None
    position: int | None = None  # bytes of the file read so far (progress)


def _valid_day(value) -> str | None:
    if isinstance(value, str):
        m = _DAY.fullmatch(value.strip())
        if m:
            try:
                iso_datetime(m.group(1))
            except RecordError:
                return None
            return m.group(1)
    return None


def _day_in_name(name: str) -> str | None:
    m = _DAY.search(Path(name).name)
    return _valid_day(m.group(1)) if m else None


def _as_dict(item) -> dict:
    """An item as a dict: JSON objects as they are, repr strings through ast.literal_eval."""
    if isinstance(item, str):
        if len(item) > MAX_REPR_CHARS:
            raise RecordError(f"item string longer than {MAX_REPR_CHARS // 1024 // 1024} MiB")
        try:
            item = ast.literal_eval(item)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as e:
            raise RecordError(f"item is a string that is not a Python literal ({type(e).__name__})") from None
    if not isinstance(item, dict):
        raise RecordError(f"expected an object, got {type(item).__name__}")
    return item


def _count(value, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"{name} must be a whole number, got {type(value).__name__}")
    if value < 0:
        raise RecordError(f"{name} must be >= 0, got {value}")
    return value


def item_to_record(item, daily_date: str | None, location: str) -> HFRecord:
    """Check one API item (a dict or its repr string) and build its record; RecordError says why not.

    The listing day is ``daily_date`` (the file's date), else the item's ``_daily_date``, else
    the day of ``submittedOnDailyAt``. ``listed_at`` is ``submittedOnDailyAt``, else the item's
    own ``publishedAt`` (when it was put on the daily page) if that falls on the listing day,
    else the listing day at 00:00 UTC.
    """
    item = _as_dict(item)
    paper = item.get("paper")
    if not isinstance(paper, dict):
        raise RecordError("missing 'paper' object")
    raw_id = paper.get("id")
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise RecordError("missing paper id")
    paper_id, version = normalize_id(raw_id)
    if split_arxiv_id(paper_id) is None:
        raise RecordError(f"invalid arXiv id {raw_id[:80]!r}")

    submitted_daily = (
        not_in_future(iso_datetime(paper.get("submittedOnDailyAt")), "submittedOnDailyAt")
        if paper.get("submittedOnDailyAt")
        else None
    )
    day = daily_date or _valid_day(item.get("_daily_date")) or (submitted_daily or "")[:10] or None
    if day is None:
        raise RecordError("no daily date (not in the file name, '_daily_date' nor 'submittedOnDailyAt')")
    if daily_date is None and item.get("_daily_date") is not None and _valid_day(item.get("_daily_date")) is None:
        raise RecordError(f"invalid _daily_date {str(item.get('_daily_date'))[:40]!r}")

    if submitted_daily:
        listed_at = submitted_daily
    else:
        entry_time = iso_datetime(item.get("publishedAt")) if item.get("publishedAt") else None
        listed_at = entry_time if entry_time and entry_time[:10] == day else f"{day}T00:00:00Z"

    authors = paper.get("authors") or []
    if not isinstance(authors, list) or not all(isinstance(a, dict) for a in authors):
        raise RecordError("authors must be a list of objects")
    names = [a.get("name") for a in authors if a.get("name") is not None]
    if not all(isinstance(n, str) for n in names):
        raise RecordError("author names must be strings")

    upvotes = _count(paper.get("upvotes", 0), "upvotes") or 0
    stars = _count(paper.get("githubStars"), "githubStars")
    repo_url = paper.get("githubRepo")
    repo, code_url = None, None
    if repo_url not in (None, ""):
        if not isinstance(repo_url, str):
            raise RecordError("githubRepo must be a string")
        # tabs and newlines are dropped from a URL, as browsers do (WHATWG URL); a few real
        # records break the link after 'github.com/'
        repo_url = re.sub(r"[\t\n\r]", "", repo_url)
        try:
            repo = parse_repo(repo_url)
        except InvalidRepo:
            repo = None  # an organisation page or another host: kept as the code link, no stars
        code_url = repo_url.strip() if is_http_url(repo_url.strip()) else None

    title = paper.get("title") if paper.get("title") not in (None, "") else item.get("title")
    abstract = paper.get("summary") if paper.get("summary") not in (None, "") else item.get("summary")
    p = validated(
        Paper(
            id=paper_id,
            version=version,
            title=title,
            abstract=abstract or "",
            authors=names,
            submitted=paper.get("publishedAt") or None,
            announced=day,
            code_url=code_url,
            source=SOURCE,
        )
    )
    return HFRecord(location, p, day, listed_at, upvotes, repo, stars if repo else None)


# -- reading files ----------------------------------------------------------------------------


def _items_of_document(doc, name: str) -> tuple[list, str | None]:
    """The items of one day's file and its day (from the wrapper's 'date' or the file name)."""
    day = _day_in_name(name)
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        return doc["data"], _valid_day(doc.get("date")) or day
    if isinstance(doc, list):
        return doc, day
    raise RecordError(f"expected a JSON list of items (or {{'data': [...]}}), got {type(doc).__name__}")


def _day_file(data: bytes, name: str, position: int | None = None) -> Iterator[HFItem]:
    try:
        doc = json.loads(data.decode("utf-8"))
        items, day = _items_of_document(doc, name)
    except (UnicodeDecodeError, ValueError, RecursionError, RecordError) as e:
        yield HFItem(name, error=f"unreadable day file: {str(e)[:160]}", position=position)
        return
    for i, item in enumerate(items, 1):
        yield _item(item, day, f"{name} item {i}", position)


def _item(item, day: str | None, where: str, position: int | None) -> HFItem:
    try:
        return HFItem(where, record=item_to_record(item, day, where), position=position)
    except RecordError as e:
        return HFItem(where, error=str(e), position=position)
    except (TypeError, AttributeError, KeyError, ValueError) as e:  # wrong types deep inside
        return HFItem(where, error=f"invalid item: {type(e).__name__}: {str(e)[:120]}", position=position)


def _read_limited(f, name: str) -> bytes:
    data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise RecordError(f"{name}: larger than {MAX_FILE_BYTES // 1024 // 1024} MiB")
    return data


def read_hf(path: str | Path) -> Iterator[HFItem]:
    """Every item of a daily-papers file (any of the three shapes), in file order. A compressed file
    that is damaged or cut short raises ValueError naming it, after the items read before the damage
    (gzip and tarfile raise EOFError, tarfile.ReadError or zlib.error there, none a ValueError or
    OSError, so a caller would otherwise see a traceback)."""
    try:
        yield from _read_hf(path)
    except (EOFError, tarfile.TarError, zlib.error) as e:
        raise ValueError(
            f"damaged or cut short ({e}): import the complete file again (the whole batches "
            "stored before the damage are kept; an import changes nothing it already did)"
        ) from None


def _read_hf(path: str | Path) -> Iterator[HFItem]:
    path = Path(path)
    name = path.name.lower()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if name.endswith((".tar.gz", ".tgz", ".tar")):
        # read as a stream (mode 'r|*'): constant memory, and nothing is extracted to disk
        with open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|*") as tar:
            for member in tar:
                if not member.isfile() or not member.name.endswith(".json"):
                    continue
                f = tar.extractfile(member)
                if f is None:
                    continue
                try:
                    data = _read_limited(f, member.name)
                except RecordError as e:
                    yield HFItem(member.name, error=str(e), position=raw.tell())
                    continue
                yield from _day_file(data, member.name, raw.tell())
    elif name.endswith((".jsonl", ".jsonl.gz")):
        from .lines import read_json_lines

        for line in read_json_lines(path):
            where = f"line {line.number}"
            if line.error:
                yield HFItem(where, error=line.error, position=line.position)
            else:
                yield _item(line.record, None, where, line.position)
    elif name.endswith((".json", ".json.gz")):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rb") as f:
            try:
                data = _read_limited(f, path.name)
            except RecordError as e:
                yield HFItem(path.name, error=str(e))
                return
        yield from _day_file(data, path.name, path.stat().st_size)
    else:
        raise ValueError(f"{path}: not a daily-papers file (.json, .jsonl, .jsonl.gz, .tar.gz)")
