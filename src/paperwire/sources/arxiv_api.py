"""The arXiv API (Atom): papers of some categories submitted in a date window, and look-ups by id.

One query per day of the window (``cat:cs.CL AND submittedDate:[202501070000 TO 202501072359]``,
sorted by submission date), paged with ``start``/``max_results`` until a page comes back empty or
``opensearch:totalResults`` is reached. The resume state is the day and the offset of the next
page, so a killed harvest continues with the page after the last committed one.

The API has two known hiccups, both retried a few times and then reported: a feed holding one
entry titled "Error" (its summary says what is wrong), and a page with no entries although
``totalResults`` says more are there.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

import httpx

from ..config import Settings
from ..models import Paper, RecordError, split_arxiv_id, validated
from .base import Item
from .harvest_source import CategoryCheck, HarvestSource, Window
from .http import BadContent, HarvestError, PoliteClient, parse_xml

ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
ARXIV = "{http://arxiv.org/schemas/atom}"
CATEGORY_RE = re.compile(r"^[a-z][a-z\-]*(\.[A-Za-z\-]+)?$")
BAD_PAGE_TRIES = 3  # an "Error" entry or an unexpectedly empty page is fetched this many times
ID_CHUNK = 100


class ArxivApiError(HarvestError):
    """The arXiv API answered with an error entry, or kept answering with unusable pages."""


@dataclass
class AtomPage:
    total: int | None
    start: int | None
    entries: list[tuple[str, Paper | None, str | None]] = field(default_factory=list)  # (location, paper, error)
    error: str | None = None  # the summary of an arXiv "Error" entry
    status: int = 200


def _text(el, path: str) -> str | None:
    found = el.find(path)
    if found is None or found.text is None:
        return None
    return " ".join(found.text.split()) or None


def _unversioned(url: str | None) -> str | None:
    return re.sub(r"v\d+$", "", url) if url else None


def entry_to_paper(entry, source: str = "arxiv-api") -> Paper:
    raw_id = _text(entry, f"{ATOM}id") or ""
    parsed = split_arxiv_id(raw_id)
    if parsed is None:
        raise RecordError(f"entry id {raw_id[:80]!r} is not an arXiv abstract URL")
    paper_id, version = parsed
    abs_url = pdf_url = None
    for link in entry.findall(f"{ATOM}link"):
        href = link.get("href")
        if link.get("title") == "pdf" or link.get("type") == "application/pdf":
            pdf_url = pdf_url or _unversioned(href)
        elif link.get("rel") == "alternate":
            abs_url = abs_url or _unversioned(href)
    primary = entry.find(f"{ARXIV}primary_category")
    return Paper(
        id=paper_id,
        version=version,
        title=_text(entry, f"{ATOM}title"),
        abstract=_text(entry, f"{ATOM}summary") or "",
        authors=[n for n in (_text(a, f"{ATOM}name") for a in entry.findall(f"{ATOM}author")) if n],
        categories=[c.get("term") for c in entry.findall(f"{ATOM}category") if c.get("term")],
        primary_category=primary.get("term") if primary is not None else None,
        submitted=_text(entry, f"{ATOM}published"),
        updated=_text(entry, f"{ATOM}updated"),
        doi=_text(entry, f"{ARXIV}doi"),
        journal_ref=_text(entry, f"{ARXIV}journal_ref"),
        comments=_text(entry, f"{ARXIV}comment"),
        abs_url=abs_url,
        pdf_url=pdf_url,
        source=source,
    )


def parse_atom(body: bytes, what: str = "arXiv API response") -> AtomPage:
    """Parse one page of the API's Atom feed. Raises BadContent (cut-off or not a feed) or
    UnsafeContent (a DTD / entity declarations)."""
    root = parse_xml(body, what)
    if root.tag != f"{ATOM}feed":
        raise BadContent(f"{what}: not an Atom feed (root element {root.tag!r})")

    def number(tag: str) -> int | None:
        t = _text(root, f"{OPENSEARCH}{tag}")
        return int(t) if t and t.isdigit() else None

    page = AtomPage(total=number("totalResults"), start=number("startIndex"))
    for i, entry in enumerate(root.findall(f"{ATOM}entry")):
        entry_id = _text(entry, f"{ATOM}id") or ""
        if "/api/errors" in entry_id or (
            _text(entry, f"{ATOM}title") == "Error" and entry.find(f"{ARXIV}primary_category") is None
        ):
            page.error = _text(entry, f"{ATOM}summary") or entry_id or "unspecified error"
            continue
        parsed = split_arxiv_id(entry_id)
        location = f"entry arXiv:{parsed[0]}" if parsed else f"entry {i + 1} of page start={page.start}"
        try:
            page.entries.append((location, entry_to_paper(entry), None))
        except RecordError as e:
            page.entries.append((location, None, str(e)))
    return page


def _parse_response(response: httpx.Response) -> AtomPage:
    page = parse_atom(response.content, f"arXiv API response from {response.request.url}")
    page.status = response.status_code
    if page.status != 200 and not page.error:
        raise BadContent(f"arXiv API answered HTTP {page.status} without saying why")
    return page


def category_query(categories: list[str], day: date) -> str:
    cats = " OR ".join(f"cat:{c}" for c in categories)
    if len(categories) > 1:
        cats = f"({cats})"
    d = day.strftime("%Y%m%d")
    return f"{cats} AND submittedDate:[{d}0000 TO {d}2359]"


def api_source_key(categories: list[str]) -> str:
    return "arxiv-api:cat:" + "+".join(sorted(categories))


class ArxivApiSource(HarvestSource):
    def __init__(
        self,
        settings: Settings,
        categories: list[str],
        window: Window,
        *,
        store=None,
        today: date | None = None,
        page_size: int = 100,
    ):
        bad = [c for c in categories if not CATEGORY_RE.match(c)]
        if bad or not categories:
            raise ValueError(f"not an arXiv category: {', '.join(bad) or '(none)'}; use e.g. cs.CL, math.AG, hep-th")
        super().__init__(
            settings, window, store=store, today=today, checks=[CategoryCheck(c, exact=c) for c in categories]
        )
        self.categories = list(categories)
        self.page_size = max(1, min(int(page_size), 2000))
        self.key = api_source_key(self.categories)
        self.label = f"arXiv API {'+'.join(self.categories)} {window}"
        self.url = settings.arxiv_api_url
        self.pages = 0

    def _fetch(self, client: PoliteClient, day: date, start: int) -> AtomPage | None:
        query = category_query(self.categories, day)
        params = {
            "search_query": query,
            "sortBy": "submittedDate",
            "sortOrder": "ascending",
            "start": start,
            "max_results": self.page_size,
        }
        problem = ""
        for attempt in range(1, BAD_PAGE_TRIES + 1):
            page = client.get_parsed(self.url, params, _parse_response, accept=(200, 400))
            self.pages += 1
            if page.error:
                problem = f"arXiv API error: {page.error}"
                if page.status == 400:  # the query itself was refused: asking again changes nothing
                    break
            elif not page.entries and page.total and start < page.total:
                problem = f"an empty page although totalResults={page.total}"
            else:
                return page
            if attempt < BAD_PAGE_TRIES:
                time.sleep(client._backoff(attempt))
        where = f"{self.url}?search_query={query}&start={start}"
        if page.error:
            raise ArxivApiError(
                f"{where}: {problem} ({attempt} tr{'ies' if attempt > 1 else 'y'}). Check the categories "
                f"({', '.join(self.categories)}); if they are right, arXiv is having trouble: run the same "
                "command again later, the harvest resumes at this page."
            )
        self.warnings.append(
            f"arXiv API returned {problem} for {'+'.join(self.categories)} on {day} at start={start} "
            f"({BAD_PAGE_TRIES} tries); up to {page.total - start:,} papers of that day may be missing: "
            "run the harvest again later (--since-last re-checks recent days)"
        )
        return None

    def items(self, state: dict) -> Iterator[Item]:
        resume = self._resume_point(state)
        position = 0
        with PoliteClient(self.settings) as client:
            for day in self.window.days():
                iso = day.isoformat()
                if day > self.today:
                    break
                if resume and iso < resume["day"]:
                    continue
                start = resume["start"] if resume and iso == resume["day"] else 0
                while True:
                    page = self._fetch(client, day, start)
                    if page is None:
                        break
                    next_start = start + len(page.entries)
                    for i, (location, paper, error) in enumerate(page.entries):
                        position += 1
                        item_state = None
                        if i == len(page.entries) - 1:
                            item_state = self._state(
                                {"day": iso, "start": next_start, "where": f"{iso} offset {next_start}"}
                            )
                        if paper is not None:
                            self._saw(paper, iso)
                        yield Item(location, paper=paper, error=error, state=item_state, position=position)
                    start = next_start
                    if not page.entries or page.total is None or start >= page.total:
                        break


def fetch_by_ids(settings: Settings, ids: Iterable[str], *, client: PoliteClient | None = None) -> list[Paper]:
    """Papers for arXiv ids ('2503.11731', 'arXiv:2104.12255v1', 'hep-th/9901001', abs/pdf URLs),
    validated, in the order arXiv returns them; ids arXiv does not know are simply absent.
    Raises ValueError for strings that are not arXiv ids and ArxivApiError when arXiv refuses."""
    wanted: list[str] = []
    bad: list[str] = []
    for raw in ids:
        parsed = split_arxiv_id(str(raw))
        if parsed is None:
            bad.append(str(raw))
            continue
        paper_id, version = parsed
        wanted.append(f"{paper_id}v{version}" if version else paper_id)
    if bad:
        raise ValueError(
            f"not arXiv ids: {', '.join(repr(b[:60]) for b in bad[:10])}; use e.g. 2503.11731 or hep-th/9901001"
        )
    wanted = list(dict.fromkeys(wanted))
    own = client is None
    client = client or PoliteClient(settings)
    papers: list[Paper] = []
    try:
        for i in range(0, len(wanted), ID_CHUNK):
            chunk = wanted[i : i + ID_CHUNK]
            params = {"id_list": ",".join(chunk), "start": 0, "max_results": len(chunk)}
            page = client.get_parsed(settings.arxiv_api_url, params, _parse_response, accept=(200, 400))
            if page.error:
                raise ArxivApiError(
                    f"arXiv API refused the look-up of {', '.join(chunk[:5])}"
                    f"{' ...' if len(chunk) > 5 else ''}: {page.error}"
                )
            for location, paper, error in page.entries:
                if paper is None:
                    raise ArxivApiError(f"arXiv API sent an unreadable {location}: {error}")
                papers.append(validated(paper))
    finally:
        if own:
            client.close()
    return papers


__all__ = [
    "ArxivApiError",
    "ArxivApiSource",
    "AtomPage",
    "api_source_key",
    "category_query",
    "entry_to_paper",
    "fetch_by_ids",
    "parse_atom",
]
