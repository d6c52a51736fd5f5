"""Plain JSON lines: a title and an abstract per line, any other field optional.

Accepted fields (first name wins): id; title; abstract | summary; authors (list or "A, B and C");
categories (list or "cs.CL cs.LG"); primary_category; published | submitted | date;
updated; listing_date | announced (the day it is listed under); doi; journal_ref;
comment | comments; abs | abs_url | url; pdf | pdf_url; code_url | github | repo.
A line without an id gets a stable one from its title, so ingesting the file twice changes nothing.
"""

from __future__ import annotations

import hashlib
import re

from ..models import Paper, RecordError, normalize_id
from .lines import JsonLinesFileSource


def _first(record: dict, *names):
    for n in names:
        v = record.get(n)
        if v not in (None, ""):
            return v
    return None


def _list(value, name: str, splitter: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in re.split(splitter, value) if v.strip()]
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return value
        if all(isinstance(v, dict) and isinstance(v.get("name"), str) for v in value):
            return [v["name"] for v in value]
    raise RecordError(f"{name} must be a list of strings")


def jsonl_record_to_paper(record: dict, id_prefix: str = "local", source: str = "jsonl") -> Paper:
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        raise RecordError("missing title")
    if record.get("id") not in (None, ""):
        raw = record["id"]
        if not isinstance(raw, (str, int)) or isinstance(raw, bool):
            raise RecordError("invalid id: must be a string")
        paper_id, version = normalize_id(str(raw), default_prefix=id_prefix)
    else:
        digest = hashlib.sha1(" ".join(title.lower().split()).encode()).hexdigest()[:16]
        paper_id, version = f"{id_prefix}:{digest}", None
    categories = _list(_first(record, "categories"), "categories", r"[\s,]+")
    return Paper(
        id=paper_id,
        version=record["version"] if type(record.get("version")) is int else version,
        title=title,
        abstract=_first(record, "abstract", "summary") or "",
        authors=_list(_first(record, "authors"), "authors", r",\s*|\s+and\s+"),
        categories=categories,
        primary_category=_first(record, "primary_category"),
        submitted=_first(record, "published", "submitted", "date"),
        updated=_first(record, "updated"),
        announced=_first(record, "listing_date", "announced"),
        doi=_first(record, "doi"),
        journal_ref=_first(record, "journal_ref", "journal-ref"),
        comments=_first(record, "comment", "comments"),
        abs_url=_first(record, "abs", "abs_url", "url"),
        pdf_url=_first(record, "pdf", "pdf_url"),
        code_url=_first(record, "code_url", "github", "repo"),
        source=source,
    )


class JsonlSource(JsonLinesFileSource):
    kind = "jsonl"

    def __init__(self, path, id_prefix: str = "local"):
        super().__init__(path)
        if not re.match(r"^[a-z][a-z0-9_\-]*$", id_prefix):
            raise ValueError(f"id prefix {id_prefix!r}: use lowercase letters, digits, '-' or '_'")
        self.id_prefix = id_prefix

    def to_paper(self, record: dict) -> Paper:
        return jsonl_record_to_paper(record, self.id_prefix)
