"""The "for you" ranking model (paperwire.recommend.model.rank_for) on real papers and real vectors:
the 3,000 arXiv listings shipped with the demo and their all-MiniLM-L6-v2 embeddings."""

from __future__ import annotations

import gzip
import json
import random
from importlib import resources
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from paperwire.recommend import features as F
from paperwire.recommend.model import rank_for
from paperwire.recommend.types import Doc

DATA = Path(str(resources.files("paperwire").joinpath("data")))

SPLAT = ("gaussian splatting", "3dgs", "splatting")
JAILBREAK = ("jailbreak",)
# what counts as on topic for a reader of jailbreak papers: attacks on models and their safety
ATTACKS = ("jailbreak", "adversarial", "attack", "red-team", "red teaming", "harmful", "unsafe")


@pytest.fixture(scope="module")
def corpus() -> list[Doc]:
    vec = np.load(DATA / "demo_vectors.npz")
    by_id = {str(i): v.astype(np.float32) for i, v in zip(vec["ids"], vec["vectors"], strict=True)}
    docs = []
    with gzip.open(DATA / "arxiv_daily_sample.jsonl.gz", "rt", encoding="utf-8") as f:
        for pk, line in enumerate(f):
            r = json.loads(line)
            v = by_id.get(r["id"])
            docs.append(
                Doc(pk, r["title"], r["summary"], list(r["authors"]), None if v is None else v / np.linalg.norm(v))
            )
    assert len(docs) == 3000 and sum(d.vector is not None for d in docs) == 3000
    return docs


def about(doc: Doc, words) -> bool:
    text = f"{doc.title} {doc.abstract}".lower()
    return any(w in text for w in words)


def without(docs, *groups):
    drop = {d.pk for g in groups for d in g}
    return [d for d in docs if d.pk not in drop]


def split(corpus, words, n_pos, seed=0):
    """n_pos papers about ``words`` as positives; the rest of the corpus as candidates."""
    rng = random.Random(seed)
    on_topic = [d for d in corpus if about(d, words)]
    positives = rng.sample(on_topic, n_pos)
    return positives, without(corpus, positives)


def background_of(corpus, exclude, n=600, seed=1):
    rng = random.Random(seed)
    return rng.sample(without(corpus, exclude), n)


def top_share(ranked, by_pk, words, n=20) -> float:
    return sum(about(by_pk[r.pk], words) for r in ranked[:n]) / n


@pytest.mark.parametrize("pick, topic", [(SPLAT, SPLAT), (JAILBREAK, ATTACKS)])
def test_a_reader_gets_their_topic_first(corpus, pick, topic):
    by_pk = {d.pk: d for d in corpus}
    positives, candidates = split(corpus, pick, 4)
    base_rate = sum(about(d, topic) for d in candidates) / len(candidates)
    assert base_rate < 0.06  # a rare topic: ranking it first is not luck
    ranked = rank_for(positives, [], candidates, k=20, background=background_of(corpus, positives))
    assert len(ranked) == 20
    assert top_share(ranked, by_pk, topic) >= 0.7


def test_two_readers_two_feeds(corpus):
    pos_a, _ = split(corpus, SPLAT, 4)
    pos_b, _ = split(corpus, JAILBREAK, 4)
    by_pk = {d.pk: d for d in corpus}
    cands = without(corpus, pos_a, pos_b)
    bg = background_of(corpus, pos_a + pos_b)
    a = rank_for(pos_a, [], cands, k=20, background=bg)
    b = rank_for(pos_b, [], cands, k=20, background=bg)
    assert top_share(a, by_pk, SPLAT) >= 0.7 > top_share(a, by_pk, ATTACKS)
    assert top_share(b, by_pk, ATTACKS) >= 0.7 > top_share(b, by_pk, SPLAT)


