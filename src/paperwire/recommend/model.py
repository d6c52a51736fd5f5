"""The "for you" ranking model: score candidate papers for one reader, per request.

The reader's positives (saved / upvoted papers, of one tag or all of them) are contrasted with their
"not relevant" papers and a background sample of other recent papers (implicit negatives, like
arxiv-sanity's "all others"). Three scores, each standardised over the candidates, are added:

1. text: a LinearSVC over hashed 1-2 grams of title + abstract (arxiv-sanity's recipe: sublinear
   tf, IDF, L2 rows; the IDF comes from the candidates) plus one token per full author name
   (readers follow people; weight 0.3 of a words row so a shared co-author does not drown the topic);
2. embedding: a LinearSVC over the papers' all-MiniLM-L6-v2 vectors (the search index's);
3. nearest positive: the best cosine between the candidate and any one positive, minus how much
   nearer it is to a "not relevant" paper, which keeps a reader's smaller interests in the feed.

Nothing is fit on the corpus: words are hashed, rows are cached per paper (features.py), and the
candidates' matrix is kept for the next reader. Weights and the benchmark that chose them:
docs/recommend.md, bench/foryou.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.svm import LinearSVC

from paperwire.recommend import features as F
from paperwire.recommend.types import Doc, Ranked


@dataclass(frozen=True)
class Params:
    """Weights of the model, chosen on the tune split of bench/foryou.py (docs/recommend.md).
    A weight of 0 drops that part (the benchmark's ablations)."""

    w_words: float = 1.0  # the words block of the text classifier
    w_authors: float = 0.3  # the authors block, relative to an L2-normalised words row
    c_text: float = 1.0  # LinearSVC C of the text classifier (class_weight="balanced")
    vector: float = 1.0  # weight of the embedding classifier's (standardised) score
    c_vector: float = 1.0  # its LinearSVC C
    knn: float = 0.5  # weight of the nearest-positive cosine (standardised)
    negative_weight: float = 3.0  # an explicit "not relevant" counts as this many background papers
    negative_knn: float = 1.0  # how much being nearer to a "not relevant" paper than to any positive costs


DEFAULT = Params()


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - float(x.mean())) / sd if sd > 1e-12 else np.zeros_like(x)


def _fill_missing(score: np.ndarray, has: np.ndarray) -> np.ndarray:
    """A candidate without a vector gets the average of the others: neither pushed up nor down."""
    return np.where(has, score, float(score[has].mean()))


