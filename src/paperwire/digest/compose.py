"""Compose one subscriber's digest: sections, the message (text + HTML), its headers.

A Composer lives for one run and caches everything subscribers share: the results of each
distinct saved-search query (per "since" day), the trending and category lists (per category
set), and each paper's rendered HTML and text block. Per subscriber what is left is picking the
papers they were not sent yet, joining pre-rendered blocks and building the message.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ..mail.message import make_message_id, sender_domain
from ..models import Paper
from ..search.match import DEFAULT_STRICTNESS, Matcher, Scored, passes
from ..search.query import dense_text, parse_query
from .mime import build_alternative
from .schedule import Due

SECTION_LIMIT = 10  # papers per section
TRENDING_LIMIT = 5
FOR_YOU_LIMIT = 5
FOR_YOU_FETCH = 50  # feed entries asked for, before the "since" filter and papers already sent
FETCH = 25  # hits fetched per search, so that papers already sent can be skipped
SNIPPET_CHARS = 240
AUTHORS_SHOWN = 3

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


# -- links: the subscriptions module signs them ----------------------------------------------
def subscriber_links(settings, subscriber) -> tuple[str, str, dict[str, str]]:
    """(preferences URL, unsubscribe URL, List-Unsubscribe headers) for one subscriber.

    The one adapter between digests and paperwire.subscriptions (signed, revocable links; the
    RFC 8058 one-click endpoint). ``subscriber`` needs ``id`` and ``token_version``."""
    from ..subscriptions import list_unsubscribe_headers, preferences_url, unsubscribe_url

    return (
        preferences_url(settings, subscriber),
        unsubscribe_url(settings, subscriber),
        list_unsubscribe_headers(settings, subscriber),
    )


def site_url(settings) -> str:
    return (settings.base_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def paper_url(site: str, paper_id: str) -> str:
    """The paper's page on the site (ids keep their '/' and ':', as web.render.paper_path)."""
    return f"{site}/papers/{quote(paper_id, safe='/:')}"


def digest_message_id(settings, subscriber_id: int, period: str) -> str:
    """Stable per (subscriber, period): a digest composed twice is queued once."""
    return make_message_id(settings, "digest", f"{subscriber_id}:{period}")


# -- what goes in ----------------------------------------------------------------------------
def trending_papers(store, since: str, categories: list[str], limit: int) -> list[tuple[int, Paper]]:
    """(pk, Paper) pairs for the "trending" section, best first: the trending score
    (paperwire.trending, docs/trending.md) over the digest's period, ``since`` up to now (or the
    end of the latest listing day, when that is earlier), in the subscriber's categories when
    they chose some that have papers there, else over all papers."""
    from ..trending.ranking import digest_trending

    if categories:
        found = digest_trending(store, since, categories, limit)
        if found:
            return found
    return digest_trending(store, since, [], limit)


def for_you_papers(store, email: str, since: str, limit: int) -> list[tuple[int, Paper, str | None]]:
    """(pk, Paper, because title) for the "For you" section: the "for you" feed of the account
    with the subscriber's address (paperwire.recommend.feed), papers listed on or after
    ``since`` only. Empty when there is no such account, or its feed is empty or fails: the
    section is a bonus and never stops a digest."""
    try:
        account = store.accounts.by_email(email)
        if account is None or getattr(account, "status", "active") != "active":
            return []
        from ..recommend.feed import feed_for_account

        recs = feed_for_account(store, account.id, tag=None, limit=FOR_YOU_FETCH)
        return [(r.pk, r.paper, r.because_title) for r in recs if (r.paper.announced or "") >= since][:limit]
    except Exception:  # a missing or failing recommender must not break the digest
        log.warning("'for you' section for %s left out", email, exc_info=True)
        return []


def following_for(store, engine, email: str, since: str, limit: int) -> list[tuple[int, Paper]]:
    """(pk, Paper) for the "Following" section: new papers by the authors and in the categories
    the account with the subscriber's address follows (paperwire.follows.feed), listed on or
    after ``since``. Empty without such an account; a failure leaves the section out, never the
    digest."""
    try:
        account = store.accounts.by_email(email)
        if account is None or getattr(account, "status", "active") != "active":
            return []
        from ..follows.feed import following_papers

        found = following_papers(store, engine, account.id, since=since, limit=limit)
        pks = store.papers.pks_for([f.paper.id for f in found])
        return [(pks[f.paper.id], f.paper) for f in found if f.paper.id in pks]
    except Exception:
        log.warning("'following' section for %s left out", email, exc_info=True)
        return []


@dataclass
class Item:
    pk: int
    paper: Paper
    html: Markup
    text: str


@dataclass
class Section:
    kind: str  # 'search' | 'following' | 'for_you' | 'trending' | 'categories'
    title: str
    items: list[Item]
    query: str | None = None
    more_url: str | None = None
    strictness: str | None = None  # saved searches: the bar their papers cleared


@dataclass
class Digest:
    subscriber: object
    due: Due
    since: date
    sections: list[Section]
    paper_pks: list[int]
    subject: str
    message_id: str
    message: bytes | None = None  # None: nothing to send

    @property
    def papers(self) -> int:
        return len(self.paper_pks)


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " …"


