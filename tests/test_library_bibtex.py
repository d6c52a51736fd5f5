"""BibTeX entries: arXiv fields, stable keys, escaping that can never end a field early."""

from paperwire.library.bibtex import bibtex, citation_key, escape_bibtex
from paperwire.models import Paper, validated


def _fields(entry: str) -> dict[str, str]:
    out = {}
    for line in entry.splitlines()[1:-1]:
        name, _, value = line.strip().partition(" = ")
        out[name.strip()] = value.rstrip(",")
    return out


def _braces_balance(s: str) -> bool:
    depth = 0
    i = 0
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(s[i], 0)
        if depth < 0:
            return False
        i += 1
    return depth == 0


def test_new_style_arxiv_entry():
    p = validated(
        Paper(
            id="2503.11731",
            version=2,
            title="Attention Is All You Need",
            authors=["Ashish Vaswani", "Noam Shazeer"],
            categories=["cs.CL", "cs.LG"],
            submitted="2025-03-14T17:59:00Z",
        )
    )
    entry = bibtex(p)
    assert entry.startswith("@misc{vaswani2025attention,\n")
    f = _fields(entry)
    assert f["title"] == "{Attention Is All You Need}"
    assert f["author"] == "{Ashish Vaswani and Noam Shazeer}"
    assert f["year"] == "{2025}"
    assert f["eprint"] == "{2503.11731}"
    assert f["archivePrefix"] == "{arXiv}"
    assert f["primaryClass"] == "{cs.CL}"
    assert f["url"] == "{https://arxiv.org/abs/2503.11731}"
    assert entry.endswith("}\n") and _braces_balance(entry)


def test_old_style_arxiv_entry_year_and_class_from_id():
    p = validated(Paper(id="hep-th/9901001", title="The Large N Limit", authors=["J. Maldacena"]))
    entry = bibtex(p)
    f = _fields(entry)
    assert entry.startswith("@misc{maldacena1999large,")
    assert f["eprint"] == "{hep-th/9901001}"
    assert f["primaryClass"] == "{hep-th}"  # from the id when the record names no category
    assert f["year"] == "{1999}"


def test_escaping_specials_keeps_math_and_balance():
    title = r"Costs & Benefits: 100% of {Weird} #1 \emph under_score ~ ^ $\alpha<\beta$"
    esc = escape_bibtex(title)
    assert r"\&" in esc and r"100\%" in esc and r"\#1" in esc and r"under\_score" in esc
    assert r"\{Weird\}" in esc and r"\textbackslash{}emph" in esc
    assert r"$\alpha<\beta$" in esc  # inline math is kept as LaTeX
    assert _braces_balance(esc)
    p = validated(Paper(id="local:x", title="A } closing brace { here", authors=["Zoë Ångström"]))
    entry = bibtex(p)
    assert _braces_balance(entry)
    assert r"A \} closing brace \{ here" in entry


def test_unbalanced_math_is_escaped_and_lone_dollar_too():
    assert escape_bibtex("$x}$") == r"\$x\}\$"
    assert escape_bibtex("costs $5") == r"costs \$5"


def test_citation_key_is_stable_ascii_and_skips_stopwords():
    p = validated(
        Paper(
            id="local:y",
            title="On the Théorie of Things",
            authors=["Jürgen Müller-Lüdenscheidt"],
            submitted="2020-02-02",
        )
    )
    assert citation_key(p) == "mullerludenscheidt2020theorie"
    assert citation_key(p) == citation_key(validated(Paper(**p.to_dict())))
    anon = validated(Paper(id="local:z", title="$x$ The"))
    assert citation_key(anon).startswith("anon")
    assert (
        citation_key(validated(Paper(id="local:w", title="Deep Nets", authors=["Doe, Jane"], submitted="2001-01-01")))
        == "doe2001deep"
    )


def test_non_arxiv_entry_has_no_eprint_and_uses_given_url():
    p = validated(Paper(id="local:abc", title="Local Paper", authors=["Ann Bee"], doi="10.1/x_y"))
    entry = bibtex(p, url="http://localhost:8000/papers/local:abc")
    f = _fields(entry)
    assert "eprint" not in f and "archivePrefix" not in f
    assert f["url"] == "{http://localhost:8000/papers/local:abc}"
    assert f["doi"] == "{10.1/x_y}"  # verbatim field: not TeX-escaped
