"""The application factory each web worker process calls (``paperwire serve --workers N``).

uvicorn starts N worker processes (spawned, not forked: each loads its own copy of the search
indexes, read-only) and imports this module in each; ``worker_app`` builds the site from the
PAPERWIRE_* environment the parent set. Workers never index or send mail: the parent process
does that once (``serve``), writing index snapshots that every worker's SearchEngine picks up
by itself (``SearchEngine.reload``: a stat per second, the new file loaded on change).
"""

from __future__ import annotations

from ..config import load_settings
from .app import create_app


def worker_app():
    return create_app(load_settings(), background=False)
