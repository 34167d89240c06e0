"""The loop both load generators share: threads taking numbered requests, bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def drive(
    one: Callable[[int], bool], *, concurrency: int, requests: int, max_seconds: float
) -> dict[str, Any]:
    """Call `one(n)` for n in range(requests) from `concurrency` threads until done or timed out.

    `one` returns whether the request succeeded. Returns the count, errors, wall seconds and
    each request's latency in ms.
    """
    counter = iter(range(requests))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        nonlocal errors
        mine: list[float] = []
        failed = 0
        while time.monotonic() < deadline:
            with lock:
                number = next(counter, None)
            if number is None:
                break
            started = time.perf_counter()
            if not one(number):
                failed += 1
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)
            errors += failed

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": time.perf_counter() - started,
        "latencies_ms": latencies,
    }
