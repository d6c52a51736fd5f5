"""The plain-language query set over the 64 seed papers (bench/data/plain_queries.jsonl).

Shared by the relevance benchmark and the alert-threshold calibration: both read the queries, their
graded papers and the papers themselves from here, so the two agree on what "relevant" means.

    from plain_queries import load_queries, seed_papers
    for q in load_queries("train"):
        q.query, q.grades            # grades: {seed rank: 1 | 2}; a rank not listed is 0
    for rank, paper in seed_papers():  # paperwire Paper objects with the demo's own ids
        ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

QUERIES_FILE = Path(__file__).resolve().parent / "data" / "plain_queries.jsonl"
SPLITS = ("train", "test")
SEED_SIZE = 64


@dataclass(frozen=True)
class PlainQuery:
    qid: str
    split: str  # "train" (may be tuned on) | "test" (never tuned on)
    query: str
    grades: dict[int, int]  # seed rank -> 1 (partly relevant) | 2 (relevant); unlisted ranks are 0

    @property
    def relevant(self) -> set[int]:
        return {r for r, g in self.grades.items() if g > 0}


def load_queries(split: str | None = None, path: Path = QUERIES_FILE) -> list[PlainQuery]:
    """The queries of one split (None: all), in file order; a malformed line is an error naming it."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    out = []
    seen = set()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                grades = {int(r): int(g) for r, g in d["grades"].items()}
                q = PlainQuery(str(d["qid"]), str(d["split"]), str(d["query"]), grades)
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                raise ValueError(f"{path.name} line {n}: {e}") from e
            if q.split not in SPLITS or q.qid in seen or not q.query.strip():
                raise ValueError(f"{path.name} line {n}: bad split, empty query or repeated qid")
            if any(not 1 <= r <= SEED_SIZE or g not in (0, 1, 2) for r, g in grades.items()):
                raise ValueError(f"{path.name} line {n}: grades must map ranks 1..{SEED_SIZE} to 0..2")
            seen.add(q.qid)
            if split is None or q.split == split:
                out.append(q)
    return out


def seed_papers() -> list[tuple[int, object]]:
    """(rank, Paper) for the 64 seed papers, with the ids the demo gives them."""
    from paperwire.sources.jsonl import jsonl_record_to_paper

    path = resources.files("paperwire").joinpath("data").joinpath("seed_papers.jsonl")
    out = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                out.append((int(d["rank"]), jsonl_record_to_paper(d, id_prefix="demo")))
    return out
