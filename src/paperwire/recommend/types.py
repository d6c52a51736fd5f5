"""What the recommender ranks: a paper reduced to the fields the model reads."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Doc:
    pk: int
    title: str
    abstract: str
    authors: list[str] = field(default_factory=list)
    vector: np.ndarray | None = None  # unit-norm float32 (384,) from the search index; None: not embedded yet


@dataclass
class Ranked:
    pk: int
    score: float
    because_pk: int | None  # the positive that explains it ("because you saved X"), None when none does
