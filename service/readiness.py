"""Readiness: are the table and the queue reachable? Cached so probes do not hammer AWS."""

from __future__ import annotations

import threading
import time

from service.errors import AwsUnavailable
from service.queue import TaskQueue
from service.store import TaskStore


class Readiness:
    """Checks the table and the queue at most once per `cache_seconds` per process."""

    def __init__(self, *, store: TaskStore, queue: TaskQueue, cache_seconds: float) -> None:
        self._store = store
        self._queue = queue
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._checked_at = -float("inf")
        self._failure: AwsUnavailable | None = None

    def check(self) -> None:
        """Return when ready; raise AwsUnavailable (the cached one, if recent) when not."""
        with self._lock:
            if time.monotonic() - self._checked_at >= self._cache_seconds:
                try:
                    self._store.check_reachable()
                    self._queue.check_reachable()
                    self._failure = None
                except AwsUnavailable as exc:
                    self._failure = exc
                self._checked_at = time.monotonic()
            if self._failure is not None:
                raise self._failure
