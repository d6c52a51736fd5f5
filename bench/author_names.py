"""How well author names meet on one author page ("same page"), against the plain lower-case
baseline, on two collections of real names. Nothing is tuned: the rule (authors/names.py) has no
parameters, so there is no train split to fit on.

Methods, each deciding whether two name strings go to one page:
  * ``lower``: the baseline, ``name.lower()`` equal;
  * ``key``: names.key equal (TeX accents decoded, accents/case/punctuation folded);
  * ``key+initials``: names.compatible (the author page's rule: same surname, given names equal
    where both are written out, initials otherwise).

1. SciRepEval S2AND sample (../shared/data/scirepeval-samples/s2and_small.json): 40 real AMiner
   disambiguation groups, a query paper and 376 candidates that carry the *same* author name,
   labelled 1 (the same person) or 0 (a homonym). The file has no name strings: every method
   puts every candidate on the query's page, so the table shows what name matching alone can
   reach on homonyms, the reason the author page lists initials-only fits apart and never
   claims more than "this name".
2. arXiv 0704 (../shared/data/arxiv-abs-0704/arxiv_0704_parsed.jsonl): 1,001 real records whose
   author lists are TeX as submitted (``C. Bal\\'azs``). The submitter wrote one of the paper's
   authors: recall = papers whose author list has a name the method sends to the submitter's
   page. Precision = of the (paper, author slot) pairs a method assigns to the submitter, the
   share that are the only slot assigned on that paper (a second slot fitting the same submitter
   is a wrong merge), and ``false merges`` counts pairs of distinct submitters (different keys,
   so different people barring typos) that the method would put on one page.

    .venv/bin/python bench/author_names.py
"""

from __future__ import annotations

import json
import os
import re
import sys
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from paperwire.authors import names  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
S2AND = SHARED / "scirepeval-samples" / "s2and_small.json"
ARXIV = SHARED / "arxiv-abs-0704" / "arxiv_0704_parsed.jsonl"

METHODS = {
    "lower": lambda a, b: a.strip().lower() == b.strip().lower(),
    "key": lambda a, b: names.key(a) == names.key(b),
    "key+initials": names.compatible,
}


def split_authors(field: str) -> list[str]:
    """arXiv's author field: 'A, B and C' (commas and a final 'and'), parentheses are affiliations."""
    field = re.sub(r"\([^()]*\)", " ", field or "")
    parts = re.split(r",|\band\b", field)
    return [" ".join(p.split()) for p in parts if p.strip()]


def s2and_table() -> list[tuple[str, float, float, int]]:
    groups = json.loads(S2AND.read_text())
    labels = [c["score"] for g in groups for c in g["candidates"]]
    same = sum(1 for x in labels if x == 1)
    # one name per group: every method says "same page" for every candidate
    return [(m, same / len(labels), 1.0, len(labels)) for m in METHODS]


def arxiv_table() -> list[tuple[str, float, float, int, int]]:
    recs = [json.loads(line) for line in ARXIV.read_text().splitlines() if line.strip()]
    recs = [r for r in recs if r.get("submitter") and r.get("authors")]
    submitters = sorted({names.key(r["submitter"]): r["submitter"] for r in recs}.values())
    out = []
    for m, same in METHODS.items():
        found = slots = only = 0
        for r in recs:
            fits = [a for a in split_authors(r["authors"]) if same(a, r["submitter"])]
            if fits:
                found += 1
                slots += len(fits)
                only += 1 if len(fits) == 1 else 0
        merges = sum(1 for a, b in combinations(submitters, 2) if same(a, b))
        out.append((m, only / slots if slots else 0.0, found / len(recs), len(recs), merges))
    return out


def main() -> int:
    missing = [p for p in (S2AND, ARXIV) if not p.exists()]
    if missing:
        print(f"the shared test data is not here: {', '.join(map(str, missing))}")
        return 1
    print(f"cores: {os.cpu_count()}  (no timing: the measure is agreement, not speed)")
    print("\n1. S2AND sample, 40 AMiner groups (same name; label: same person or homonym)")
    print(f"{'method':<14} {'precision':>9} {'recall':>7} {'pairs':>6}")
    for m, p, r, n in s2and_table():
        print(f"{m:<14} {p:>9.3f} {r:>7.3f} {n:>6}")
    print("\n2. arXiv 0704, submitter vs the paper's author list")
    print(f"{'method':<14} {'precision':>9} {'recall':>7} {'papers':>6} {'false merges':>13}")
    rows = arxiv_table()
    base = rows[0][2]
    for m, p, r, n, merges in rows:
        print(f"{m:<14} {p:>9.3f} {r:>7.3f} {n:>6} {merges:>13}   recall x{r / base:.3f} vs lower")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
