"""The shared job queue: jobs table behind the storage interface (storage/jobs.py), periodic jobs
fired once per period across all workers, and the worker loop. See docs/workers.md."""

from .queue import KINDS, backoff, enqueue, parse_kinds
from .worker import Worker, start_worker_thread

__all__ = ["KINDS", "Worker", "backoff", "enqueue", "parse_kinds", "start_worker_thread"]
