"""Speed of the search page's highlighting (web/highlight.py): the pattern as built before (every
term with its own word-start lookbehind) against the current one (consecutive terms sharing one),
on the 64 seed papers with realistic terms, after checking that both mark exactly the same spans.

    .venv/bin/python bench/highlight_speed.py

Terms per paper: search.lexical.matched_terms for a query made of another seed title's words plus
"model learning" (what a search page passes to highlight()). Prints µs per text (title and
abstract), medians of 7 repeats, and the ratio, with the machine's core count.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA  # noqa: E402


def before(terms: tuple[str, ...]) -> re.Pattern:
    """web/highlight.py's _compiled as it was: the same terms, each with its own (?<!\\w)."""
    from paperwire.web.highlight import term_parts

    return re.compile("|".join(start + rest for start, rest in term_parts(terms)), re.IGNORECASE)


def main() -> None:
    from paperwire.search.lexical import matched_terms
    from paperwire.web.highlight import _compiled

    seed = DATA / "seed-page" / "papers.jsonl"
    if not seed.exists():
        raise SystemExit(f"{seed} is missing: the shared data must sit beside the repository")
    papers = [json.loads(line) for line in seed.open()]
    cases = []
    for i, p in enumerate(papers):
        abstract = p.get("abstract") or p.get("summary") or ""
        words = re.findall(r"\w+", papers[(i + 1) % len(papers)]["title"]) + ["model", "learning"]
        terms = tuple(matched_terms(words, p["title"], abstract)) or ("model",)
        for text in (p["title"], abstract):
            cases.append((text, terms))
    old = {terms: before(terms) for _, terms in cases}
    new = {terms: _compiled(terms) for _, terms in cases}
    for text, terms in cases:  # the same marks, or the comparison means nothing
        assert [m.span() for m in old[terms].finditer(text)] == [m.span() for m in new[terms].finditer(text)]

    def run(patterns):
        return lambda: [list(patterns[terms].finditer(text)) for text, terms in cases]

    print(
        f"{len(cases)} texts (64 titles + 64 abstracts), {os.cpu_count()} CPU cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    res = {}
    for name, patterns in (("before: a lookbehind per term", old), ("now: one per run of terms", new)):
        res[name] = statistics.median(timeit.repeat(run(patterns), number=20, repeat=7)) / 20 / len(cases) * 1e6
        print(f"{name:<32} {res[name]:7.1f} µs per text")
    a, b = res.values()
    print(f"{'ratio before / now':<32} {a / b:7.2f}x")


if __name__ == "__main__":
    main()
