"""What leaving hidden papers out costs: search latency with 0 .. 1,000 hidden papers, against the
search path without the hidden-set lookup, on a bench/scale.py database (built first with
`bench/scale.py --sizes 100k --steps corpus,ingest,embed,build`).

    HF_HUB_OFFLINE=1 PYTHONPATH=src .venv/bin/python bench/hidden_search.py [--size 100k] [--queries 300]

Every table has its baseline measured in the same run; timings are interleaved (each query runs
every variant in turn, or every variant runs once per round) so that a change in the machine's
load hits all of them alike. Query vectors are cached and the results cache is off: the index
work is timed. The hidden sets: 10, 100 and 1,000 random papers (nested), and "best hits": each
query's own best hit (so every query finds a hidden paper at the top of both lists: the worst
case).
  A  SearchEngine.search(q, limit=10) end to end, the papers hidden for real (store.curate),
     rounds; "no lookup" is the engine's path without the store.community.hidden_pks() call.
  B  the same candidate step (SearchEngine._search) with the hidden set handed in, per query.
  C  BM25 candidates alone (k = 100): LexicalIndex.search's "ask again, a little deeper" against
     a tantivy MustNot clause over the hidden pks.
  D  embedding candidates alone (k = 100): VectorIndex.search with the faiss ID selector.
  E  the latest day's listings (count_on_day + papers_on_day + neighbor_days), a filter-only
     search (browse) and store.community.hidden_pks(), with 0 and 1,000 papers hidden.
Hidden papers are un-hidden when the run ends.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, parse_n, percentile  # noqa: E402
from scale import build_queries, open_store, settings_for  # noqa: E402

HEAD = "| variant | p50 ms | p95 ms | p50 ratio | p95 ratio |\n|---|---|---|---|---|"


def row(name: str, ms: list[float], base: list[float] | None) -> str:
    p50, p95 = percentile(ms, 50), percentile(ms, 95)
    if base is None:
        return f"| {name} (baseline) | {p50:.2f} | {p95:.2f} | 1.00 | 1.00 |"
    return f"| {name} | {p50:.2f} | {p95:.2f} | {p50 / percentile(base, 50):.2f} | {p95 / percentile(base, 95):.2f} |"


def per_item(variants: list[tuple[str, object]], items: list, rounds: int) -> dict[str, list[float]]:
    """Each item runs every variant in turn (the order rotating), ``rounds`` times over."""
    out: dict[str, list[float]] = {name: [] for name, _ in variants}
    for r in range(rounds):
        for i, it in enumerate(items):
            shift = (i + r) % len(variants)
            for name, fn in variants[shift:] + variants[:shift]:
                t0 = time.perf_counter()
                fn(it)
                out[name].append((time.perf_counter() - t0) * 1000)
    return out


def table(title: str, variants: list[tuple[str, object]], times: dict[str, list[float]]) -> list[str]:
    base = times[variants[0][0]]
    return (
        [title, "", HEAD]
        + [row(name, times[name], None if i == 0 else base) for i, (name, _) in enumerate(variants)]
        + [""]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="100k")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    n = parse_n(args.size)
    m = machine()

    import numpy as np
    import tantivy as T

    from paperwire.search.hybrid import SearchEngine
    from paperwire.search.lexical import analyze
    from paperwire.search.query import dense_text, parse_query

    store = open_store(n)
    engine = SearchEngine(store, settings_for(n))
    engine.results_cache = 0
    assert engine.has_vectors, "no vector index: run bench/scale.py's build step for this size first"
    queries = [q["q"] for q in build_queries(min(n, 10_000), args.queries // 3)]
    for q in queries:  # warm: query vectors cached, index files in the page cache
        engine.search(q, limit=10)
    curator = store.accounts.ensure("bench-curator@example.org", "curator")
    all_pks = [pk for batch in store.papers.iter(batch=20_000) for pk, _ in batch]
    rng = random.Random(0)
    random_1000 = rng.sample(all_pks, 1000)
    best = {h.hits[0].paper.id for h in (engine.search(q, limit=1) for q in queries) if h.hits}
    sets = [
        ("10 hidden", frozenset(random_1000[:10])),
        ("100 hidden", frozenset(random_1000[:100])),
        ("1,000 hidden", frozenset(random_1000)),
        (f"best hits hidden ({len(best)})", frozenset(store.papers.pks_for(sorted(best)).values())),
    ]

    def hide(pks: frozenset[int]) -> None:
        now = store.community.hidden_pks()
        for pk in now - pks:
            store.community.curate(curator.id, pk, "unhide")
        for pk in pks - now:
            store.community.curate(curator.id, pk, "hide")
        assert store.community.hidden_pks() == pks

    out: list[str] = []
    try:
        # A: end to end, hidden for real, in rounds
        def no_lookup(q):  # SearchEngine.search's path without store.community.hidden_pks()
            engine._maybe_reload()
            engine._search(parse_query(q), 10, 0, time.perf_counter())

        a_variants = [("no lookup", frozenset()), ("0 hidden", frozenset())] + sets
        a_times: dict[str, list[float]] = {name: [] for name, _ in a_variants}
        for _ in range(args.rounds):
            for name, pks in a_variants:
                hide(pks)
                fn = no_lookup if name == "no lookup" else (lambda q: engine.search(q, limit=10))
                a_times[name] += per_item([(name, fn)], queries, 1)[name]
        hide(frozenset())
        out += table(
            "A. SearchEngine.search(q, limit=10), end to end, papers hidden for real:",
            [(name, None) for name, _ in a_variants],
            a_times,
        )

        # B: the candidate step with the set handed in, interleaved per query
        pqs = [parse_query(q) for q in queries]

        def cand(hidden):
            return lambda pq: engine._search(pq, 10, 0, time.perf_counter(), hidden)

        b_variants = [("nothing hidden", cand(frozenset()))] + [(name, cand(pks)) for name, pks in sets]
        out += table(
            "B. SearchEngine._search (both candidate lists, fusion, the page), per query:",
            b_variants,
            per_item(b_variants, pqs, args.rounds),
        )

        # C: BM25 alone: ask again vs MustNot
        lex = engine.lexical
        terms = [analyze(" ".join(pq.terms + pq.phrases)) for pq in pqs]

        def must_not(hidden):
            clause = T.Query.term_set_query(lex.schema, "pk", sorted(hidden))

            def run(t):
                text = lex._text_query(t)
                if text is not None:
                    lex.searcher().search(
                        T.Query.boolean_query([(T.Occur.Must, text), (T.Occur.MustNot, clause)]), 100, count=False
                    )

            return run

        c_variants = [("plain top 100", lambda t: lex.search(t, None, k=100))]
        for name, pks in sets:
            c_variants += [
                (f"{name}: ask again, deeper", lambda t, pks=pks: lex.search(t, None, k=100, exclude=pks)),
                (f"{name}: MustNot clause", must_not(pks)),
            ]
        out += table("C. BM25 candidates alone (k=100):", c_variants, per_item(c_variants, terms, args.rounds))

        # D: vectors alone, with the ID selector
        vectors = engine._vectors
        qvecs = [np.asarray(engine.embedder.encode_query(dense_text(pq))) for pq in pqs]
        d_variants = [("plain top 100", lambda v: vectors.search(v, 100))]
        d_variants += [
            (f"{name}: ID selector", lambda v, pks=pks: vectors.search(v, 100, exclude=pks)) for name, pks in sets
        ]
        out += table(
            f"D. embedding candidates alone (k=100, {vectors.kind}, {len(vectors):,} vectors):",
            d_variants,
            per_item(d_variants, qvecs, args.rounds),
        )

        # E: listings, browse, the lookup itself
        day = store.papers.latest_day()
        on_day = list(store.papers.pks_for([p.id for p in store.papers.on_day(day, limit=100)]).values())
        many = frozenset(random_1000[: 1000 - len(on_day)]) | frozenset(on_day)
        e_fns = [
            (
                "day listings",
                lambda _: (
                    store.papers.count_on_day(day),
                    store.papers.on_day(day, limit=25),
                    store.papers.neighbor_days(day),
                ),
            ),
            ("browse cat:cs.LG", lambda _: engine.search("cat:cs.LG", limit=20)),
            ("store.community.hidden_pks()", lambda _: store.community.hidden_pks()),
        ]
        e_times: dict[str, list[float]] = {}
        reps = list(range(100))
        for _ in range(args.rounds):
            for label, pks in (("0 hidden", frozenset()), (f"1,000 hidden ({len(on_day)} on that day)", many)):
                hide(pks)
                for name, fn in e_fns:
                    e_times.setdefault(f"{name}, {label}", []).extend(per_item([(name, fn)], reps, 1)[name])
        e_rows = []
        for name, _ in e_fns:
            keys = [k for k in e_times if k.startswith(name + ",")]
            e_rows += [row(keys[0], e_times[keys[0]], None), row(keys[1], e_times[keys[1]], e_times[keys[0]])]
        out += [
            f"E. the latest day ({day}): listings, browse, the lookup (100 calls x {args.rounds}):",
            "",
            HEAD,
            *e_rows,
            "",
        ]
    finally:
        hide(frozenset())
        store.close()

    print(
        f"\n{n:,} papers, {m.get('cores')} cores ({m.get('cpu', '?')}); load average at start "
        f"{tuple(round(x, 1) for x in m.get('loadavg_at_start', ()))}, at the end "
        f"{tuple(round(x, 1) for x in os.getloadavg())}; {len(queries)} queries x {args.rounds} rounds\n"
    )
    print("\n".join(out))


if __name__ == "__main__":
    main()
