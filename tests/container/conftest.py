"""Fixtures for the real container tests: a Docker engine, a base image and the project's image.

The engine is the one already reachable (DOCKER_HOST or the default socket) or, as root, a private
`dockerd` started here with its own socket and exec root, `--bridge=none --iptables=false`, and its
data root in a cache folder so the base image and the layer cache survive between runs. Every
container uses the host's network and binds only to 127.0.0.1.

Where no engine can be had, every test that needs one skips with one line saying why;
SD_REQUIRE_DOCKER=1 (set by .ci/run) turns that skip into a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.container.baseimage import CACHE_DIR, ensure_base_image
from tests.container.harness import (
    BUILD_TIMEOUT_SECONDS,
    PROJECT_IMAGE,
    REPO_ROOT,
    SKIP_PREFIX,
    SKIP_SUFFIX,
    TEST_LABEL,
    Docker,
    unavailable,
)


def _reachable(env: dict[str, str]) -> bool:
    try:
        result = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            env=env,
            capture_output=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _compose_command(env: dict[str, str]) -> list[str]:
    """Prefer the Compose v2 plugin when the docker CLI has it, else Debian's docker-compose."""
    if os.environ.get("SD_COMPOSE"):
        return os.environ["SD_COMPOSE"].split()
    probe = subprocess.run(
        ["docker", "compose", "version"], env=env, capture_output=True, check=False, timeout=20
    )
    if probe.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return []


def _unmount_under(folder: Path) -> None:
    """Unmount what dockerd left mounted below `folder` (it keeps netns/default bound)."""
    mount_points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mount_point = line.split()[4].replace("\\040", " ")
        if mount_point == str(folder) or mount_point.startswith(f"{folder}/"):
            mount_points.append(mount_point)
    for mount_point in sorted(mount_points, key=len, reverse=True):
        subprocess.run(["umount", "--lazy", mount_point], capture_output=True, check=False)


