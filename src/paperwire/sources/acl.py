"""ACL Anthology volume files (the Anthology's data/xml/<collection>.xml): one paper per <paper> of
each <volume>, id ``acl:<anthology id>`` such as ``acl:2024.scichat-1.2``.

Streamed with lxml's iterparse (each paper element is dropped once read), with the same
protections as the arXiv clients: no DTD, no entity expansion, no network, no huge text nodes.
Inline markup becomes text: <fixed-case> is unwrapped, <tex-math> is kept as ``$...$`` for the
pages' KaTeX.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from lxml import etree

from ..models import Paper, RecordError
from .base import Item
from .lines import JsonLinesFileSource, file_identity

SITE = "https://aclanthology.org"
MONTHS = {
    m: i
    for i, m in enumerate(
        "january february march april may june july august september october november december".split(), start=1
    )
}
ID_PART = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._\-]*\Z")


def text_of(el) -> str:
    """An element's text with its inline markup turned into plain text (tex-math as $...$)."""
    parts = [el.text or ""]
    for child in el:
        inner = text_of(child)
        parts.append(f"${inner}$" if child.tag == "tex-math" else inner)
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def _person(el) -> str:
    return " ".join(p for p in (text_of(el.find(t)) if el.find(t) is not None else "" for t in ("first", "last")) if p)


def _month(raw: str | None) -> int | None:
    if not raw:
        return None
    raw = raw.strip().lower()
    if raw.isdigit() and 1 <= int(raw) <= 12:
        return int(raw)
    # "March", "Mar", and ranges such as "June-July" (the first month counts)
    word = re.split(r"[-–/ ]", raw)[0]
    return next((n for name, n in MONTHS.items() if word and name.startswith(word[:3])), None)


class AclSource(JsonLinesFileSource):
    """One volume file of the ACL Anthology (the file sources' resume state and identity, read as XML)."""

    unit = "rec"
    kind = "acl"

    def total(self) -> int | None:
        # a volume file is small (the largest are a few MB): counting its papers first is cheap
        with open(self.path, "rb") as f:
            return sum(chunk.count(b"<paper ") for chunk in iter(lambda: f.read(1 << 20), b""))

    def items(self, state: dict):
        ident = file_identity(self.path)
        resume = state.get("resume") if state.get("file") == ident else None
        skip = resume["index"] if resume else 0
        collection = volume = None
        meta: dict = {}
        index = 0
        context = etree.iterparse(
            str(self.path),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        )
        try:
            for event, el in context:
                if event == "start":
                    if el.tag == "collection":
                        collection = el.get("id")
                    elif el.tag == "volume":
                        volume, meta = el, {}
                    continue
                if el.tag == "meta" and volume is not None:
                    meta = self._meta(el, volume)
                elif el.tag == "paper":
                    index += 1
                    if index > skip:
                        yield self._item(el, collection, meta, index, ident)
                    el.clear(keep_tail=True)
                    # drop the papers already read, so a large volume reads in constant memory
                    while el.getprevious() is not None:
                        del el.getparent()[0]
        except etree.XMLSyntaxError as e:
            yield Item(
                f"{self.path.name} after paper {index}",
                error=f"not well-formed XML ({e.msg}); nothing after this point was read",
                state=None,
            )

    def _meta(self, el, volume) -> dict:
        def first(tag):
            found = el.find(tag)
            return text_of(found) if found is not None else None

        return {
            "volume": volume.get("id"),
            "booktitle": first("booktitle"),
            "year": first("year"),
            "month": first("month"),
            "ingested": volume.get("ingest-date"),
            "venues": [text_of(v) for v in el.findall("venue")],
        }

    def _item(self, el, collection, meta, index, ident) -> Item:
        where = f"{self.path.name} paper {index}"
        state = {"file": ident, "resume": {"index": index, "where": where}}
        try:
            return Item(where, paper=self._paper(el, collection, meta), state=state, position=index)
        except RecordError as e:
            return Item(where, error=str(e), state=state, position=index)

    def _paper(self, el, collection, meta) -> Paper:
        url = el.find("url")
        anthology_id = text_of(url) if url is not None else None
        if not anthology_id:
            if not (collection and meta.get("volume") and el.get("id")):
                raise RecordError("paper without an Anthology id (no <url>, nor collection, volume and paper ids)")
            anthology_id = f"{collection}-{meta['volume']}.{el.get('id')}"
        if not ID_PART.match(anthology_id):
            raise RecordError(f"invalid Anthology id {anthology_id[:80]!r}")
        title = el.find("title")
        if title is None or not text_of(title):
            raise RecordError("missing title")
        abstract = el.find("abstract")
        doi = el.find("doi")
        year = meta.get("year")
        if year is not None and not (year.isdigit() and len(year) == 4):
            raise RecordError(f"invalid year {year[:20]!r}")
        month = _month(meta.get("month"))
        submitted = f"{date(int(year), month or 1, 1).isoformat()}T00:00:00Z" if year else None
        venues = [v for v in meta.get("venues", []) if v]
        return Paper(
            id=f"acl:{anthology_id}",
            title=text_of(title),
            abstract=text_of(abstract) if abstract is not None else "",
            authors=[_person(a) for a in el.findall("author")],
            submitted=submitted,
            announced=meta.get("ingested") or None,
            doi=text_of(doi) if doi is not None else None,
            journal_ref=", ".join(x for x in (meta.get("booktitle"), year) if x) or None,
            abs_url=f"{SITE}/{anthology_id}/",
            pdf_url=f"{SITE}/{anthology_id}.pdf",
            comments=f"venue: {', '.join(venues)}" if venues else None,
            source="acl-anthology",
        )


def volume_files(paths) -> list[Path]:
    """The volume files named: files as given, directories by their *.xml files in name order."""
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(p.glob("*.xml")) if p.is_dir() else [p])
    return out
