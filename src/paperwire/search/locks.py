"""Cross-process locks for index writing (filelock), one per index, shared within a process.

One FileLock object per lock file and process: two objects on the same file in one process would
take two separate flock()s and could deadlock each other; a single object is re-entrant per thread.
"""

from __future__ import annotations

import threading
from pathlib import Path

from filelock import FileLock

_locks: dict[str, FileLock] = {}
_guard = threading.Lock()


def index_lock(index_dir: Path, name: str) -> FileLock:
    path = str(Path(index_dir) / f"{name}.lock")
    with _guard:
        lock = _locks.get(path)
        if lock is None:
            Path(index_dir).mkdir(parents=True, exist_ok=True)
            lock = _locks[path] = FileLock(path, thread_local=True)
        return lock