def _max_sim(a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """For each row of a: the best cosine with a row of b and which row (b non-empty)."""
    best = np.empty(len(a), dtype=np.float32)
    arg = np.empty(len(a), dtype=np.int64)
    for s in range(0, len(a), chunk):
        sims = a[s : s + chunk] @ b.T
        arg[s : s + chunk] = sims.argmax(1)
        best[s : s + chunk] = sims[np.arange(len(sims)), arg[s : s + chunk]]
    return best, arg


class ForYouModel:
    def __init__(self, params: Params = DEFAULT):
        self.p = params

    def scores(
        self, positives: list[Doc], negatives: list[Doc], candidates: list[Doc], background: list[Doc] | None = None
    ) -> np.ndarray:
        """A score per candidate (higher: better); the caller drops positives and negatives."""
        p = self.p
        positives = list({d.pk: d for d in positives}.values())  # each paper once; a paper both
        pos_pks = {d.pk for d in positives}  # saved and "not relevant" counts
        negatives = [d for d in {d.pk: d for d in negatives}.values() if d.pk not in pos_pks]  # as saved
        neg_pks = {d.pk for d in negatives}
        background = [d for d in background or [] if d.pk not in pos_pks and d.pk not in neg_pks]
        train = positives + negatives + background
        n_pos, n_neg = len(positives), len(negatives)
        contrast = len(train) > n_pos
        y = np.r_[np.ones(n_pos), np.zeros(len(train) - n_pos)]
        sample_w = np.ones(len(train))
        sample_w[n_pos : n_pos + n_neg] = p.negative_weight
        space = F.candidate_space(candidates)
        total = np.zeros(len(candidates), dtype=np.float64)

        if p.w_words or p.w_authors:
            # block weights scale the training columns; the candidates' rows stay as cached and
            # the same weights go on the coefficients instead
            colw = np.concatenate(
                [np.full(F.WORD_FEATURES, p.w_words, np.float32), np.full(F.AUTHOR_FEATURES, p.w_authors, np.float32)]
            )
            x_t = F.tfidf(F.matrix(train), space.idf)
            x_t.data *= colw[x_t.indices]
            if contrast:
                clf = LinearSVC(C=p.c_text, class_weight="balanced", max_iter=10_000)
                clf.fit(x_t, y, sample_weight=sample_w)
                coef = clf.coef_.ravel()
            else:  # nothing to contrast with: closeness to the positives' centroid
                coef = np.asarray(x_t[:n_pos].mean(0)).ravel()
            total += _zscore(space.x @ (coef * colw))

        vec_t, has_t = F.vector_matrix(train, space.vectors.shape[1])
        has_c = space.has_vector
        pos_vecs = vec_t[:n_pos][has_t[:n_pos]]
        if len(pos_vecs) and has_c.any():
            if p.vector:
                if contrast and has_t[n_pos:].any():  # trained on the papers that have a vector
                    clf = LinearSVC(C=p.c_vector, class_weight="balanced", max_iter=10_000)
                    clf.fit(vec_t[has_t], y[has_t], sample_weight=sample_w[has_t])
                    s_vec = space.vectors @ clf.coef_.ravel().astype(np.float32)
                else:
                    s_vec = space.vectors @ pos_vecs.mean(0)
                total += p.vector * _zscore(_fill_missing(s_vec, has_c))
            if p.knn:
                near, _ = _max_sim(space.vectors, pos_vecs)
                neg_has = has_t[n_pos : n_pos + n_neg]
                if p.negative_knn and neg_has.any():
                    near_neg, _ = _max_sim(space.vectors, vec_t[n_pos : n_pos + n_neg][neg_has])
                    near = near - p.negative_knn * np.maximum(near_neg - near, 0.0)
                total += p.knn * _zscore(_fill_missing(near, has_c))
        return total

    def rank(
        self,
        positives: list[Doc],
        negatives: list[Doc],
        candidates: list[Doc],
        *,
        k: int = 50,
        background: list[Doc] | None = None,
    ) -> list[Ranked]:
        if not positives or k <= 0:
            return []
        exclude = {d.pk for d in positives} | {d.pk for d in negatives}
        seen: set[int] = set()
        cands = []
        for c in candidates:
            if c.pk not in exclude and c.pk not in seen:
                seen.add(c.pk)
                cands.append(c)
        if not cands:
            return []
        s = self.scores(positives, negatives, cands, background)
        top = np.argsort(-s, kind="stable")[:k]
        chosen = [cands[i] for i in top]
        because = explain(positives, chosen)
        return [Ranked(c.pk, float(s[i]), b) for c, i, b in zip(chosen, top, because, strict=True)]


def explain(positives: list[Doc], chosen: list[Doc]) -> list[int | None]:
    """For each chosen paper, the positive most like it: best cosine of vectors; where the paper or
    every positive lacks a vector, the most shared words (IDF-weighted), None if none is shared."""
    if not chosen or not positives:
        return [None] * len(chosen)
    out: list[int | None] = [None] * len(chosen)
    pos_vec, pos_has = F.vector_matrix(positives)
    c_vec, c_has = F.vector_matrix(chosen, pos_vec.shape[1])
    by_vec = c_has & bool(pos_has.any()) if pos_vec.shape[1] else np.zeros(len(chosen), bool)
    if by_vec.any():
        idx = np.flatnonzero(pos_has)
        _, arg = _max_sim(c_vec[by_vec], pos_vec[pos_has])
        for j, a in zip(np.flatnonzero(by_vec), arg, strict=True):
            out[j] = positives[idx[a]].pk
    rest = np.flatnonzero(~by_vec)
    if len(rest):
        raw_p = F.matrix(positives)
        raw_c = F.matrix([chosen[j] for j in rest])
        idf = F.idf(sp.vstack([raw_p, raw_c], format="csr"))
        words = np.r_[np.ones(F.WORD_FEATURES, np.float32), np.zeros(F.AUTHOR_FEATURES, np.float32)]
        sims = (F.tfidf(raw_c, idf) @ (F.tfidf(raw_p, idf).multiply(words[None, :])).T).toarray()
        for j, row in zip(rest, sims, strict=True):
            if row.max() > 0:
                out[j] = positives[int(row.argmax())].pk
    return out


def rank_for(
    positives: list[Doc],
    negatives: list[Doc],
    candidates: list[Doc],
    *,
    k: int = 50,
    background: list[Doc] | None = None,
) -> list[Ranked]:
    """The ``k`` best candidates for a reader, best first, each with the positive that explains it.

    positives: the reader's saved / upvoted papers (of one tag, or all of them for the merged feed);
    negatives: papers they marked "not relevant"; background: a sample of other recent papers,
    used as implicit negatives. Positives and negatives are never returned. Docs may lack vectors.
    """
    return ForYouModel().rank(positives, negatives, candidates, k=k, background=background)
