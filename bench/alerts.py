"""Alert filtering benchmark: what a saved search would send from a day's new papers.

Each query is a saved search; the collection is one day's new papers. For every (query, day) the
real SearchEngine runs the saved search restricted to that day (``date:D..D query``, as a digest
restricts it to ``after:since``), takes its top FETCH hits and sends, capped at SECTION_LIMIT:

  * ``today (top 10)``: the first ten, whatever their score (the digest before the relevance bar);
  * ``broad`` / ``normal`` / ``strict``: those whose match probability (paperwire.search.match)
    reaches the strictness's bar.

Precision, recall and F1 are micro-averaged over every (query, day): sent-and-relevant over sent,
over relevant papers of that day (found or not). A (query, day) with nothing relevant that sends
nothing adds nothing to either; one that sends noise lowers precision.

Collections:

  * SciFact (BEIR; ../shared/data/scifact): the 5,183 abstracts are cut, in a seeded random order,
    into consecutive "days" of 64..200 papers (uniform sizes), each with its own listing date, and
    stored and indexed together, as a running instance holds many days. A query is run on every
    day that holds one of its relevant abstracts and on as many days that hold none (picked at
    random): a saved search sees something relevant on about half its days. Train queries
    (qrels/train.tsv) fit, test queries (qrels/test.tsv) are reported.
  * Plain-language queries (bench/data/plain_queries.jsonl: 55 queries written like a person asks,
    graded 0-2 over the 64 seed papers, 8 of them with no relevant paper): the 64 seed papers are
    the day; grade 1 or 2 counts as relevant. Train split fits, test split is reported.

    .venv/bin/python bench/alerts.py --fit   # fit on the train splits -> src/paperwire/search/match_params.py
    .venv/bin/python bench/alerts.py         # the table, test splits (and train beside it with --train)

Embeddings are cached under bench/out/ (the SciFact cache is bench/quality_scifact.py's).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

import plain_queries  # noqa: E402
import quality_scifact as qs  # noqa: E402
from paperwire.config import load_settings  # noqa: E402
from paperwire.models import Paper, RecordError, validated  # noqa: E402
from paperwire.search import match as M  # noqa: E402
from paperwire.search.hybrid import SearchEngine  # noqa: E402
from paperwire.search.indexer import Indexer  # noqa: E402
from paperwire.storage import Store  # noqa: E402
from paperwire.storage.sqlite import SQLiteDatabase  # noqa: E402

FETCH = 25  # as paperwire.digest.compose.FETCH
SECTION_LIMIT = 10  # as paperwire.digest.compose.SECTION_LIMIT
DAY_MIN, DAY_MAX = 64, 200
FIRST_DAY = date(2025, 1, 6)
SEED = 11
FIT_GRADE = 2  # plain set: the grade the model is fitted to (SciFact's qrels are all "2")
PARAMS_FILE = ROOT / "src" / "paperwire" / "search" / "match_params.py"


@dataclass
class Case:
    """One saved search on one day: its candidates (best first) with their grades (0, 1 partly,
    2 relevant; SciFact's qrels are 0 or 2), and how many papers of each grade the day holds."""

    collection: str
    qid: str
    features: list[M.Features]
    grades: list[int]
    on_day: dict[int, int]  # grade -> papers of the day with it (1 and 2 only)
    filters_only: bool = False
    min_grade: int = 2  # what counts as relevant for labels / relevant (FIT_GRADE unless a view sets it)

    @property
    def labels(self) -> list[bool]:
        return [g >= self.min_grade for g in self.grades]

    @property
    def relevant(self) -> int:
        return sum(n for g, n in self.on_day.items() if g >= self.min_grade)


# -- the stores ----------------------------------------------------------------------------
def _embed_cached(store, settings, papers: list[Paper], cache: Path) -> None:
    """Hand cached vectors to the store, index, and cache what had to be embedded."""
    qs.index_with_cached_embeddings(store, Indexer(store, settings), papers, cache)


def _new_store(workdir: Path, name: str):
    """Settings and a migrated SQLite store in ``workdir`` (created: load_settings does not)."""
    workdir.mkdir(parents=True, exist_ok=True)
    settings = load_settings(data_dir=workdir, database_url=f"sqlite:///{workdir / name}")
    store = Store(SQLiteDatabase(settings.sqlite_path))
    store.migrate()
    return settings, store


def scifact_store(workdir: Path):
    """SciFact cut into days: (engine, day of each doc id, doc ids of each day, pk -> doc id)."""
    import re

    settings, store = _new_store(workdir, "scifact.db")
    corpus = qs.load_corpus()
    order = list(range(len(corpus)))
    rng = random.Random(SEED)
    rng.shuffle(order)
    day_of: dict[str, str] = {}
    i, n = 0, 0
    while i < len(order):
        size = rng.randint(DAY_MIN, DAY_MAX)
        d = (FIRST_DAY + timedelta(days=n)).isoformat()
        for j in order[i : i + size]:
            day_of[corpus[j]["_id"]] = d
        i += size
        n += 1
    papers = []
    for d in corpus:
        title = (d.get("title") or d["text"][:120]).replace("\ufffd", "")
        try:
            papers.append(
                validated(
                    Paper(
                        id=f"scifact:{d['_id']}",
                        title=title,
                        abstract=d["text"].replace("\ufffd", ""),
                        submitted=day_of[d["_id"]],
                        announced=day_of[d["_id"]],
                        source="scifact",
                    )
                )
            )
        except RecordError:
            pass
    for k in range(0, len(papers), 1000):
        store.papers.upsert(papers[k : k + 1000])
    key = re.sub(r"[^A-Za-z0-9_.-]+", "_", Indexer(store, settings).embedder.key)
    _embed_cached(store, settings, papers, ROOT / "bench" / "out" / f"scifact-embeddings-{key}.npz")
    kept = {p.id.split(":", 1)[1] for p in papers}
    day_of = {k: v for k, v in day_of.items() if k in kept}
    days: dict[str, set[str]] = {}
    for doc, d in day_of.items():
        days.setdefault(d, set()).add(doc)
    pk_of = store.papers.pks_for([p.id for p in papers])
    doc_of = {pk: i.split(":", 1)[1] for i, pk in pk_of.items()}
    return SearchEngine(store, settings), day_of, days, doc_of


def plain_store(workdir: Path):
    """The 64 seed papers as one day, with the demo's shipped embeddings: (engine, rank of each pk)."""
    import re

    settings, store = _new_store(workdir, "plain.db")
    seed = plain_queries.seed_papers()
    papers = [validated(p) for _, p in seed]
    store.papers.upsert(papers)
    from paperwire.demo import attach_demo_vectors

    attach_demo_vectors(store, settings)
    key = re.sub(r"[^A-Za-z0-9_.-]+", "_", Indexer(store, settings).embedder.key)
    _embed_cached(store, settings, papers, ROOT / "bench" / "out" / f"seed-embeddings-{key}.npz")
    pk_of = store.papers.pks_for([p.id for p in papers])
    rank_of = {pk_of[p.id]: r for r, p in seed}
    return SearchEngine(store, settings), rank_of


# -- cases ---------------------------------------------------------------------------------
def _case(matcher: M.Matcher, collection: str, qid: str, q: str, grade_of, on_day: dict[int, int]) -> Case:
    res = matcher.engine.search(q, limit=FETCH)
    pks = matcher.engine.store.papers.pks_for([h.paper.id for h in res.hits])
    hits = [h for h in res.hits if h.paper.id in pks]
    keys = [pks[h.paper.id] for h in hits]
    feats = matcher.features(res.query, hits, keys)
    return Case(collection, qid, feats, [grade_of(k) for k in keys], on_day, not res.query.has_text)


def scifact_cases(split: str, workdir: Path) -> list[Case]:
    engine, day_of, days, doc_of = scifact_store(workdir)
    matcher = M.Matcher(engine)
    queries = qs.load_queries()
    qrels = qs.load_qrels(split)
    rng = random.Random(f"{SEED}:{split}")
    all_days = sorted(days)
    out = []
    for qid in sorted(qrels, key=lambda x: int(x)):
        rel = {d for d in qrels[qid] if d in day_of}
        if not rel:
            continue
        pos = sorted({day_of[d] for d in rel})
        neg_pool = [d for d in all_days if d not in pos]
        for d in pos + rng.sample(neg_pool, len(pos)):
            q = f"date:{d}..{d} {queries[qid]}"
            on_day = rel & days[d]
            out.append(
                _case(
                    matcher,
                    "scifact",
                    qid,
                    q,
                    lambda pk, on_day=on_day: 2 if doc_of.get(pk) in on_day else 0,
                    {2: len(on_day)},
                )
            )
    return out


def plain_cases(split: str, workdir: Path) -> list[Case]:
    engine, rank_of = plain_store(workdir)
    matcher = M.Matcher(engine)
    out = []
    for q in plain_queries.load_queries(split):
        counts = {g: sum(1 for v in q.grades.values() if v == g) for g in (1, 2)}
        out.append(_case(matcher, "plain", q.qid, q.query, lambda pk, q=q: q.grades.get(rank_of.get(pk), 0), counts))
    return out


def gather(split: str, cached: bool = False) -> dict[str, list[Case]]:
    """Every (query, day) case of a split. ``cached``: reuse bench/out/alert-cases-SPLIT.pkl
    (features only change with the corpus, the engine or paperwire.search.match)."""
    import pickle

    cache = ROOT / "bench" / "out" / f"alert-cases-{split}.pkl"
    if cached and cache.exists():
        out = pickle.loads(cache.read_bytes())
        for c in out["plain"]:
            c.min_grade = FIT_GRADE
        return out
    with tempfile.TemporaryDirectory(prefix="pw-alerts-") as tmp:
        t0 = time.monotonic()
        sf = scifact_cases(split, Path(tmp) / "scifact")
        t1 = time.monotonic()
        pl = plain_cases(split, Path(tmp) / "plain")
        print(
            f"{split}: {len(sf)} SciFact (query, day) cases in {t1 - t0:.0f}s, {len(pl)} plain in "
            f"{time.monotonic() - t1:.0f}s",
            file=sys.stderr,
        )
    out = {"scifact": sf, "plain": pl}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(out))
    return out


