"""The author-name rule measured by bench/author_names.py, held to its figures: on arXiv 0704 the
author page's rule finds the submitter in far more author lists than the lower-case baseline
without wrong merges, and on the S2AND sample name matching alone cannot tell homonyms apart."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
import author_names  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (author_names.S2AND.exists() and author_names.ARXIV.exists()),
    reason=f"the shared test data is not here ({author_names.SHARED}): bench/author_names.py needs it",
)


def test_initials_rule_beats_lower_case_on_arxiv_submitters():
    rows = {m: (p, r, n, merges) for m, p, r, n, merges in author_names.arxiv_table()}
    lower, key, rule = rows["lower"], rows["key"], rows["key+initials"]
    assert lower[2] == rule[2] == 1001
    assert key[1] > lower[1] and rule[1] >= lower[1] + 0.35  # 0.489 -> 0.893 today
    assert rule[0] >= 0.99 and rule[3] <= 2  # few wrong merges


def test_s2and_homonyms_bound_name_only_precision():
    rows = author_names.s2and_table()
    assert {(p, r, n) for _, p, r, n in rows} == {(180 / 376, 1.0, 376)}


def test_split_authors_reads_arxiv_author_fields():
    assert author_names.split_authors("C. Bal\\'azs, E. L. Berger (ANL), P. M. Nadolsky and C.-P. Yuan") == [
        "C. Bal\\'azs",
        "E. L. Berger",
        "P. M. Nadolsky",
        "C.-P. Yuan",
    ]
