"""Fixtures for end-to-end tests: a stack whose images a plain HTTP GET can fetch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.bootstrap import allow_public_read
from service.devtools.standin_webui import StandInWebUI
from tests.conftest import Stack, build_stack


@pytest.fixture
def public_stack(moto_endpoint: str) -> Stack:
    """Resources on moto's HTTP server, the bucket readable without signing as on `make run`."""
    stack = build_stack(moto_endpoint)
    allow_public_read(stack.clients, stack.resources.bucket_name)
    return stack


@pytest.fixture
def standin() -> Iterator[StandInWebUI]:
    """A stand-in WebUI on a free loopback port."""
    server = StandInWebUI(host="127.0.0.1", port=0).start()
    yield server
    server.stop()