# -- what is sent, and how good it is --------------------------------------------------------
def sent(case: Case, probs: list[float] | None, bar: float | None) -> list[bool]:
    """Labels of the papers sent: the first SECTION_LIMIT candidates, or those reaching ``bar``."""
    out = []
    for i, label in enumerate(case.labels):
        if bar is None or case.filters_only or probs[i] >= bar:
            out.append(label)
            if len(out) >= SECTION_LIMIT:
                break
    return out


def prf(cases: list[Case], probs: list[list[float]] | None, bar: float | None) -> dict:
    n_sent = n_hit = n_rel = 0
    silent_ok = silent_all = 0
    for i, c in enumerate(cases):
        s = sent(c, probs[i] if probs is not None else None, bar)
        n_sent += len(s)
        n_hit += sum(s)
        n_rel += c.relevant
        if c.relevant == 0:
            silent_all += 1
            silent_ok += not s
    p = n_hit / n_sent if n_sent else 1.0
    r = n_hit / n_rel if n_rel else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "P": p,
        "R": r,
        "F1": f,
        "sent": n_sent,
        "hit": n_hit,
        "rel": n_rel,
        "silent": f"{silent_ok}/{silent_all}" if silent_all else "-",
    }


def case_probs(cases: list[Case]) -> list[list[float]]:
    return [[M.probability(f) for f in c.features] for c in cases]


