"""The demo corpus shipped in paperwire/data: the seed page and a sample of real arXiv listings."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .sources.base import IngestReport
from .sources.jsonl import JsonlSource
from .sources.runner import run_ingest
from .storage import Store

DEMO_FILES = ("arxiv_daily_sample.jsonl.gz", "seed_papers.jsonl")


def demo_paths() -> list[Path]:
    base = resources.files("paperwire").joinpath("data")
    return [Path(str(base.joinpath(name))) for name in DEMO_FILES]


def load_demo(store: Store, *, progress: bool = True) -> list[IngestReport]:
    """Ingest the demo corpus (idempotent: papers already there are left as they are)."""
    return [run_ingest(store, JsonlSource(path, id_prefix="demo"), progress=progress) for path in demo_paths()]