def test_not_relevant_pushes_similar_papers_down(corpus):
    """A reader with two interests marks some jailbreak papers "not relevant": fewer of those come up."""
    by_pk = {d.pk: d for d in corpus}
    pos_s, _ = split(corpus, SPLAT, 3)
    pos_j, _ = split(corpus, JAILBREAK, 3)
    positives = pos_s + pos_j
    jail_rest = [d for d in without(corpus, positives) if about(d, JAILBREAK)]
    negatives = random.Random(3).sample(jail_rest, 6)
    cands = without(corpus, positives, negatives)
    bg = background_of(corpus, positives + negatives)
    before = rank_for(positives, [], cands, k=30, background=bg)
    after = rank_for(positives, negatives, cands, k=30, background=bg)
    assert top_share(after, by_pk, ATTACKS, 30) < top_share(before, by_pk, ATTACKS, 30)
    assert top_share(after, by_pk, SPLAT, 30) >= top_share(before, by_pk, SPLAT, 30)


def test_because_is_the_most_similar_positive(corpus):
    positives = split(corpus, SPLAT, 2)[0] + split(corpus, JAILBREAK, 2)[0]
    cands = without(corpus, positives)
    ranked = rank_for(positives, [], cands, k=30, background=background_of(corpus, positives))
    pos_m = np.stack([p.vector for p in positives])
    by_pk = {d.pk: d for d in corpus}
    for r in ranked:
        expected = positives[int(np.argmax(pos_m @ by_pk[r.pk].vector))].pk
        assert r.because_pk == expected
    assert len({r.because_pk for r in ranked}) >= 2  # both interests are explained


def test_k_and_never_a_positive_or_negative(corpus):
    positives, cands = split(corpus, SPLAT, 3)
    negatives = cands[:5]
    # positives and negatives among the candidates, and a duplicated candidate
    candidates = positives + negatives + cands[5:400] + cands[5:10]
    for k in (1, 7, 50):
        ranked = rank_for(positives, negatives, candidates, k=k, background=cands[400:900])
        assert len(ranked) == k
        pks = [r.pk for r in ranked]
        assert len(set(pks)) == k
        assert not set(pks) & {d.pk for d in positives + negatives}
        assert all(a.score >= b.score for a, b in pairwise(ranked))
    assert rank_for([], [], candidates) == []
    assert rank_for(positives, [], positives) == []
    assert len(rank_for(positives, [], cands[:3], k=50)) == 3


def test_one_positive_no_negatives_no_background(corpus):
    by_pk = {d.pk: d for d in corpus}
    positives, cands = split(corpus, SPLAT, 1)
    ranked = rank_for(positives, [], cands, k=10)
    assert len(ranked) == 10
    assert all(r.because_pk == positives[0].pk for r in ranked)
    assert top_share(ranked, by_pk, SPLAT, 10) >= 0.5


def strip(d: Doc) -> Doc:
    return Doc(d.pk, d.title, d.abstract, d.authors, None)


def test_missing_vectors(corpus):
    by_pk = {d.pk: d for d in corpus}
    positives, cands = split(corpus, SPLAT, 4)
    # half the candidates not embedded yet, one positive too
    cands = [strip(d) if i % 2 else d for i, d in enumerate(cands)]
    positives = [strip(positives[0])] + positives[1:]
    ranked = rank_for(positives, [], cands, k=20, background=background_of(corpus, positives))
    assert len(ranked) == 20
    assert top_share(ranked, by_pk, SPLAT) >= 0.6
    assert any(by_pk[r.pk].vector is not None for r in ranked)
    for r in ranked:
        assert r.because_pk in {p.pk for p in positives}
    # a candidate without a vector is explained by shared words
    unembedded = [r for r in ranked if next(c for c in cands if c.pk == r.pk).vector is None]
    assert unembedded


