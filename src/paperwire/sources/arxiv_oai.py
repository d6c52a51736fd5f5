"""arXiv OAI-PMH: ``ListRecords`` with ``metadataPrefix=arXiv``, by set and datestamp window.

Paging follows ``resumptionToken``: the first request names ``from``/``until``/``set``, every later
one only the token (OAI-PMH forbids resending the rest). The resume state is the token of the next
page, so a killed harvest continues after the last committed page. ``noRecordsMatch`` means an
empty window, not a failure; any other OAI-PMH error stops the harvest with its code and message.
Deleted records (``<header status="deleted">``) are skipped and counted. ``503`` with
``Retry-After`` (arXiv's flow control) is handled by ``http.PoliteClient``.

The arXiv metadata format holds ``created`` (the date of v1) and ``updated`` (of the latest
version) but no version number.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import httpx

from ..config import Settings
from ..models import Paper, RecordError, split_arxiv_id
from .base import Item
from .harvest_source import CategoryCheck, HarvestSource, Window
from .http import BadContent, HarvestError, PoliteClient, parse_xml

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
# top-level OAI sets whose categories are '<set>.<subject>' (physics is special: see _checks_for)
DOTTED_SETS = {"cs", "math", "stat", "q-bio", "q-fin", "econ", "eess", "nlin"}


class OaiError(HarvestError):
    """The OAI-PMH server answered with an error other than noRecordsMatch."""


@dataclass
class OaiPage:
    records: list[tuple[str, Paper | None, str | None]] = field(default_factory=list)  # (location, paper, error)
    deleted: int = 0
    token: str | None = None  # the next page's resumptionToken; None on the last page
    complete_size: int | None = None
    cursor: int | None = None
    error_code: str | None = None
    error_message: str | None = None


def _text(el, path: str) -> str | None:
    found = el.find(path)
    if found is None or found.text is None:
        return None
    return " ".join(found.text.split()) or None


def arxiv_metadata_to_paper(meta, source: str = "arxiv-oai") -> Paper:
    """``<arXiv xmlns="http://arxiv.org/OAI/arXiv/">`` -> Paper (no version: the format has none)."""
    raw_id = _text(meta, f"{ARXIV}id") or ""
    parsed = split_arxiv_id(raw_id)
    if parsed is None:
        raise RecordError(f"invalid arXiv id {raw_id[:80]!r}")
    authors = []
    for a in meta.findall(f"{ARXIV}authors/{ARXIV}author"):
        parts = [_text(a, f"{ARXIV}{tag}") for tag in ("forenames", "keyname", "suffix")]
        name = " ".join(p for p in parts if p)
        if name:
            authors.append(name)
    categories = (_text(meta, f"{ARXIV}categories") or "").split()
    created = _text(meta, f"{ARXIV}created")
    return Paper(
        id=parsed[0],
        version=parsed[1],
        title=_text(meta, f"{ARXIV}title"),
        abstract=_text(meta, f"{ARXIV}abstract") or "",
        authors=authors,
        categories=categories,
        primary_category=categories[0] if categories else None,
        submitted=created,
        updated=_text(meta, f"{ARXIV}updated") or created,
        doi=_text(meta, f"{ARXIV}doi"),
        journal_ref=_text(meta, f"{ARXIV}journal-ref"),
        comments=_text(meta, f"{ARXIV}comments"),
        source=source,
    )


def parse_list_records(body: bytes, what: str = "OAI-PMH response") -> OaiPage:
    """Parse one ListRecords page. Raises BadContent (cut off, not OAI-PMH) or UnsafeContent."""
    root = parse_xml(body, what)
    if root.tag != f"{OAI}OAI-PMH":
        raise BadContent(f"{what}: not an OAI-PMH response (root element {root.tag!r})")
    page = OaiPage()
    error = root.find(f"{OAI}error")
    if error is not None:
        page.error_code = error.get("code") or "unknown"
        page.error_message = " ".join((error.text or "").split())
        return page
    listing = root.find(f"{OAI}ListRecords")
    if listing is None:
        raise BadContent(f"{what}: an OAI-PMH response without ListRecords")
    for n, record in enumerate(listing.findall(f"{OAI}record"), 1):
        header = record.find(f"{OAI}header")
        identifier = _text(header, f"{OAI}identifier") if header is not None else None
        location = f"record {identifier}" if identifier else f"record {n} of the page"
        if header is not None and header.get("status") == "deleted":
            page.deleted += 1
            continue
        meta = record.find(f"{OAI}metadata/{ARXIV}arXiv")
        if meta is None:
            page.records.append((location, None, "record without arXiv metadata (metadataPrefix=arXiv)"))
            continue
        try:
            page.records.append((location, arxiv_metadata_to_paper(meta), None))
        except RecordError as e:
            page.records.append((location, None, str(e)))
    token = listing.find(f"{OAI}resumptionToken")
    if token is not None:
        page.token = (token.text or "").strip() or None
        size, cursor = token.get("completeListSize"), token.get("cursor")
        page.complete_size = int(size) if size and size.isdigit() else None
        page.cursor = int(cursor) if cursor and cursor.isdigit() else None
    return page


def _parse_response(response: httpx.Response) -> OaiPage:
    what = f"OAI-PMH response from {response.request.url}"
    if response.status_code != 200:  # some OAI-PMH servers send their errors with HTTP 400
        try:
            return parse_list_records(response.content, what)
        except BadContent:
            raise OaiError(
                f"{response.request.url}: HTTP {response.status_code} {response.reason_phrase}: "
                "the server rejected the request; check the set name and the dates."
            ) from None
    return parse_list_records(response.content, what)


def oai_source_key(set_spec: str | None) -> str:
    return f"arxiv-oai:{set_spec or 'all'}"


def _checks_for(set_spec: str | None) -> list[CategoryCheck]:
    if not set_spec:
        return [CategoryCheck("arXiv")]
    if ":" in set_spec:  # physics:hep-th -> hep-th, physics:physics -> physics.*
        archive = set_spec.split(":", 1)[1]
        return [CategoryCheck(archive, prefix=archive)]
    if set_spec in DOTTED_SETS:
        return [CategoryCheck(set_spec, prefix=f"{set_spec}.")]
    return [CategoryCheck(set_spec, prefix=None)]  # 'physics': many archives, any paper counts


class ArxivOaiSource(HarvestSource):
    def __init__(
        self, settings: Settings, set_spec: str | None, window: Window, *, store=None, today: date | None = None
    ):
        super().__init__(settings, window, store=store, today=today, checks=_checks_for(set_spec))
        self.set_spec = set_spec
        self.key = oai_source_key(set_spec)
        self.label = f"arXiv OAI-PMH {'set ' + set_spec if set_spec else 'all sets'} {window}"
        self.url = settings.arxiv_oai_url
        self.deleted = 0
        self.pages = 0
        self._total: int | None = None

    def total(self) -> int | None:
        return self._total

    def _first_params(self) -> dict:
        params = {
            "verb": "ListRecords",
            "metadataPrefix": "arXiv",
            "from": self.window.start.isoformat(),
            "until": self.window.end.isoformat(),
        }
        if self.set_spec:
            params["set"] = self.set_spec
        return params

    def items(self, state: dict) -> Iterator[Item]:
        resume = self._resume_point(state)
        if resume and not resume.get("token"):
            return  # the last page was committed; only the final state is missing
        page_no = int(resume.get("page", 0)) if resume else 0
        params = {"verb": "ListRecords", "resumptionToken": resume["token"]} if resume else self._first_params()
        position = 0
        with PoliteClient(self.settings) as client:
            while True:
                page = client.get_parsed(self.url, params, _parse_response, accept=(200, 400))
                self.pages += 1
                if page.error_code == "noRecordsMatch":
                    return  # an empty window: nothing to store, not a failure
                if page.error_code == "badResumptionToken" and "resumptionToken" in params and resume:
                    self.warnings.append(
                        "the saved OAI-PMH resumption token had expired; the window was harvested again "
                        "from its start (storing the same papers again changes nothing)"
                    )
                    resume, page_no, params = None, 0, self._first_params()
                    continue
                if page.error_code:
                    sent = "&".join(f"{k}={v}" for k, v in params.items())
                    raise OaiError(
                        f"{self.url}?{sent}: OAI-PMH error {page.error_code}: {page.error_message or '(no message)'}. "
                        + (
                            "Check the set name (e.g. cs, math, physics:hep-th) and the dates."
                            if page.error_code in ("badArgument", "noSetHierarchy", "cannotDisseminateFormat")
                            else "Run the same command again later; the harvest resumes at this page."
                        )
                    )
                if page.complete_size is not None:
                    self._total = page.complete_size
                page_no += 1
                self.deleted += page.deleted
                for i, (location, paper, error) in enumerate(page.records):
                    position += 1
                    item_state = None
                    if i == len(page.records) - 1:
                        item_state = self._state(
                            {
                                "token": page.token,
                                "page": page_no,
                                "where": f"page {page_no + 1} of set {self.set_spec or 'all'} {self.window}"
                                if page.token
                                else f"after the last page of {self.window}",
                            }
                        )
                    if paper is not None:
                        self._saw(paper)
                    yield Item(
                        location,
                        paper=paper,
                        error=error,
                        state=item_state,
                        position=(page.cursor or 0) + i + 1 if page.cursor is not None else position,
                    )
                if not page.token:
                    return
                params = {"verb": "ListRecords", "resumptionToken": page.token}

    def final_state(self, state: dict) -> dict:
        if self.deleted:
            self.warnings.append(f"skipped {self.deleted:,} record{'s' * (self.deleted != 1)} arXiv marks as deleted")
        return super().final_state(state)
