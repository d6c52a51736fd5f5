"""The arXiv bulk metadata snapshot (JSON lines, one record per paper, as published on Kaggle)."""

from __future__ import annotations

import re

from ..models import Paper, RecordError, normalize_id, split_arxiv_id
from .lines import JsonLinesFileSource


def _author_names(record: dict) -> list[str]:
    parsed = record.get("authors_parsed")
    if isinstance(parsed, list) and parsed and all(isinstance(a, list) for a in parsed):
        names = []
        for parts in parsed:
            if not all(isinstance(s, str) or s is None for s in parts):
                raise RecordError("authors_parsed must hold lists of strings")
            last, first, suffix = (list(parts) + ["", "", ""])[:3]
            names.append(" ".join(s.strip() for s in (first, last, suffix) if s and s.strip()))
        return names
    authors = record.get("authors") or ""
    if not isinstance(authors, str):
        raise RecordError("authors must be a string")
    return [a.strip() for a in re.split(r",\s*|\s+and\s+", " ".join(authors.split())) if a.strip()]


def _versions(record: dict) -> tuple[int | None, str | None, str | None]:
    versions = record.get("versions") or []
    if not isinstance(versions, list):
        raise RecordError("versions must be a list")
    numbered = []
    for v in versions:
        if not isinstance(v, dict) or not re.match(r"^v\d+$", str(v.get("version", ""))):
            raise RecordError(f"invalid version entry {str(v)[:60]}")
        numbered.append((int(v["version"][1:]), v.get("created")))
    if not numbered:
        return None, None, None
    numbered.sort(key=lambda v: v[0])
    return numbered[-1][0], numbered[0][1], numbered[-1][1]


def snapshot_record_to_paper(record: dict, source: str = "arxiv-snapshot") -> Paper:
    raw_id = record.get("id")
    if raw_id is None or raw_id == "":
        raise RecordError("missing id")
    if not isinstance(raw_id, str):
        raise RecordError(f"invalid id: must be a string, got {type(raw_id).__name__}")
    paper_id, id_version = normalize_id(raw_id)
    if split_arxiv_id(paper_id) is None:  # 'foo:bar.baz' is a valid id elsewhere, not in the arXiv snapshot
        raise RecordError(f"invalid arXiv id {raw_id[:80]!r}")
    version, submitted, updated = _versions(record)
    categories = record.get("categories") or ""
    if not isinstance(categories, str):
        raise RecordError("categories must be a space-separated string")
    return Paper(
        id=paper_id,
        version=version or id_version,
        title=record.get("title"),
        abstract=record.get("abstract") or "",
        authors=_author_names(record),
        categories=categories.split(),
        submitted=submitted,
        updated=updated or record.get("update_date"),
        doi=record.get("doi"),
        journal_ref=record.get("journal-ref"),
        comments=record.get("comments"),
        source=source,
    )


class SnapshotSource(JsonLinesFileSource):
    kind = "snapshot"

    def to_paper(self, record: dict) -> Paper:
        return snapshot_record_to_paper(record)
