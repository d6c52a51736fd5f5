"""Where TeX math sits in a title or abstract, found the way the browser will find it.

static/math.js renders math with KaTeX's auto-render, which splits each text at the first left
delimiter, finds its right delimiter at brace level 0 (a backslash escapes the next character) and
gives up on the rest of the text when there is none. ``math_spans`` is the same scan over the same
delimiters, so the highlighter can leave math alone (a ``<mark>`` inside ``$...$`` would split the
expression across elements and show half of it as source) and the templates know which elements
hold math at all.
"""

from __future__ import annotations

import re

# (left, right), longest first where one is a prefix of another: "$$" before "$". The same list,
# in the same order, is in static/math.js.
DELIMITERS: tuple[tuple[str, str], ...] = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))

_LEFT = re.compile("|".join(re.escape(left) for left, _ in DELIMITERS))


def _end_of_math(text: str, right: str, index: int) -> int:
    level = 0
    n = len(text)
    while index < n:
        ch = text[index]
        if level <= 0 and text.startswith(right, index):
            return index
        if ch == "\\":
            index += 1
        elif ch == "{":
            level += 1
        elif ch == "}":
            level -= 1
        index += 1
    return -1


def math_spans(text: str | None) -> list[tuple[int, int]]:
    """(start, end) of each math expression in ``text``, delimiters included."""
    spans: list[tuple[int, int]] = []
    if not text or ("$" not in text and "\\" not in text):
        return spans
    pos = 0
    while True:
        m = _LEFT.search(text, pos)
        if m is None:
            return spans
        start = m.start()
        left, right = next(d for d in DELIMITERS if text.startswith(d[0], start))
        end = _end_of_math(text, right, start + len(left))
        if end == -1:
            return spans
        spans.append((start, end + len(right)))
        pos = end + len(right)


def has_math(text: str | None) -> bool:
    return bool(math_spans(text))


__all__ = ["DELIMITERS", "has_math", "math_spans"]
