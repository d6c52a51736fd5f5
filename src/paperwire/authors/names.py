"""One author name, normalised: the form `author:` search indexes and the key author pages and
follows compare.

arXiv keeps names as their submitters typed them, so one person appears as ``C. Bal\\'azs``,
``Csaba Balázs`` and ``Csaba Balazs``. ``plain`` turns TeX accents into letters (pylatexenc) and
tidies spaces; ``key`` then folds accents, case and punctuation away. Initials are only a
*compatible* match (``C. Balázs`` may be Csaba or Clara), never the same key: an author page
shows such papers next to the full names they could belong to instead of merging them silently.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from pylatexenc.latex2text import LatexNodes2Text

MAX_NAME_CHARS = 200
_TEX = LatexNodes2Text(math_mode="verbatim")
_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
# letters NFKD does not decompose into a base letter plus a mark
_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss", "æ": "ae", "œ": "oe"})


@functools.lru_cache(maxsize=100_000)
def plain(name: str) -> str:
    """The name as a reader writes it: TeX accents as letters, one space between words."""
    name = (name or "").strip()
    if "\\" in name or "{" in name:
        try:
            name = _TEX.latex_to_text(name)
        except Exception:  # a name that is not valid TeX is kept as typed
            pass
    name = unicodedata.normalize("NFC", name).replace("~", " ").replace("\xa0", " ")
    return _SPACES.sub(" ", name).strip()


_JOINED = re.compile(r"(?<=[a-z]{2})-(?=[a-z]{2})")  # Wei-Zhen, not J.-P.


def fold(text: str) -> str:
    """Lower-case ASCII letters and digits, words separated by one space; a hyphen inside a
    written-out name joins (Wei-Zhen Deng = Weizhen Deng)."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return _NOT_WORD.sub(" ", _JOINED.sub("", text)).strip()


def key(name: str) -> str:
    """Two spellings of one full name have the same key (accents, TeX, case, dots, hyphens)."""
    return fold(plain(name))


def parts(name: str) -> tuple[tuple[str, ...], str]:
    """(given-name words, surname) of a key; 'de'/'van' particles stay with the given names,
    which does not matter for matching since both sides are split the same way."""
    words = key(name).split()
    if not words:
        return (), ""
    # initials after the surname ("Vasily Ogryzko V", as some submitters write it) are given names
    end = len(words)
    while end > 1 and len(words[end - 1]) == 1 and any(len(w) > 1 for w in words[: end - 1]):
        end -= 1
    return tuple(words[: end - 1]) + tuple(words[end:]), words[end - 1]


def _given_compatible(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if not a or not b:
        return True  # a surname alone says nothing against either
    if a[0][0] != b[0][0]:
        return False
    for x, y in zip(a, b, strict=False):
        short, long = sorted((x, y), key=len)
        # 'yu' (from "Yu.") abbreviates "Yurii"; two written-out names must agree
        if len(short) > 2 and x != y or not long.startswith(short):
            return False
    return True


def compatible(a: str, b: str) -> bool:
    """Could ``a`` and ``b`` be one person? Same surname, and given names that agree where both
    are written out and share their initials otherwise (``C. Balázs`` ~ ``Csaba Balázs``)."""
    ga, sa = parts(a)
    gb, sb = parts(b)
    return bool(sa) and sa == sb and _given_compatible(ga, gb)


def is_initials(name: str) -> bool:
    """True when no given name is written out (``C. Balázs``, ``E. L. Berger``)."""
    given, _ = parts(name)
    return all(len(w) == 1 for w in given)


def initials_form(name: str) -> str:
    """``Csaba Balázs`` -> ``c balazs``: the key its initials-only variants have."""
    given, surname = parts(name)
    return " ".join([*(w[0] for w in given), surname]).strip()


__all__ = ["MAX_NAME_CHARS", "compatible", "fold", "initials_form", "is_initials", "key", "parts", "plain"]
