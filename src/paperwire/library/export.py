"""A library (or one tag of it) as BibTeX or CSV.

BibTeX entries come from bibtex.py (one entry per paper, as on the paper pages); citation keys
that collide inside one export get a, b, c... appended, as BibTeX styles expect. CSV is written with
the csv module; a cell that a spreadsheet would read as a formula (starting with = + - @, a tab or
a carriage return) gets a leading apostrophe (OWASP's advice on CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from .bibtex import bibtex, citation_key, year_of
from .core import LibraryEntry

CSV_COLUMNS = ("id", "title", "authors", "year", "day", "categories", "url", "tags", "saved_at")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def all_entries(store, account_id: int, tag: str | None = None, batch: int = 500) -> Iterable[LibraryEntry]:
    """Every entry of the library (under ``tag``), newest saved first, read in batches."""
    offset = 0
    while True:
        rows = store.library.entries(account_id, tag=tag, limit=batch, offset=offset)
        yield from rows
        if len(rows) < batch:
            return
        offset += batch


def to_bibtex(entries: Iterable[LibraryEntry], *, url_for=None) -> str:
    """One BibTeX file; ``url_for(paper)`` gives a link for papers without an abstract page."""
    used: dict[str, int] = {}
    out = []
    for e in entries:
        entry = bibtex(e.paper, url=url_for(e.paper) if url_for else None)
        key = citation_key(e.paper)
        n = used.get(key, 0)
        used[key] = n + 1
        if n:
            entry = entry.replace(f"@misc{{{key},", f"@misc{{{key}{_suffix(n)},", 1)
        out.append(entry)
    return "\n".join(out)


def _suffix(n: int) -> str:
    """1 -> 'a', 26 -> 'z', 27 -> 'aa' ..."""
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(ord("a") + r) + s
    return s


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(entries: Iterable[LibraryEntry], *, url_for=None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for e in entries:
        p = e.paper
        url = p.abs_url or (url_for(p) if url_for else "")
        w.writerow(
            [
                safe_cell(v)
                for v in (
                    p.id,
                    p.title,
                    "; ".join(p.authors),
                    year_of(p) or "",
                    p.day or "",
                    " ".join(p.categories),
                    url,
                    "; ".join(e.tags),
                    e.saved_at,
                )
            ]
        )
    return buf.getvalue()
