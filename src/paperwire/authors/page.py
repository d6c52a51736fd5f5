"""What an author page shows: the papers of one name and its variants, newest first, who wrote
with them, where they publish, and the other people their initials could stand for.

Papers are found with the same `author:` filter search uses (names.plain on both sides), so the
page and ``author:"..."`` agree. Variants are grouped into people by first given name and
surname: ``Csaba L. Balázs`` and ``Csaba Balazs`` are one, ``Clara Balázs`` another. A paper
signed with initials only (``C. Balázs``) joins the one person those initials fit; when several
people on this server fit, it is listed apart as ambiguous instead of being merged silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..models import Paper
from . import names

FETCH = 500  # papers per search; an author page shows at most this many
COAUTHORS_SHOWN = 15


@dataclass
class Person:
    name: str  # the most frequent spelling
    key: str  # "first-given surname"
    papers: int


@dataclass
class AuthorPage:
    name: str  # as asked, TeX decoded
    key: str
    papers: list[Paper]
    variants: list[tuple[str, int]]  # spellings on the shown papers, most frequent first
    ambiguous: list[tuple[Paper, list[str]]] = field(default_factory=list)  # (paper, people it could be)
    others: list[Person] = field(default_factory=list)  # other people the same initials fit
    coauthors: list[tuple[str, int]] = field(default_factory=list)
    categories: list[tuple[str, int]] = field(default_factory=list)
    truncated: bool = False


def _person_key(name: str) -> str | None:
    """'csaba balazs' for every spelling with a written-out first name; None for initials only."""
    given, surname = names.parts(name)
    if not surname or names.is_initials(name):
        return None
    return f"{given[0]} {surname}"


def _search(engine, name: str, after: str | None) -> tuple[list[Paper], bool]:
    phrase = name.replace('"', " ").strip()
    if not phrase:
        return [], False
    res = engine.search((f"after:{after} " if after else "") + f'author:"{phrase}"', limit=FETCH, offset=0)
    return [h.paper for h in res.hits], res.total > FETCH


def _signed(paper: Paper, name: str) -> str | None:
    """The paper's spelling of a name compatible with ``name`` (None: none is)."""
    for a in paper.authors:
        if names.compatible(a, name):
            return a
    return None


def author_page(engine, name: str, after: str | None = None) -> AuthorPage:
    """``after``: only papers listed on or after this day (the digest and the following feed)."""
    shown_name = names.plain(name)
    page_key = names.key(name)
    given, surname = names.parts(name)
    found: dict[str, tuple[Paper, str]] = {}
    truncated = False
    asked = [shown_name]
    wide = names.initials_form(name) or name  # every name these initials fit, for the homonyms
    if given:
        asked += [names.initials_form(name), surname]  # initials variants; people sharing them
    for q in dict.fromkeys(asked):
        papers, more = _search(engine, q, after)
        truncated |= more and q != surname
        for p in papers:
            signed = _signed(p, wide)
            if signed is not None and p.id not in found:
                found[p.id] = (p, signed)
    # people: spellings with a written-out first name, by first name + surname
    spellings: dict[str, Counter] = {}
    for _p, signed in found.values():
        pk = _person_key(signed)
        if pk is not None:
            spellings.setdefault(pk, Counter())[names.plain(signed)] += 1
    me = _person_key(name)
    people = {pk: Person(c.most_common(1)[0][0], pk, sum(c.values())) for pk, c in spellings.items()}
    shown: list[Paper] = []
    ambiguous: list[tuple[Paper, list[str]]] = []
    variants: Counter = Counter()
    for p, signed in found.values():
        pk = _person_key(signed)
        if me is None:  # an initials page: every paper these initials sign, and who they could be
            if pk is None:
                shown.append(p)
                variants[names.plain(signed)] += 1
            continue
        if pk == me:
            shown.append(p)
            variants[names.plain(signed)] += 1
        elif pk is None:  # signed with initials: whose?
            fits = [q for q in people if names.compatible(signed, people[q].name)]
            if fits == [me] or not fits:
                shown.append(p)
                variants[names.plain(signed)] += 1
            elif me in fits:
                ambiguous.append((p, sorted(people[q].name for q in fits)))
    shown.sort(key=lambda p: (p.day or "", p.id), reverse=True)
    ambiguous.sort(key=lambda t: (t[0].day or "", t[0].id), reverse=True)
    co: Counter = Counter()
    cats: Counter = Counter()
    for p in shown:
        for a in p.authors:
            if not names.compatible(a, wide):
                co[names.plain(a)] += 1
        cats.update(p.categories)
    others = sorted((v for k, v in people.items() if k != me), key=lambda v: (-v.papers, v.name))
    return AuthorPage(
        name=shown_name,
        key=page_key,
        papers=shown,
        variants=variants.most_common(),
        ambiguous=ambiguous,
        others=others,
        coauthors=co.most_common(COAUTHORS_SHOWN),
        categories=cats.most_common(),
        truncated=truncated,
    )


__all__ = ["AuthorPage", "Person", "author_page"]
