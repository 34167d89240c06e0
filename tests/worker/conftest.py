"""Fixtures for the worker: the stand-in WebUI, and the worker itself running in a thread."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
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
