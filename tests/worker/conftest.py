"""Fixtures for the worker: the stand-in WebUI, and the worker itself running in a thread."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from service.devtools.standin_webui import StandInWebUI
from service.settings import DEFAULT_ALLOWED_APIS, AwsSettings
from service.worker.runner import Worker
from service.worker.settings import WorkerSettings
from tests.conftest import REGION, Stack, build_stack

# Short timings, so retries and redeliveries happen within a test's seconds.
FAST = {"poll_seconds": 1, "visibility_seconds": 3, "retry_seconds": 0, "stop_grace_seconds": 5.0}

RunWorker = Callable[..., Any]


@pytest.fixture
def standin() -> Iterator[StandInWebUI]:
    """A stand-in WebUI on a free loopback port, counting the render calls it receives."""
    server = StandInWebUI(host="127.0.0.1", port=0).start()
    yield server
    server.stop()


@pytest.fixture
def limited_stack() -> Iterator[Stack]:
    """An in-process stack whose queue hands a message to the dead-letter queue after 2 receives."""
    with mock_aws():
        yield build_stack(None, max_receive_count=2)


@dataclass(kw_only=True)
class CannedWebUI:
    """A WebUI that answers every POST with the same raw bytes, then closes the connection."""

    url: str
    answer: bytes
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def http_answer(body: bytes, *, content_length: int | None = None) -> bytes:
    """A raw HTTP 200 carrying `body`, announcing `content_length` bytes (the body's by default)."""
    length = len(body) if content_length is None else content_length
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n"
    return head.encode() + b"\r\n" + body


@contextmanager
def canned_webui(answer: bytes) -> Iterator[CannedWebUI]:
    """Serve `answer` byte for byte (broken HTTP included) on a free loopback port."""
    canned: CannedWebUI

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            # Read the whole request, so that closing early is a clean end of the answer and
            # not a reset the client would see as an OSError.
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with canned.lock:
                canned.calls += 1
            self.close_connection = True
            # OSError: the client stopped reading (an over-long line): that was the point.
            with contextlib.suppress(OSError):
                self.wfile.write(canned.answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    canned = CannedWebUI(url=f"http://{host!s}:{port}", answer=answer)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="canned-webui")
    thread.start()
    try:
        yield canned
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def worker_settings(stack: Stack, webui_url: str, **overrides: Any) -> WorkerSettings:
    """Settings for a worker on `stack`, fast timings unless `overrides` say otherwise."""
    settings = WorkerSettings(
        table_name=stack.resources.table_name,
        queue_url=stack.queue_url,
        bucket=stack.resources.bucket_name,
        aws=AwsSettings(region=REGION, endpoint_url=stack.endpoint_url),
        allowed_apis=DEFAULT_ALLOWED_APIS,
        webui_url=webui_url,
        webui_timeout_seconds=10.0,
        **FAST,
    )
    return replace(settings, **overrides)


@contextmanager
def running_worker(stack: Stack, webui_url: str, **overrides: Any) -> Iterator[Worker]:
    """Run a worker on `stack` in a background thread; stop it and wait for it on the way out."""
    worker = Worker(settings=worker_settings(stack, webui_url, **overrides), clients=stack.clients)
    thread = threading.Thread(target=worker.run, name="test-worker", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the worker did not stop"


def status(stack: Stack, task_id: str) -> str:
    """A task's current status."""
    item = stack.item(task_id)
    assert item is not None
    return item["taskStatus"]["S"]


def queue_counts(stack: Stack, queue_url: str | None = None) -> tuple[int, int]:
    """(visible, in flight) messages on a queue, without receiving any."""
    attributes = stack.clients.sqs.get_queue_attributes(
        QueueUrl=queue_url or stack.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


@contextmanager
def worker_process(env: Mapping[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """Start `python -m service.worker`; kill it on the way out if a test left it running."""
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder, "worker.log")
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "service.worker"],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            yield process, log
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
