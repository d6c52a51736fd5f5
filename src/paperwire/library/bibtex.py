"""BibTeX for a paper: ``@misc`` with eprint/archivePrefix/primaryClass for arXiv papers."""

from __future__ import annotations

import re
import unicodedata

from ..models import Paper, split_arxiv_id

STOPWORDS = {
    "a",
    "an",
    "the",
    "on",
    "of",
    "in",
    "for",
    "to",
    "and",
    "or",
    "with",
    "by",
    "at",
    "from",
    "is",
    "are",
    "via",
    "towards",
    "toward",
    "into",
    "as",
    "do",
    "does",
    "can",
    "be",
    "its",
    "it",
    "we",
    "what",
    "how",
    "why",
    "when",
    "not",
    "no",
    "using",
}
NAME_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}

_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_MATH = re.compile(r"\$[^$]+\$")


def _escape_plain(s: str) -> str:
    return "".join(_SPECIALS.get(ch, ch) for ch in s)


def _balanced(s: str) -> bool:
    depth = 0
    prev = ""
    for ch in s:
        if ch == "{" and prev != "\\":
            depth += 1
        elif ch == "}" and prev != "\\":
            depth -= 1
            if depth < 0:
                return False
        prev = ch if not (prev == "\\" and ch == "\\") else ""
    return depth == 0


def escape_bibtex(text: str | None) -> str:
    """Make text safe inside a braced BibTeX field value.

    Inline math (``$\\alpha<\\beta$``) is kept as LaTeX when its braces balance; everything else
    has the LaTeX special characters escaped, so braces in a field can never end it early.
    """
    if not text:
        return ""
    text = " ".join(text.split())
    out: list[str] = []
    pos = 0
    for m in _MATH.finditer(text):
        out.append(_escape_plain(text[pos : m.start()]))
        math = m.group(0)
        out.append(math if _balanced(math) else _escape_plain(math))
        pos = m.end()
    out.append(_escape_plain(text[pos:]))
    return "".join(out)


def _verbatim(s: str) -> str:
    """For url and doi, which BibTeX styles print verbatim: only what could end the field goes."""
    return s.replace("{", "%7B").replace("}", "%7D").replace("\\", "%5C")


def _ascii_word(s: str) -> str:
    folded = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]", "", folded).lower()


def last_name(author: str) -> str:
    author = " ".join(author.split())
    if "," in author:  # "Vaswani, Ashish"
        return author.split(",", 1)[0].strip()
    words = [w for w in author.split(" ") if w.lower() not in NAME_SUFFIXES]
    return words[-1] if words else author


def year_of(p: Paper) -> str | None:
    for value in (p.submitted, p.announced, p.updated):
        if value and re.match(r"^\d{4}", value):
            return value[:4]
    arxiv = split_arxiv_id(p.id)
    if arxiv:
        m = re.search(r"(?:^|/)(\d{2})(\d{2})", arxiv[0])
        if m:
            yy = int(m.group(1))
            return str(1900 + yy if yy >= 91 else 2000 + yy)
    return None


def citation_key(p: Paper) -> str:
    """A stable key: ``lastname`` + ``year`` + first significant title word, e.g. vaswani2017attention."""
    name = _ascii_word(last_name(p.authors[0])) if p.authors else ""
    words = [_ascii_word(w) for w in re.split(r"[\s\-/:]+", re.sub(r"\$[^$]*\$", " ", p.title or ""))]
    words = [w for w in words if w]
    first = next((w for w in words if w not in STOPWORDS), words[0] if words else "")
    key = f"{name or 'anon'}{year_of(p) or ''}{first}"
    return key or re.sub(r"[^A-Za-z0-9]", "", p.id) or "paper"


def bibtex(p: Paper, *, url: str | None = None) -> str:
    """The BibTeX entry of a paper."""
    fields: list[tuple[str, str]] = [("title", escape_bibtex(p.title))]
    if p.authors:
        fields.append(("author", " and ".join(escape_bibtex(a) for a in p.authors)))
    year = year_of(p)
    if year:
        fields.append(("year", year))
    arxiv = split_arxiv_id(p.id)
    if arxiv:
        fields.append(("eprint", arxiv[0]))
        fields.append(("archivePrefix", "arXiv"))
        primary = p.primary_category or (arxiv[0].split("/")[0] if "/" in arxiv[0] else None)
        if primary:
            fields.append(("primaryClass", escape_bibtex(primary)))
    if p.doi:
        fields.append(("doi", _verbatim(p.doi)))
    if p.journal_ref:
        fields.append(("note", escape_bibtex(p.journal_ref)))
    link = p.abs_url or url
    if link:
        fields.append(("url", _verbatim(link)))
    width = max(len(k) for k, _ in fields)
    body = ",\n".join(f"  {k.ljust(width)} = {{{v}}}" for k, v in fields)
    return f"@misc{{{citation_key(p)},\n{body}\n}}\n"
