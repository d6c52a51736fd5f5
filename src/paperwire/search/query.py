"""Query syntax -> ParsedQuery.

    transformer "in-context learning" author:vaswani author:"Yann LeCun" cat:cs.CL cat:stat
    after:2024-01-01 before:2024-12 date:2024-01-01..2024-06-30 has:code

Hand-written because the grammar is tiny and we need its errors to be *messages for a person*
("after: needs a date like 2024-05-01") rather than exceptions: nothing a user types may make a
search fail. Unknown operators are reported and their words searched as plain text.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from .types import ParsedQuery

# a token: op:"quoted value" | op:value | "phrase" | word
_TOKEN = re.compile(
    r'(?P<op>[A-Za-z][A-Za-z_]*):(?:"(?P<qval>[^"]*)"?|(?P<val>[^\s"]+))'
    r'|"(?P<phrase>[^"]*)"?'
    r"|(?P<word>[^\s\"]+)"
)
_WORD = re.compile(r"\w+", re.UNICODE)
_CATEGORY = re.compile(r"^[A-Za-z][A-Za-z\-]*(?:\.[A-Za-z][A-Za-z\-]*)?$")
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")

# the longest query any caller passes on (the CLI; the web pages and the API refuse the same length)
MAX_QUERY_CHARS = 500
KNOWN = "author:, cat:, after:, before:, date:FROM..TO, has:code"
_ALIASES = {
    "author": "author",
    "au": "author",
    "by": "author",
    "cat": "cat",
    "category": "cat",
    "after": "after",
    "since": "after",
    "from": "after",
    "before": "before",
    "until": "before",
    "to": "before",
    "date": "date",
    "year": "date",
    "has": "has",
}
_EXAMPLES = {
    "author": 'author:vaswani or author:"Yann LeCun"',
    "cat": "cat:cs.CL or cat:cs",
    "after": "after:2024-01-01",
    "before": "before:2024-12-31",
    "date": "date:2024-01-01..2024-06-30",
    "has": "has:code",
}


def _parse_date(raw: str, end: bool) -> str | None:
    """'2024' / '2024-05' / '2024-05-07' -> 'YYYY-MM-DD'; a partial date covers its whole year or
    month: the first day when ``end`` is False, the last day when True. None when invalid."""
    m = _DATE.match(raw.strip())
    if not m:
        return None
    y = int(m.group(1))
    mo = int(m.group(2)) if m.group(2) else (12 if end else 1)
    if not 1 <= mo <= 12 or not 1 <= y <= 9999:
        return None
    if m.group(3):
        d = int(m.group(3))
    else:
        d = calendar.monthrange(y, mo)[1] if end else 1
    try:
        return date(y, mo, d).isoformat()
    except ValueError:
        return None


def parse_query(q: str) -> ParsedQuery:
    pq = ParsedQuery()
    if not isinstance(q, str):
        q = "" if q is None else str(q)
    q = q.replace("\u201c", '"').replace("\u201d", '"')  # typographic quotes from copy-paste
    words: list[str] = []

    def date_error(op: str, raw: str) -> None:
        pq.errors.append(f"{op}:{raw} is not a date; write it like {op}:2024-05-01 (or 2024-05, or 2024)")

    for m in _TOKEN.finditer(q):
        if m.group("word") is not None:
            word = m.group("word")
            bare = re.match(r"^([A-Za-z][A-Za-z_]*):$", word)  # 'author:' with nothing after it
            if bare and bare.group(1).lower() in _ALIASES:
                pq.errors.append(f"{word} needs a value, e.g. " + _EXAMPLES[_ALIASES[bare.group(1).lower()]])
            else:
                words.append(word)
            continue
        if m.group("phrase") is not None:
            phrase = " ".join(m.group("phrase").split())
            if _WORD.search(phrase):
                pq.phrases.append(phrase)
            continue
        op_raw = m.group("op")
        value = m.group("qval") if m.group("qval") is not None else m.group("val")
        value = " ".join((value or "").split())
        op = _ALIASES.get(op_raw.lower())
        if op is None:
            pq.errors.append(f"unknown operator {op_raw}: (known: {KNOWN}); searched for the words instead")
            words.extend([op_raw, value])
            continue
        if not value:
            pq.errors.append(f"{op_raw}: needs a value, e.g. " + _EXAMPLES[op])
            continue
        if op == "author":
            pq.authors.append(value)
        elif op == "cat":
            for c in value.split(","):
                c = c.strip()
                if not c:
                    continue
                if _CATEGORY.match(c):
                    pq.categories.append(c)
                else:
                    pq.errors.append(f"cat:{c} is not an arXiv category; write it like cat:cs.CL or cat:cs")
        elif op == "has":
            if value.lower() == "code":
                pq.has_code = True
            else:
                pq.errors.append(f"has:{value} is not supported; only has:code is")
        elif op == "after":
            d = _parse_date(value, end=False)
            if d is None:
                date_error(op_raw, value)
            else:
                pq.date_from = max(pq.date_from, d) if pq.date_from else d
        elif op == "before":
            d = _parse_date(value, end=True)
            if d is None:
                date_error(op_raw, value)
            else:
                pq.date_to = min(pq.date_to, d) if pq.date_to else d
        elif op == "date":
            lo_raw, sep, hi_raw = value.partition("..")
            lo = _parse_date(lo_raw, end=False) if lo_raw else None
            hi = _parse_date(hi_raw if sep else lo_raw, end=True) if (hi_raw or not sep) else None
            if (lo_raw and lo is None) or (sep and hi_raw and hi is None) or (not lo_raw and not hi_raw):
                pq.errors.append(
                    f"{op_raw}:{value} is not a date range; write it like date:2024-01-01..2024-06-30, "
                    "date:2024-03, or date:2024-01-01.. (open end)"
                )
                continue
            if lo:
                pq.date_from = max(pq.date_from, lo) if pq.date_from else lo
            if hi:
                pq.date_to = min(pq.date_to, hi) if pq.date_to else hi

    if pq.date_from and pq.date_to and pq.date_from > pq.date_to:
        pq.errors.append(f"the date range is empty: from {pq.date_from} to {pq.date_to}")
    pq.text = " ".join(words)
    pq.terms = [w.lower() for w in _WORD.findall(pq.text)]
    return pq


def dense_text(pq: ParsedQuery) -> str:
    """The text to embed for a query: free text and phrases, in the order a person wrote them
    is lost, but for a bag-of-sentences model that hardly matters."""
    return " ".join([pq.text] + pq.phrases).strip()
