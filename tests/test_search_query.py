"""The query syntax: operators, phrases, dates, and helpful errors instead of exceptions."""

import pytest

from paperwire.search.query import parse_query


def test_free_text_and_phrases():
    pq = parse_query('Transformer "in-context learning" scaling')
    assert pq.terms == ["transformer", "scaling"]
    assert pq.phrases == ["in-context learning"]
    assert pq.text == "Transformer scaling"
    assert pq.has_text and not pq.has_filters and not pq.errors


def test_authors_plain_and_quoted():
    pq = parse_query('attention author:vaswani author:"Yann  LeCun"')
    assert pq.authors == ["vaswani", "Yann LeCun"]
    assert pq.terms == ["attention"]


def test_categories_and_prefix():
    pq = parse_query("cat:cs.CL cat:stat,math.ST graphs")
    assert pq.categories == ["cs.CL", "stat", "math.ST"]
    assert pq.terms == ["graphs"] and pq.has_filters


@pytest.mark.parametrize(
    "q, lo, hi",
    [
        ("after:2024-01-01", "2024-01-01", None),
        ("since:2024-03", "2024-03-01", None),
        ("before:2024", None, "2024-12-31"),
        ("before:2024-02", None, "2024-02-29"),
        ("date:2024-01-01..2024-06-30", "2024-01-01", "2024-06-30"),
        ("date:2023", "2023-01-01", "2023-12-31"),
        ("date:2024-05", "2024-05-01", "2024-05-31"),
        ("date:2024-01-01..", "2024-01-01", None),
        ("date:..2024-06-30", None, "2024-06-30"),
        ("after:2024-01-01 after:2024-03-01 before:2024-12-31 before:2024-06-30", "2024-03-01", "2024-06-30"),
    ],
)
def test_dates(q, lo, hi):
    pq = parse_query(q)
    assert (pq.date_from, pq.date_to) == (lo, hi)
    assert not pq.errors and not pq.has_text


def test_has_code():
    assert parse_query("has:code diffusion").has_code is True
    pq = parse_query("has:slides diffusion")
    assert not pq.has_code and any("has:slides" in e for e in pq.errors)


@pytest.mark.parametrize(
    "q, needle",
    [
        ("after:yesterday", "after:yesterday is not a date"),
        ("before:2024-13-01", "before:2024-13-01 is not a date"),
        ("after:2024-02-30", "not a date"),
        ("date:2024-01-01...x", "not a date range"),
        ("date:..", "not a date range"),
        ("cat:$$", "not an arXiv category"),
        ("author:", "needs a value"),
        ("after:2024-06-01 before:2024-01-01", "date range is empty"),
    ],
)
def test_invalid_operators_become_errors(q, needle):
    pq = parse_query(q)
    assert any(needle in e for e in pq.errors), pq.errors


def test_unknown_operator_is_reported_and_searched_as_words():
    pq = parse_query("venue:neurips diffusion")
    assert any("unknown operator venue:" in e and "author:" in e for e in pq.errors)
    assert pq.terms == ["venue", "neurips", "diffusion"]


def test_typographic_quotes_and_unclosed_quote():
    assert parse_query("\u201cdifferential privacy\u201d").phrases == ["differential privacy"]
    pq = parse_query('graph "neural network')
    assert pq.phrases == ["neural network"] and pq.terms == ["graph"]


@pytest.mark.parametrize(
    "q",
    [
        "",
        "   ",
        '"',
        '""',
        ":",
        "a:",
        "::x",
        'author:"',
        "cat:",
        "x" * 5000,
        "date:2024-01-01..2024-01-01..2024",
        "\x00 \ufffd",
        "-- OR ( ) * ~ ^",
    ],
)
def test_never_raises(q):
    pq = parse_query(q)
    assert isinstance(pq.errors, list)


def test_filters_only_query_has_no_text():
    pq = parse_query("cat:cs author:smith")
    assert not pq.has_text and pq.has_filters