# -- fitting ---------------------------------------------------------------------------------
def _rows(cases: list[Case], lexical: bool):
    X, y, w = [], [], []
    per = 1.0 / max(1, len(cases))  # each collection weighs the same, whatever its size
    for c in cases:
        if c.filters_only:
            continue
        for f, label in zip(c.features, c.labels, strict=True):
            if lexical:
                X.append([f.coverage, math.log(f.rank)])
            elif f.cosine is not None:
                X.append([f.cosine, f.coverage, math.log(f.rank)])
            else:
                continue
            y.append(int(label))
            w.append(per)
    return np.array(X), np.array(y), np.array(w)


def fit(train: dict[str, list[Case]]) -> str:
    from sklearn.linear_model import LogisticRegression

    models = {}
    for lexical in (False, True):
        parts = [_rows(cases, lexical) for cases in train.values()]
        X = np.vstack([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        w = np.concatenate([p[2] for p in parts])
        lr = LogisticRegression(C=10.0, max_iter=2000)
        lr.fit(X, y, sample_weight=w / w.mean())
        models[lexical] = (float(lr.intercept_[0]), [float(c) for c in lr.coef_[0]])
    # write the model first: the bars are chosen on its probabilities
    write_params(models, {"broad": 0.5, "normal": 0.5, "strict": 0.5})
    import importlib

    importlib.reload(M.P)
    probs = {k: case_probs(v) for k, v in train.items()}
    grid = [i / 200 for i in range(2, 200)]

    def mean_of(bar, key):
        return sum(prf(train[k], probs[k], bar)[key] for k in train) / len(train)

    def fbeta(bar, beta):
        out = []
        for k in train:
            m = prf(train[k], probs[k], bar)
            b2 = beta * beta
            out.append((1 + b2) * m["P"] * m["R"] / (b2 * m["P"] + m["R"]) if m["P"] + m["R"] else 0.0)
        return sum(out) / len(out)

    normal = max(grid, key=lambda b: (fbeta(b, 1.0), -b))
    broad = max([b for b in grid if b <= normal], key=lambda b: (fbeta(b, 2.0), -b))
    # strict: the lowest bar at which every collection's train precision is 0.85 or more
    ok = [b for b in grid if b >= normal and min(prf(train[k], probs[k], b)["P"] for k in train) >= 0.85]
    strict = min(ok) if ok else max(grid)
    bars = {"broad": broad, "normal": normal, "strict": strict}
    return write_params(models, bars)


def write_params(models, bars) -> str:
    (b0, c), (l0, lc) = models[False], models[True]
    text = f'''"""Fitted parameters of paperwire.search.match, written by ``bench/alerts.py --fit`` from the
SciFact train queries and the plain-language train split (never the test splits). Refit, do not
edit: the bars are chosen on this model's probabilities.

normal: the bar with the best train F1 (mean over the two collections); broad: the best F2 (recall
counted twice) at or below it; strict: the lowest bar where each collection's train precision
reaches 0.85.
"""

INTERCEPT = {b0!r}
COEF = ({c[0]!r}, {c[1]!r}, {c[2]!r})  # cosine, coverage, log(rank)
LEXICAL_INTERCEPT = {l0!r}  # papers without an embedding yet: words only
LEXICAL_COEF = ({lc[0]!r}, {lc[1]!r})  # coverage, log(rank)
THRESHOLDS = {{"broad": {bars["broad"]!r}, "normal": {bars["normal"]!r}, "strict": {bars["strict"]!r}}}
'''
    PARAMS_FILE.write_text(text)
    return text


# -- the table ---------------------------------------------------------------------------------


def views(cases: dict[str, list[Case]]):
    """(name, cases) to report: SciFact, and the plain set with grade 2 (what the query asks for:
    what the model is fitted to) and with grade 1 too (partly relevant, neighbouring topics)."""
    yield "SciFact", cases["scifact"]
    for g, name in ((2, "plain-language, grade 2"), (1, "plain-language, grade ≥ 1")):
        for c in cases["plain"]:
            c.min_grade = g
        yield name, cases["plain"]
    for c in cases["plain"]:
        c.min_grade = FIT_GRADE


def oracle(cs: list[Case]) -> dict:
    """The best any cut of the engine's ranking could do: per (query, day) the prefix of its top
    SECTION_LIMIT that maximises hits - 0.5 x misses, chosen knowing the labels (a ceiling, not a
    method)."""
    n_sent = n_hit = 0
    for c in cs:
        labels = c.labels[:SECTION_LIMIT]
        best = (0.0, 0, 0)
        for j in range(len(labels) + 1):
            h = sum(labels[:j])
            if h - 0.5 * (j - h) > best[0]:
                best = (h - 0.5 * (j - h), j, h)
        n_sent += best[1]
        n_hit += best[2]
    n_rel = sum(c.relevant for c in cs)
    p = n_hit / n_sent if n_sent else 1.0
    r = n_hit / n_rel if n_rel else 1.0
    return {"P": p, "R": r, "F1": 2 * p * r / (p + r) if p + r else 0.0, "sent": n_sent, "silent": "-"}


def table(split: str, cases: dict[str, list[Case]]) -> None:
    print(
        f"\n{split} split; micro P/R/F1 over (query, day); 'silent' = (query, day)s with nothing "
        "relevant that sent nothing\n"
    )
    print("| collection | (query, day)s | relevant | method | sent | precision | recall | F1 | silent |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for k, cs in views(cases):
        probs = case_probs(cs)
        rel = sum(c.relevant for c in cs)
        rows = [("today (top 10)", prf(cs, None, None))]
        rows += [(s, prf(cs, probs, M.threshold(s))) for s in M.STRICTNESS]
        rows.append(("(ceiling: best cut of the ranking, labels known)", oracle(cs)))
        for name, m in rows:
            print(
                f"| {k} | {len(cs)} | {rel} | {name} | {m['sent']} | {m['P']:.3f} | {m['R']:.3f} | "
                f"{m['F1']:.3f} | {m['silent']} |"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fit", action="store_true", help="fit on the train splits and write match_params.py")
    ap.add_argument("--train", action="store_true", help="also print the train split's table")
    ap.add_argument(
        "--cached",
        action="store_true",
        help="reuse the (query, day) features of the last run (bench/out/alert-cases-*.pkl)",
    )
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}; bars: {M.P.THRESHOLDS}", file=sys.stderr)
    if args.fit:
        train = gather("train", args.cached)
        print(fit(train))
        import importlib

        importlib.reload(M.P)
        table("train", train)
        return
    if args.train:
        table("train", gather("train", args.cached))
    table("test", gather("test", args.cached))


if __name__ == "__main__":
    main()
