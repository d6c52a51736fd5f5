"""Safe highlighting: the text is escaped piece by piece and only our own <mark> tags are added.

Matches are found on the raw text (so a term never matches inside an entity such as ``&amp;``);
every piece, matched or not, is HTML-escaped before it is joined. The result is ``Markup``, so
Jinja2's autoescape leaves it alone and nothing from the paper can become markup. Nothing is
marked inside TeX math (web/tex.py): the browser renders ``$...$`` from one piece of text, and a
``<mark>`` inside it would leave the expression half source, half rendered.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable

from markupsafe import Markup, escape

from .tex import math_spans

MIN_PREFIX_CHARS = 3  # terms at least this long also mark the rest of the word (stems: optim -> optimization)


def _pattern(terms: Iterable[str]) -> re.Pattern | None:
    return _compiled(tuple(t for t in terms if isinstance(t, str)))


# A search page asks for the same hit's pattern three times (title, abstract, snippet); re's own
# cache (512 patterns, shared by every module) evicted them: 1/6 of a search page's time was
# spent compiling (pyinstrument, docs/benchmarks.md "Web throughput").
def term_parts(terms: tuple[str, ...]) -> list[tuple[str, str]]:
    """Each distinct term as a regex in two pieces, (start, the rest): ``start`` is a word-start
    lookbehind or empty. Longest first: phrases win over their words."""
    parts: list[tuple[str, str]] = []
    seen: set[str] = set()
    for term in terms:
        if not isinstance(term, str):
            continue
        t = " ".join(term.split()).strip()
        if not t or t.lower() in seen:
            continue
        seen.add(t.lower())
        body = r"\s+".join(re.escape(w) for w in t.split(" "))
        # extend a word-like term to the end of its word; anything else must match exactly
        tail = r"\w*" if len(t) >= MIN_PREFIX_CHARS and t[-1].isalnum() else ""
        start = r"(?<!\w)" if t[0].isalnum() else ""
        end = "" if tail else (r"(?!\w)" if t[-1].isalnum() else "")
        parts.append((start, body + tail + end))
    parts.sort(key=lambda p: len(p[0]) + len(p[1]), reverse=True)
    return parts


@functools.lru_cache(maxsize=4096)
def _compiled(terms: tuple[str, ...]) -> re.Pattern | None:
    parts = term_parts(terms)
    if not parts:
        return None
    # Consecutive alternatives with the same start share one lookbehind, (?<!\w)(?:a|b|c) instead of
    # (?<!\w)a|(?<!\w)b|(?<!\w)c: the same matches in the same order of preference, but re checks the
    # lookbehind once per position instead of once per term: 3.3x faster on the seed papers
    # (bench/highlight_speed.py), and the highlights were most of a search page's rendering.
    groups = [(start, [rest for _, rest in run]) for start, run in itertools.groupby(parts, key=lambda p: p[0])]
    return re.compile("|".join(start + "(?:" + "|".join(rests) + ")" for start, rests in groups), re.IGNORECASE)


def highlight(text: str | None, terms: Iterable[str] | None) -> Markup:
    """Escape ``text`` and wrap the words that match ``terms`` in ``<mark>``."""
    if not text:
        return Markup("")
    pattern = _pattern(terms or [])
    if pattern is None:
        return escape(text)
    out: list[str] = []
    pos = 0
    spans = math_spans(text)
    k = 0  # the first math span that ends after the current match starts
    for m in pattern.finditer(text):
        if m.start() == m.end():
            continue
        while k < len(spans) and spans[k][1] <= m.start():
            k += 1
        if k < len(spans) and spans[k][0] < m.end():
            continue  # overlaps math
        out.append(str(escape(text[pos : m.start()])))
        out.append("<mark>" + str(escape(m.group(0))) + "</mark>")
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def snippet(text: str | None, terms: Iterable[str] | None, width: int = 280) -> str:
    """A plain-text excerpt of about ``width`` characters around the first matching term."""
    if not text:
        return ""
    if len(text) <= width:
        return text
    pattern = _pattern(terms or [])
    m = pattern.search(text) if pattern else None
    start = 0
    if m and m.start() > width // 3:
        start = m.start() - width // 3
        space = text.rfind(" ", 0, start)
        start = space + 1 if space > start - 30 else start
    end = start + width
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    # never cut an expression in two: half of one is neither math nor readable source
    for a, b in math_spans(text):
        if a < start < b:
            start = a
        if a < end < b:
            end = b if b - start <= 2 * width else a
    return ("… " if start > 0 else "") + text[start:end].strip() + (" …" if end < len(text) else "")
