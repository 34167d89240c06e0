"""Helpers for the container tests: the Docker command lines, ports, polling, the skip rule."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_LABEL = "sd-task-service.container-test=1"
PROJECT_IMAGE = "sd-task-service:container-test"
# Generous, so a cold machine (empty layer cache, slow mirror) finishes; warm builds take seconds.
BUILD_TIMEOUT_SECONDS = 900
# pytest-timeout counts fixture set-up: the first test pays for dockerd, the base image and builds.
CONTAINER_TEST_TIMEOUT_SECONDS = 1800


SKIP_PREFIX = "container tests need a Docker engine: "
SKIP_SUFFIX = " (SD_REQUIRE_DOCKER=1 makes this a failure)"


def unavailable(reason: str) -> None:
    """Skip (or, under SD_REQUIRE_DOCKER=1, fail) with one line saying why."""
    if os.environ.get("SD_REQUIRE_DOCKER") == "1":
        pytest.fail(f"SD_REQUIRE_DOCKER=1 but no Docker engine: {reason}", pytrace=False)
    pytest.skip(f"{SKIP_PREFIX}{reason}{SKIP_SUFFIX}")


def wait_for_http(
    url: str, *, deadline_seconds: float, alive: Callable[[], bool] | None = None
) -> None:
    """Poll `url` until it answers 2xx, the deadline passes, or `alive()` says the server died."""
    deadline = time.monotonic() + deadline_seconds
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise AssertionError(f"server behind {url} exited before it answered ({last_error})")
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if 200 <= response.status < 300:
                    return
                last_error = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            last_error = str(exc)
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {deadline_seconds:.0f} s: {last_error}")


@dataclass
class Docker:
    """The docker and compose command lines, with the environment that points them at the engine."""

    env: dict[str, str]
    compose: list[str] = field(default_factory=list)

    def run(
        self,
        *args: str,
        timeout: float = 120,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `docker ARGS`; on failure the error carries the command's output."""
        return self._run(["docker", *args], timeout=timeout, check=check, env=env)

    def compose_run(
        self,
        *args: str,
        timeout: float = 300,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the compose binary this engine was paired with."""
        return self._run([*self.compose, *args], timeout=timeout, check=check, env=env)

    def _run(
        self, command: Sequence[str], *, timeout: float, check: bool, env: dict[str, str] | None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            list(command),
            env={**self.env, **(env or {})},
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"`{' '.join(command)}` exited {result.returncode}:\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def inspect(self, name: str) -> dict[str, object]:
        """Return `docker inspect` of one container or image as a dict."""
        return dict(json.loads(self.run("inspect", name).stdout)[0])
