"""HTTP load generator, run as its own process, with one keep-alive connection per thread.

`python -m bench.load URL METHOD CONCURRENCY REQUESTS MAX_SECONDS DATA_FILE` prints JSON. POST
sends DATA_FILE as the body every time; GET cycles through the task ids listed in DATA_FILE.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.drive import drive


def run(
    url: str, method: str, concurrency: int, requests: int, max_seconds: float, data_file: str
) -> dict[str, Any]:
    """Drive the service's /task with `method` requests."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    data = Path(data_file).read_text()
    ids = data.split()
    local = threading.local()

    def one(number: int) -> bool:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection(host, port, timeout=30)
        if method == "GET":
            local.connection.request("GET", f"/task?taskId={ids[number % len(ids)]}")
        else:
            local.connection.request(
                "POST", "/task", body=data, headers={"Content-Type": "application/json"}
            )
        response = local.connection.getresponse()
        response.read()
        return bool(response.status < 300)

    return drive(one, concurrency=concurrency, requests=requests, max_seconds=max_seconds)


if __name__ == "__main__":
    url, method, concurrency, count, seconds, data_file = sys.argv[1:7]
    print(json.dumps(run(url, method, int(concurrency), int(count), float(seconds), data_file)))