@contextlib.contextmanager
def _private_dockerd(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Start dockerd with its own socket and exec root; stop it and remove them afterwards."""
    # Short path: the exec root holds containerd's socket, and unix socket paths are limited.
    run_dir = Path(tempfile.mkdtemp(prefix="sdd-", dir="/tmp"))
    data_root = CACHE_DIR / "docker"
    data_root.mkdir(parents=True, exist_ok=True)
    socket_path = run_dir / "docker.sock"
    log_path = run_dir / "dockerd.log"
    engine_env = {**env, "DOCKER_HOST": f"unix://{socket_path}"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                "dockerd",
                f"--data-root={data_root}",
                f"--exec-root={run_dir / 'exec'}",
                f"--pidfile={run_dir / 'dockerd.pid'}",
                f"--host=unix://{socket_path}",
                "--bridge=none",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-masq=false",
                "--ip-forward=false",
                "--userland-proxy=false",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not _reachable(engine_env):
            if process.poll() is not None or time.monotonic() > deadline:
                lines = log_path.read_text(errors="replace").strip().splitlines()
                last = lines[-1] if lines else "no output"
                unavailable(f"dockerd did not start (exit {process.poll()}): {last[-300:]}")
            time.sleep(0.5)
        yield engine_env
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        _unmount_under(run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)


def _why_no_engine() -> str | None:
    """Say why no engine can be had here, without starting one; None when one can."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed (.ci/docker-setup.sh installs it)"
    if _reachable({**os.environ}):
        return None
    if os.geteuid() != 0:
        return "none is reachable and starting dockerd needs root"
    if shutil.which("dockerd") is None:
        return "none is reachable and dockerd is not installed (.ci/docker-setup.sh)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that need an engine skipped when none can be had: one line in the summary.

    A skip raised by the session fixture would print one line per test; a skip mark folds into
    one line per module. Under SD_REQUIRE_DOCKER=1 nothing is marked and the fixture fails.
    """
    here = Path(__file__).parent
    needing = [
        item
        for item in items
        if "docker" in getattr(item, "fixturenames", ()) and item.path.is_relative_to(here)
    ]
    if not needing or os.environ.get("SD_REQUIRE_DOCKER") == "1":
        return
    reason = _why_no_engine()
    if reason is not None:
        mark = pytest.mark.skip(reason=f"{SKIP_PREFIX}{reason}{SKIP_SUFFIX}")
        for item in needing:
            item.add_marker(mark)


def _remove_test_containers(engine: Docker) -> None:
    """Remove every container these tests made (the compose override labels its services too)."""
    found = engine.run("ps", "-aq", "--filter", f"label={TEST_LABEL}", check=False).stdout.split()
    if found:
        engine.run("rm", "-f", "--volumes", *found, check=False)


@pytest.fixture(scope="session")
def docker() -> Iterator[Docker]:
    """A reachable Docker engine (started here if need be) and a compose command for it."""
    reason = _why_no_engine()
    if reason is not None:
        unavailable(reason)
    # The legacy builder: no buildx plugin needed, and `--network host` needs no entitlement.
    env = {**os.environ, "DOCKER_BUILDKIT": "0", "COMPOSE_DOCKER_CLI_BUILD": "0"}
    with contextlib.ExitStack() as stack:
        if not _reachable(env):
            env = stack.enter_context(_private_dockerd(env))
        engine = Docker(env=env, compose=_compose_command(env))
        _remove_test_containers(engine)  # left by a run that was killed
        try:
            yield engine
        finally:
            _remove_test_containers(engine)
            # Keep tagged images (the cache); drop the untagged layers that rebuilds leave behind.
            engine.run("image", "prune", "-f", check=False, timeout=300)


@pytest.fixture(scope="session")
def base_image(docker: Docker) -> str:
    """SD_BASE_IMAGE, else a debootstrapped bookworm (as root), else the official slim image."""
    if os.environ.get("SD_BASE_IMAGE"):
        return os.environ["SD_BASE_IMAGE"]
    if os.geteuid() == 0 and shutil.which("debootstrap"):
        try:
            return ensure_base_image(["docker"], docker.env)
        except subprocess.CalledProcessError as exc:
            output = (exc.stderr or b"").decode(errors="replace")[-2000:]
            raise AssertionError(f"making the local base image failed: {exc}\n{output}") from exc
    # A machine with a registry (a laptop with Docker but without root) pulls the official image.
    return "python:3.12-slim"


def _pip_index_settings() -> dict[str, str]:
    """The host's package index settings, as build args, so builds use the same index as pip here.

    Only http(s) URLs travel: a file:// index on the host does not exist inside a build.
    """
    found: dict[str, str] = {}
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    ).stdout
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if name in ("index-url", "extra-index-url"):
            found[f"PIP_{name.upper().replace('-', '_')}"] = value.strip().strip("'\"")
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        if os.environ.get(name):
            found[name] = os.environ[name]
    return {
        name: " ".join(url for url in value.split() if url.startswith(("http://", "https://")))
        for name, value in found.items()
    }


@pytest.fixture(scope="session")
def build_args(base_image: str) -> dict[str, str]:
    """Build arguments shared by `docker build` and the compose test."""
    return {"BASE_IMAGE": base_image, **_pip_index_settings()}


@pytest.fixture(scope="session")
def project_image(docker: Docker, build_args: dict[str, str]) -> str:
    """Build the project's Dockerfile on the base image, on the host's network."""
    if not (REPO_ROOT / "README.md").exists():
        raise AssertionError("README.md is missing: pyproject.toml names it, so the build needs it")
    command = ["build", "--network", "host", "--tag", PROJECT_IMAGE]
    for name, value in build_args.items():
        command += ["--build-arg", f"{name}={value}"]
    docker.run(*command, str(REPO_ROOT), timeout=BUILD_TIMEOUT_SECONDS)
    return PROJECT_IMAGE