def test_no_vectors_at_all_ranks_by_words(corpus):
    by_pk = {d.pk: d for d in corpus}
    positives, cands = split(corpus, JAILBREAK, 4)
    positives = [strip(d) for d in positives]
    cands = [strip(d) for d in cands]
    bg = [strip(d) for d in background_of(corpus, positives)]
    ranked = rank_for(positives, [], cands, k=20, background=bg)
    assert sum(about(d, ATTACKS) for d in cands) / len(cands) < 0.06
    assert top_share(ranked, by_pk, ATTACKS) >= 0.4
    assert all(r.because_pk in {p.pk for p in positives} for r in ranked)
    # the word explanation picks the positive sharing the most (weighted) words, e.g. the paper itself
    twin = Doc(10_000, positives[2].title, positives[2].abstract, [], None)
    (only,) = rank_for(positives, [], [twin] + cands[:50], k=1)
    assert only.pk == twin.pk and only.because_pk == positives[2].pk


def test_unrelated_candidate_has_no_word_explanation():
    pos = [Doc(1, "Quantum error correction codes", "Surface codes and logical qubits.", ["A B"])]
    cand = [Doc(2, "Bread baking", "Sourdough fermentation.", ["C D"])]
    (r,) = rank_for(pos, [], cand, k=5)
    assert r.pk == 2 and r.because_pk is None


def test_authors_are_a_signal(corpus):
    """A reader who saved three papers of one author finds that author's fourth paper near the top,
    and higher than when author names are hidden from the model."""
    from collections import Counter

    counts = Counter(a for d in corpus for a in d.authors)
    author = next(a for a, n in counts.most_common() if n >= 4)
    theirs = [d for d in corpus if author in d.authors]
    positives, held_out = theirs[:3], theirs[3]
    others = without(corpus, theirs)
    cands = others[:1500] + [held_out]
    bg = others[1500:2100]
    ranked = rank_for(positives, [], cands, k=len(cands), background=bg)
    rank = [r.pk for r in ranked].index(held_out.pk)
    assert rank < 5

    def anon(docs):
        return [Doc(d.pk, d.title, d.abstract, [], d.vector) for d in docs]

    blind = rank_for(anon(positives), [], anon(cands), k=len(cands), background=anon(bg))
    assert [r.pk for r in blind].index(held_out.pk) >= rank


def test_changed_text_is_featurised_again(corpus):
    """The per-paper feature cache follows a new version of a paper (same pk, new text)."""
    positives, cands = split(corpus, SPLAT, 3)
    cands = cands[:300]
    target = cands[-1]
    assert not about(target, SPLAT)
    first = rank_for(positives, [], cands, k=300, background=corpus[2000:2500])
    before = [r.pk for r in first].index(target.pk)
    new = Doc(target.pk, "Gaussian splatting for dynamic scenes", positives[0].abstract, target.authors, None)
    second = rank_for(positives, [], cands[:-1] + [new], k=300, background=corpus[2000:2500])
    assert [r.pk for r in second].index(target.pk) < before
    F.clear_cache()


def test_a_readers_candidates_reuse_the_shared_pool(corpus):
    """Readers rank the same recent papers less their own saved ones: the second reader's request
    takes its rows from the first one's (kept) candidates and ranks as a fresh computation does."""
    pool = corpus[:2500]
    positives = split(corpus, SPLAT, 3)[0]
    bg = corpus[2500:3000]
    F.clear_cache()
    rank_for(split(corpus, JAILBREAK, 3)[0], [], pool, k=10, background=bg)  # another reader first
    mine = without(pool, positives)
    reused = rank_for(positives, [], mine, k=20, background=bg)
    assert len(F._spaces) == 1  # served from the first reader's candidates
    F.clear_cache()
    fresh = rank_for(positives, [], mine, k=20, background=bg)
    assert len(set(r.pk for r in reused[:10]) & set(r.pk for r in fresh[:10])) >= 9
    F.clear_cache()


def test_repeated_and_contradictory_inputs(corpus):
    """A positive listed twice, or also marked "not relevant", counts once, as a positive."""
    positives, cands = split(corpus, SPLAT, 3)
    bg = background_of(corpus, positives)
    plain = rank_for(positives, [], cands[:800], k=10, background=bg)
    messy = rank_for(positives + positives[:1], [positives[0]], cands[:800], k=10, background=bg + positives[:1])
    assert [r.pk for r in messy] == [r.pk for r in plain]