def _authors(authors: list[str]) -> str:
    if len(authors) <= AUTHORS_SHOWN:
        return ", ".join(authors)
    return ", ".join(authors[:AUTHORS_SHOWN]) + " et al."


class Composer:
    def __init__(self, store, settings, engine, *, limit: int = SECTION_LIMIT, fetch: int = FETCH):
        self.store = store
        self.settings = settings
        self.engine = engine
        self.limit = limit
        self.fetch = max(fetch, limit)
        self.site = site_url(settings)
        self.matcher = Matcher(engine)
        self._searches: dict[tuple[str, str], list[Scored]] = {}
        self._trending: dict[tuple[str, tuple], list[tuple[int, Paper]]] = {}
        self._categories: dict[tuple[str, tuple], list[tuple[int, Paper]]] = {}
        self._blocks: dict[int, tuple[Markup, str]] = {}
        self._lock = threading.Lock()
        self._tpl_html = _env.get_template("digest.html")
        self._tpl_text = _env.get_template("digest.txt")
        self._tpl_paper_html = _env.get_template("_paper.html")
        self._tpl_paper_text = _env.get_template("_paper.txt")
        self.searches_run = 0
        # +0000, not 'GMT': RFC 5322 lists zone names as obsolete (section 4.3)
        self._date = format_datetime(datetime.now(UTC))
        self._list_id = f"Paperwire digest <digest.{sender_domain(settings.mail_from)}>"

    # -- shared, cached lookups -----------------------------------------------------------
    def _hits(self, q: str, since: str) -> list[tuple[int, Paper]]:
        res = self.engine.search(q, limit=self.fetch)
        self.searches_run += 1
        papers = [h.paper for h in res.hits if (h.paper.announced or "") >= since]
        pks = self.store.papers.pks_for([p.id for p in papers])
        return [(pks[p.id], p) for p in papers if p.id in pks]

    def scored(self, query: str, since: str) -> list[Scored]:
        """A saved search's hits listed on or after ``since``, best first, each with its match
        probability (cached per run). The date filter goes first: an unclosed quote in the query
        cannot swallow it."""
        key = (query, since)
        found = self._searches.get(key)
        if found is None:
            hits = self.matcher.search(f"after:{since} {query}", self.fetch)
            self.searches_run += 1
            found = self._searches[key] = [h for h in hits if (h.paper.announced or "") >= since]
        return found

    def search(self, query: str, since: str, strictness: str = DEFAULT_STRICTNESS) -> list[tuple[int, Paper]]:
        """The (pk, Paper) a saved search with this strictness would send, best first: only the
        hits whose match probability clears its bar, so a day with nothing relevant sends none."""
        return [(h.pk, h.paper) for h in self.scored(query, since) if passes(h.probability, strictness)]

    def category_papers(self, since: str, categories: list[str]) -> list[tuple[int, Paper]]:
        key = (since, tuple(sorted(categories)))
        found = self._categories.get(key)
        if found is None:
            cats = " ".join(f"cat:{c}" for c in key[1])
            found = self._categories[key] = self._hits(f"after:{since} {cats}", since) if cats else []
        return found

    def trending(self, since: str, categories: list[str]) -> list[tuple[int, Paper]]:
        key = (since, tuple(sorted(categories)))
        found = self._trending.get(key)
        if found is None:
            found = self._trending[key] = trending_papers(self.store, since, list(key[1]), self.fetch)
        return found

    def prewarm(self, queries: list[str], batch: int = 256) -> None:
        """Embed the queries of saved searches this run will need in batches (the engine's
        per-query cache then answers each search) instead of one model call per query."""
        engine = self.engine
        if not getattr(engine, "has_vectors", False):
            return
        embedder = engine.embedder
        cache = getattr(embedder, "_cache", None)
        lock = getattr(embedder, "_lock", None)
        if cache is None or lock is None:
            return
        keys = []
        for q in dict.fromkeys(queries):
            pq = parse_query(q)
            if not pq.has_text:
                continue
            key = " ".join(dense_text(pq).split()).lower()
            if key and key not in cache:
                keys.append(key)
        keys = list(dict.fromkeys(keys))
        for i in range(0, len(keys), batch):
            chunk = keys[i : i + batch]
            vecs = embedder.encode(chunk)
            with lock:
                for k, v in zip(chunk, vecs, strict=True):
                    v.setflags(write=False)
                    cache[k] = v

    def _item(self, pk: int, paper: Paper, because: str | None = None) -> Item:
        if because:  # a "for you" entry: its reason is the reader's own, not cached across readers
            ctx = {
                "p": paper,
                "url": paper_url(self.site, paper.id),
                "authors": _authors(paper.authors),
                "snippet": _snippet(paper.abstract),
                "because": because,
            }
            return Item(pk, paper, Markup(self._tpl_paper_html.render(ctx)), self._tpl_paper_text.render(ctx))
        block = self._blocks.get(pk)
        if block is None:
            ctx = {
                "p": paper,
                "url": paper_url(self.site, paper.id),
                "authors": _authors(paper.authors),
                "snippet": _snippet(paper.abstract),
            }
            block = self._blocks[pk] = (Markup(self._tpl_paper_html.render(ctx)), self._tpl_paper_text.render(ctx))
        return Item(pk, paper, block[0], block[1])

    # -- one subscriber ----------------------------------------------------------------------
    def sections(self, sub, saved: list, since: date, sent: set[int]) -> list[Section]:
        """``saved``: the subscriber's saved searches, as (query, strictness) pairs or bare
        queries (strictness normal)."""
        since_s = since.isoformat()
        taken: set[int] = set()
        out: list[Section] = []

        def pick(found: list[tuple[int, Paper]], limit: int = self.limit) -> list[Item]:
            items = []
            for pk, paper in found:
                if pk in sent or pk in taken:
                    continue
                taken.add(pk)
                items.append(self._item(pk, paper))
                if len(items) >= limit:
                    break
            return items

        for entry in saved:
            q, strictness = (entry, DEFAULT_STRICTNESS) if isinstance(entry, str) else entry
            items = pick(self.search(q, since_s, strictness))
            # a search with nothing relevant keeps a one-line section (no papers) that says so and
            # links to the search; it does not count as something new to send
            out.append(
                Section(
                    "search",
                    f"New for “{q}”",
                    items,
                    query=q,
                    strictness=strictness,
                    more_url=f"{self.site}/search?{urlencode({'q': f'after:{since_s} {q}'})}",
                )
            )
        items = pick(following_for(self.store, self.engine, sub.email, since_s, self.fetch))
        if items:
            out.append(Section("following", "Following", items, more_url=f"{self.site}/following"))
        for_you = []
        for pk, paper, because in for_you_papers(self.store, sub.email, since_s, self.fetch):
            if pk in sent or pk in taken:
                continue
            taken.add(pk)
            for_you.append(self._item(pk, paper, because))
            if len(for_you) >= min(self.limit, FOR_YOU_LIMIT):
                break
        if for_you:
            out.append(Section("for_you", "For you", for_you, more_url=f"{self.site}/for-you"))
        cats = list(sub.categories or [])
        if sub.trending:
            items = pick(self.trending(since_s, cats), min(self.limit, TRENDING_LIMIT))
            if items:
                out.append(Section("trending", "Trending", items))
        if cats:
            items = pick(self.category_papers(since_s, cats))
            if items:
                out.append(Section("categories", "New in " + ", ".join(sorted(cats)), items))
        return out

    def compose(self, sub, due: Due, since: date, saved: list, sent: set[int]) -> Digest:
        sections = self.sections(sub, saved, since, sent)
        pks = [it.pk for s in sections for it in s.items]
        n = len(pks)
        day = due.day
        when = f"week of {day:%a} {day.day} {day:%b}" if sub.frequency == "weekly" else f"{day:%a} {day.day} {day:%b}"
        if n:
            subject = f"Paperwire: {n} new paper{'s' if n != 1 else ''} for you — {when}"
        else:
            subject = f"Paperwire: nothing new for you — {when}"
        message_id = digest_message_id(self.settings, sub.id, due.period)
        digest = Digest(sub, due, since, sections, pks, subject, message_id)
        if not n and not self.settings.digest_send_empty:
            return digest
        prefs, unsub, headers = subscriber_links(self.settings, sub)
        ctx = {
            "subject": subject,
            "site": self.site,
            "sections": sections,
            "email": sub.email,
            "papers": n,
            "heading": f"{n} new paper{'s' if n != 1 else ''} for you — {when}" if n else f"Your digest — {when}",
            "since_text": since.strftime("%-d %b %Y"),
            "frequency_text": "weekly" if sub.frequency == "weekly" else "daily",
            "preferences_url": prefs,
            "unsubscribe_url": unsub,
        }
        hdrs = [
            ("From", self.settings.mail_from),
            ("To", sub.email),
            ("Subject", subject),
            ("Date", self._date),
            ("Message-ID", message_id),
            ("MIME-Version", "1.0"),
        ]
        hdrs += list(headers.items())
        hdrs += [("List-Id", self._list_id), ("Auto-Submitted", "auto-generated"), ("Precedence", "bulk")]
        digest.message = build_alternative(
            headers=hdrs, text=self._tpl_text.render(ctx), html=self._tpl_html.render(ctx)
        )
        return digest


def describe(d: Digest) -> str:
    """A dry-run description: recipient, subject, sections with their titles."""
    lines = [f"{d.subscriber.email}  [{d.due.period}]  {d.subject}"]
    if d.message is None:
        lines[0] += "  (not sent: nothing new)"
    for s in d.sections:
        lines.append(f"  {s.title}" + ("" if s.items else "  (nothing relevant)"))
        for it in s.items:
            lines.append(f"    - {it.paper.title}")
    return "\n".join(lines)


__all__ = [
    "Composer",
    "Digest",
    "Section",
    "describe",
    "digest_message_id",
    "following_for",
    "for_you_papers",
    "paper_url",
    "subscriber_links",
    "trending_papers",
]
