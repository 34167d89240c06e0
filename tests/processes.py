"""Real processes for tests that cross HTTP: the API under gunicorn, with its output kept."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port

START_TIMEOUT_SECONDS = 30
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf"]


@dataclass(frozen=True, kw_only=True)
class RunningApi:
    """A gunicorn serving the app, and where its output goes."""

    url: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path


def wait_for(condition: object, *, timeout: float, what: str) -> None:
    """Poll `condition()` until it is true, or fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def gunicorn_api(env: Mapping[str, str]) -> Iterator[RunningApi]:
    """Serve the app under gunicorn with the project's config on a free loopback port."""
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        stdout, stderr = Path(folder, "stdout"), Path(folder, "stderr")
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(
                [*GUNICORN, "service.wsgi:app"],
                env={**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(port)},
                stdout=out,
                stderr=err,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(
                lambda: _healthy(url) or process.poll() is not None,
                timeout=START_TIMEOUT_SECONDS,
                what="gunicorn to serve /healthz",
            )
            assert process.poll() is None, stderr.read_text()
            yield RunningApi(url=url, process=process, stdout=stdout, stderr=stderr)
        finally:
            process.terminate()
            process.wait(timeout=30)
