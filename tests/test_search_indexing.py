"""The Indexer: words now / meaning after embedding, new versions, crashes, other processes.

A real database (SQLite, then PostgreSQL), real tantivy, real MiniLM, real faiss; crashes are real SIGKILLs of a real process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SEED = DATA / "seed-page" / "papers.jsonl"
pytestmark = pytest.mark.skipif(
    not SEED.exists(), reason=f"test data not found at {DATA} (the shared/ folder beside the project)"
)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from paperwire.config import load_settings  # noqa: E402
from paperwire.models import Paper, validated  # noqa: E402
from paperwire.search import hybrid  # noqa: E402
from paperwire.search.hybrid import SearchEngine  # noqa: E402
from paperwire.search.indexer import Indexer, vectors_dir  # noqa: E402
from paperwire.search.lexical import LexicalIndex, analyze  # noqa: E402
from paperwire.search.vectors import latest_snapshot  # noqa: E402
from paperwire.sources.jsonl import JsonlSource  # noqa: E402
from paperwire.sources.runner import run_ingest  # noqa: E402
from paperwire.storage import open_store  # noqa: E402


def make_store(tmp: Path, n: int, database_url: str):
    """A store (``database_url``: the test's ``db_url``) holding the first ``n`` seed papers."""
    path = tmp / "seed.jsonl"
    path.write_text("\n".join(SEED.read_text().splitlines()[:n]) + "\n")
    settings = load_settings(data_dir=tmp, database_url=database_url, index_dir=tmp / "index", embed_model=None)
    store = open_store(settings.database_url)
    assert run_ingest(store, JsonlSource(path), progress=False).inserted == n
    return store, settings


def run_python(code: str, settings, *, wait: bool = True):
    """Run ``code`` in a fresh Python process with ``settings`` as ``s`` and an open ``store``."""
    prelude = textwrap.dedent(f"""
        import os, sys
        os.environ["HF_HUB_OFFLINE"] = "1"
        from paperwire.config import load_settings
        from paperwire.storage import open_store
        from paperwire.search.indexer import Indexer
        s = load_settings(data_dir={str(settings.data_dir)!r}, database_url={settings.database_url!r},
                          index_dir={str(settings.index_dir)!r}, embed_model=None)
        store = open_store(s.database_url, migrate=False)
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if wait:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        return out
    return proc


def new_paper(pid: str, title: str, abstract: str, **kw) -> Paper:
    return validated(Paper(id=pid, title=title, abstract=abstract, source="test", **kw))


def test_findable_by_words_at_once_and_by_meaning_after_sync(tmp_path, db_url):
    store, settings = make_store(tmp_path, 16, db_url)
    indexer = Indexer(store, settings)
    assert indexer.sync_lexical() == 16
    assert indexer.pending()["lexical"] == 0 and indexer.pending()["embed"] == 16
    engine = SearchEngine(store, settings)
    paper = store.papers.get_many([1])[1]
    r = engine.search(paper.title)
    assert r.mode == "lexical" and r.hits[0].paper.id == paper.id
    sims = engine.similar(paper.id, k=3)  # no embedding yet: BM25 on its title and abstract
    assert sims and paper.id not in {h.paper.id for h in sims} and all(h.lexical_rank for h in sims)

    counts = indexer.sync()
    assert counts["embedded"] == 16 and indexer.pending() == {"lexical": 0, "embed": 0, "vector": 0}
    engine.reload()
    r = engine.search(paper.title)
    assert r.mode == "hybrid" and r.hits[0].paper.id == paper.id and r.hits[0].dense_rank == 1


def test_new_version_replaces_the_old_one_in_both_indexes(tmp_path, db_url):
    store, settings = make_store(tmp_path, 16, db_url)
    indexer = Indexer(store, settings)
    indexer.sync()
    engine = SearchEngine(store, settings)
    old = store.papers.get_many([3])[3]
    assert engine.search(f'"{old.title}"').hits[0].paper.id == old.id

    store.papers.upsert(
        [
            new_paper(
                old.id,
                "Zyxquark lattices for protein folding",
                "We predict the three-dimensional structure of proteins from amino acid sequences.",
            )
        ]
    )
    counts = indexer.sync()
    assert counts["embedded"] == 1
    engine.reload()
    r = engine.search("zyxquark")
    assert r.hits[0].paper.id == old.id and [h.paper.id for h in r.hits if h.lexical_rank] == [old.id]
    assert engine.search(f'"{old.title}"').hits == []  # the old text is gone from both indexes
    r = engine.search("how do amino acid chains fold into 3D shapes")
    assert r.hits[0].paper.id == old.id and r.hits[0].dense_rank == 1
    assert len(engine._vectors) == 16 and store.papers.count_embeddings() == 16  # replaced, not added

    # a metadata-only change is re-indexed for the filters, but not re-embedded
    p = store.papers.get(old.id)
    p.code_url = "https://github.com/example/zyxquark"
    store.papers.upsert([p])
    assert indexer.sync()["embedded"] == 0
    engine.reload()
    assert [h.paper.id for h in engine.search("has:code").hits] == [old.id]


def test_a_failed_write_leaves_the_word_index_and_its_seq_unchanged(tmp_path, db_url):
    store, settings = make_store(tmp_path, 8, db_url)
    indexer = Indexer(store, settings)
    indexer.sync_lexical()
    lex = LexicalIndex(Path(settings.index_dir) / "lexical")
    seq_before = lex.seq()
    assert seq_before == store.papers.max_seq() == 8

    def papers_then_crash():
        yield 100, new_paper("test:a", "Frobnicated quasars", "A.")
        raise OSError("disk full")

    with pytest.raises(OSError):
        lex.write(papers_then_crash(), seq=99)
    lex.reload()
    assert lex.seq() == seq_before and lex.num_papers() == 8
    assert lex.search(["frobnic"], None) == []


def test_killed_indexer_resumes_and_rebuild_gives_identical_results(tmp_path, db_url):
    store, settings = make_store(tmp_path, 64, db_url)
    proc = run_python(
        """
        import paperwire.search.indexer as ix
        ix.EMBED_BATCH = 4   # small transactions, so the kill lands between two of them
        Indexer(store, s).sync()
    """,
        settings,
        wait=False,
    )
    deadline = time.monotonic() + 240
    embed_seq = 0
    while time.monotonic() < deadline and proc.poll() is None:
        embed_seq = store.papers.index_state("embed")[0]
        if embed_seq > 0:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    embed_seq = store.papers.index_state("embed")[0]
    assert 0 < embed_seq < store.papers.max_seq(), "the indexer was to be killed half-way through embedding"

    # what the recorded seqs promise is really there
    changes = store.papers.changes_since(0, limit=1000)
    hashes = store.papers.embedding_hashes([c.pk for c in changes])
    assert all(hashes.get(c.pk) == c.text_hash for c in changes if c.seq <= embed_seq)
    snap = latest_snapshot(vectors_dir(settings))
    assert snap is None or snap[0] <= embed_seq
    lex = LexicalIndex(Path(settings.index_dir) / "lexical")
    assert lex.num_papers() == len([c for c in changes if c.seq <= lex.seq()])

    indexer = Indexer(store, settings)
    counts = indexer.sync()
    assert counts["embedded"] == 64 - len([c for c in changes if c.seq <= embed_seq])
    assert indexer.pending() == {"lexical": 0, "embed": 0, "vector": 0}
    engine = SearchEngine(store, settings)
    queries = ["privacy-preserving data release", "self-correction of language models", "bandits", "code cat:cs"]

    def snapshot():
        engine.reload()
        return [[(h.paper.id, round(h.score, 4)) for h in engine.search(q).hits] for q in queries]

    before = snapshot()
    assert len(engine._vectors) == 64 and all(before[:3])
    result = indexer.rebuild(progress=False)
    assert result["reused"] == 64 and result["embedded"] == 0 and result["vectors"] == 64
    assert snapshot() == before


def test_engines_in_other_processes_see_new_snapshots(tmp_path, db_url, monkeypatch):
    store, settings = make_store(tmp_path, 16, db_url)
    Indexer(store, settings).sync()
    engine_a = SearchEngine(store, settings)
    engine_b = SearchEngine(store, settings)
    assert not any(h.lexical_rank for h in engine_a.search("quuxtastic").hits)
    run_python(
        """
        from paperwire.models import Paper, validated
        store.papers.upsert([validated(Paper(id="test:q1", title="Quuxtastic graph sparsifiers",
                             abstract="Spectral sparsification of graphs preserves the Laplacian quadratic form."))])
        print(Indexer(store, s).sync())
    """,
        settings,
    )
    engine_a.reload()  # explicitly
    r = engine_a.search("quuxtastic")
    assert r.hits[0].paper.id == "test:q1" and r.hits[0].lexical_rank == 1 and len(engine_a._vectors) == 17
    monkeypatch.setattr(hybrid, "RELOAD_EVERY", 0.0)  # engine_b notices by itself, on its next search
    r = engine_b.search("spectral sparsification preserving the Laplacian")
    assert r.hits[0].paper.id == "test:q1" and r.hits[0].dense_rank == 1


def test_background_indexing_thread(tmp_path, db_url):
    store, settings = make_store(tmp_path, 8, db_url)
    indexer = Indexer(store, settings)
    stop = threading.Event()
    thread = threading.Thread(target=indexer.run_background, args=(stop, 0.2), daemon=True)
    thread.start()
    try:
        store.papers.upsert(
            [
                new_paper(
                    "test:bg",
                    "Blorptastic cache eviction",
                    "Least-recently-used caches evict the entry that was touched longest ago.",
                )
            ]
        )
        engine = SearchEngine(store, settings)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            engine.reload()
            if engine._vectors is not None and len(engine._vectors) == 9:
                break
            time.sleep(0.2)
        r = engine.search("LRU replacement policy")  # no word in common: found by its embedding
        hit = next(h for h in r.hits if h.paper.id == "test:bg")
        assert r.mode == "hybrid" and hit.dense_rank == 1 and hit.lexical_rank is None
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_two_processes_indexing_at_once_leave_one_copy_of_each_paper(tmp_path, db_url):
    store, settings = make_store(tmp_path, 64, db_url)
    code = """
        import paperwire.search.indexer as ix
        ix.LEXICAL_BATCH = 5   # many small commits, so the two writers interleave
        print(Indexer(store, s).sync_lexical())
    """
    procs = [run_python(code, settings, wait=False) for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sum(int(o.strip().splitlines()[-1]) for o in outs) >= 64  # together they did all of it
    lex = LexicalIndex(Path(settings.index_dir) / "lexical")
    assert lex.num_papers() == 64 and lex.seq() == store.papers.max_seq()
    first = store.papers.get_many([1])[1]
    hits = lex.search(analyze(first.title), None, k=100)
    assert hits[0][0] == 1 and len({pk for pk, _ in hits}) == len(hits)  # no paper twice


def test_vector_index_switches_to_ivf_past_the_flat_limit(tmp_path, db_url, monkeypatch):
    from paperwire.search import vectors

    monkeypatch.setattr(vectors, "FLAT_MAX", 40)  # the real limit is 50k; same code path, small data
    store, settings = make_store(tmp_path, 64, db_url)
    indexer = Indexer(store, settings)
    indexer.sync()
    snap = latest_snapshot(vectors_dir(settings))
    engine = SearchEngine(store, settings)
    assert engine._vectors.kind == "ivf" and len(engine._vectors) == 64 and snap[0] == store.papers.max_seq()
    r = engine.search("privacy-preserving data release")
    assert r.hits[0].dense_rank == 1 and "Privacy" in r.hits[0].paper.title

    store.papers.upsert(
        [new_paper("test:ivf", "Wobbulated enzyme kinetics", "Michaelis-Menten kinetics of enzymes in crowded cells.")]
    )
    assert indexer.sync()["vectors"] == 1
    engine.reload()
    assert engine._vectors.kind == "ivf" and len(engine._vectors) == 65
    assert engine.search("how fast do enzymes catalyse reactions").hits[0].paper.id == "test:ivf"
    assert indexer.rebuild(progress=False)["vector_kind"] == "ivf"
