"""The real container test: the project's image and the compose stack, built and run for real.

Part 1 runs the image as the API against moto's server on the host's loopback. Part 2 runs
docker-compose.yml with docker-compose.test.yml, which swaps LocalStack (which cannot be pulled
here) for moto's server built from the same base image and puts every service on the host's
network, every address on 127.0.0.1, on ports picked free by the test. One module, so that a
machine without Docker reports one skip line.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from service.aws import make_clients
from service.bootstrap import Resources, ensure_resources
from service.settings import AwsSettings
from tests.conftest import free_port
from tests.container.harness import (
    BUILD_TIMEOUT_SECONDS,
    CONTAINER_TEST_TIMEOUT_SECONDS,
    TEST_LABEL,
    Docker,
    wait_for_http,
)

REGION = "us-east-1"
# gunicorn_conf's graceful_timeout is 20 s; docker stop waits this long before SIGKILL.
STOP_GRACE_SECONDS = 30

SOURCE_FILES = ("-f", "docker-compose.yml", "-f", "docker-compose.test.yml")
TASK_DEADLINE_SECONDS = 180

pytestmark = pytest.mark.timeout(CONTAINER_TEST_TIMEOUT_SECONDS)


# --- Part 1: the image, run as the API -----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ApiContainer:
    """A running API container and how to reach it."""

    name: str
    base_url: str


def _call(
    method: str, url: str, body: Mapping[str, object] | None = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Make one HTTP call; return status, headers and the JSON body (errors included)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"{}")


@pytest.fixture(scope="module")
def aws_env(moto_endpoint: str) -> dict[str, str]:
    """A table, queue and bucket on moto's server (on 127.0.0.1), as the container's environment."""
    suffix = uuid.uuid4().hex[:8]
    resources = Resources(
        table_name=f"sd_tasks_{suffix}",
        queue_name=f"sd-tasks-{suffix}",
        bucket_name=f"sd-images-{suffix}",
    )
    clients = make_clients(AwsSettings(region=REGION, endpoint_url=moto_endpoint))
    queue_url = ensure_resources(clients, resources)
    return {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DYNAMODB_TABLE": resources.table_name,
        "QUEUE_URL": queue_url,
        "CLOUDFRONT_DOMAIN": f"{moto_endpoint}/{resources.bucket_name}",
        "WEB_CONCURRENCY": "1",
    }


def start_api(docker: Docker, image: str, env: dict[str, str], *extra: str) -> ApiContainer:
    """Run the image's default command on the host's network, bound to 127.0.0.1 only."""
    port = free_port()
    name = f"sdtest-api-{uuid.uuid4().hex[:8]}"
    command = ["run", "--detach", "--name", name, "--label", TEST_LABEL, "--network", "host"]
    for key, value in {**env, "HOST": "127.0.0.1", "PORT": str(port)}.items():
        command += ["--env", f"{key}={value}"]
    docker.run(*command, *extra, image)
    container = ApiContainer(name=name, base_url=f"http://127.0.0.1:{port}")

    def running() -> bool:
        state = docker.run("inspect", "--format", "{{.State.Running}}", name, check=False)
        return state.stdout.strip() == "true"

    try:
        wait_for_http(f"{container.base_url}/healthz", deadline_seconds=60, alive=running)
    except AssertionError as exc:
        logs = docker.run("logs", "--tail", "50", name, check=False)
        docker.run("rm", "-f", name, check=False)
        raise AssertionError(f"{exc}\n{logs.stdout}{logs.stderr}") from None
    return container


@pytest.fixture(scope="module")
def api(docker: Docker, project_image: str, aws_env: dict[str, str]) -> Iterator[ApiContainer]:
    """One API container for the module, its health check polled every second."""
    container = start_api(
        docker, project_image, aws_env, "--health-interval", "1s", "--health-start-period", "5s"
    )
    yield container
    docker.run("rm", "-f", container.name, check=False)


def test_serves_healthz_and_reports_healthy(docker: Docker, api: ApiContainer) -> None:
    status, _, body = _call("GET", f"{api.base_url}/healthz")
    assert status == 200, body

    # The image's own HEALTHCHECK (Python only, no curl) turns the container healthy.
    deadline = time.monotonic() + 60
    health = ""
    while time.monotonic() < deadline:
        health = docker.run("inspect", "--format", "{{.State.Health.Status}}", api.name).stdout
        if health.strip() == "healthy":
            break
        time.sleep(1)
    assert health.strip() == "healthy"


def test_accepts_a_task_and_reports_it_waiting(api: ApiContainer, aws_env: dict[str, str]) -> None:
    # Given the API in its container, on moto's server
    request = {"api": "/sdapi/v1/txt2img", "payload": {"prompt": "x"}}

    # When a client submits a task
    status, headers, body = _call("POST", f"{api.base_url}/task", request)

    # Then it is accepted, and GET finds it waiting
    assert status == 202, body
    task_id = body["taskId"]
    assert body["taskStatus"] == "waiting"
    assert task_id in headers.get("Location", "")
    status, _, body = _call("GET", f"{api.base_url}/task?taskId={task_id}")
    assert status == 200, body
    assert body["taskId"] == task_id
    assert body["taskStatus"] == "waiting"

    # And the queue holds the message that existing workers expect
    sqs = make_clients(AwsSettings(region=REGION, endpoint_url=aws_env["AWS_ENDPOINT_URL"])).sqs
    messages = sqs.receive_message(QueueUrl=aws_env["QUEUE_URL"], WaitTimeSeconds=1)["Messages"]
    message = json.loads(messages[0]["Body"])
    assert message["taskId"] == task_id
    assert message["storage"] == "dynamodb"


def test_runs_as_a_non_root_user(docker: Docker, api: ApiContainer) -> None:
    uid = docker.run("exec", api.name, "id", "-u").stdout.strip()
    assert uid.isdigit()
    assert uid != "0"


def test_holds_no_compiler_sources_or_caches(docker: Docker, api: ApiContainer) -> None:
    script = (
        "for tool in gcc cc c++ g++ clang make; do command -v $tool; done; "
        "for path in /src /wheels /opt/build /root/.cache /home/app/.cache; do "
        "  [ -e $path ] && echo $path; done; "
        # Outside the base image's own files (Debian's python3-venv ships wheels in /usr/share).
        "find /opt /home /root /tmp /var /srv -xdev "
        "  \\( -name .git -o -name '*.whl' -o -path '*/.cache/pip' \\) -print 2>/dev/null; true"
    )
    found = docker.run("exec", "--user", "0", api.name, "sh", "-c", script).stdout.split()
    assert found == []
    # The service is installed as a package in the venv, not run from a copy of the sources.
    location = docker.run(
        "exec", api.name, "python", "-c", "import service; print(service.__file__)"
    ).stdout.strip()
    assert location.startswith("/opt/venv/lib/")


def test_stops_cleanly_within_the_grace_period(
    docker: Docker, project_image: str, aws_env: dict[str, str]
) -> None:
    # Given a container of its own, so the others are unaffected
    container = start_api(docker, project_image, aws_env)
    try:
        # When docker stop sends SIGTERM
        started = time.monotonic()
        docker.run("stop", "--time", str(STOP_GRACE_SECONDS), container.name)
        elapsed = time.monotonic() - started

        # Then gunicorn (PID 1, exec form) exits 0 before docker would resort to SIGKILL
        state = docker.inspect(container.name)["State"]
        assert isinstance(state, dict)
        assert state["ExitCode"] == 0, state
        assert state["OOMKilled"] is False
        assert elapsed < STOP_GRACE_SECONDS - 1, f"docker stop took {elapsed:.1f} s"
    finally:
        docker.run("rm", "-f", container.name, check=False)


def test_refuses_to_start_without_required_settings(docker: Docker, project_image: str) -> None:
    result = docker.run(
        "run",
        "--rm",
        "--label",
        TEST_LABEL,
        "--network",
        "host",
        "--env",
        "AWS_REGION=us-east-1",
        "--env",
        "CLOUDFRONT_DOMAIN=d1.cloudfront.net",
        "--env",
        "HOST=127.0.0.1",
        "--env",
        f"PORT={free_port()}",
        project_image,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "QUEUE_URL" in result.stderr


# --- Part 2: the compose stack with the test override --------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Stack:
    """A running compose project and the host ports of its services."""

    api_url: str
    aws_port: int
    logs: Callable[[], str]
    exited: Callable[[], list[str]]


def _render_without_published_ports(docker: Docker, env: dict[str, str]) -> str:
    """Merge docker-compose.yml with the test override, then drop the published ports.

    Host networking makes publishing meaningless, and docker-compose v1 refuses the pair
    ("host" network_mode is incompatible with port_bindings); an override cannot remove a list
    that the base file sets (v1 has no `!reset`), so the merged file is edited instead.
    """
    merged = docker.compose_run(*SOURCE_FILES, "config", env=env).stdout
    config = yaml.safe_load(merged)
    for name, service in config["services"].items():
        assert service.get("network_mode") == "host", name
        service.pop("ports", None)
    return str(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(scope="module")
def stack(
    docker: Docker,
    build_args: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """Build and start the stack with the override; take it down (and print its logs on failure)."""
    if not docker.compose:
        raise AssertionError("no compose command: install docker-compose (.ci/docker-setup.sh)")
    ports = {name: free_port() for name in ("AWS", "API", "WEBUI")}
    env = {
        **build_args,
        "COMPOSE_PROJECT_NAME": f"sdtest{uuid.uuid4().hex[:8]}",
        **{f"SD_TEST_{name}_PORT": str(port) for name, port in ports.items()},
    }
    rendered = tmp_path_factory.mktemp("compose") / "docker-compose.rendered.yml"
    files = ("-f", str(rendered))

    def logs() -> str:
        result = docker.compose_run(
            *files, "logs", "--no-color", "--tail", "40", check=False, env=env
        )
        return f"compose logs:\n{result.stdout}\n{result.stderr}"

    def exited() -> list[str]:
        """Services whose container stopped, other than the one-shot bootstrap that succeeded."""
        listing = docker.run(
            "ps",
            "--all",
            "--filter",
            f"label=com.docker.compose.project={env['COMPOSE_PROJECT_NAME']}",
            "--filter",
            "status=exited",
            "--format",
            '{{.Label "com.docker.compose.service"}} {{.Status}}',
        ).stdout
        return [
            line
            for line in listing.splitlines()
            if line.strip() and not (line.startswith("bootstrap ") and "Exited (0)" in line)
        ]

    try:
        try:
            rendered.write_text(_render_without_published_ports(docker, env))
            docker.compose_run(*files, "build", timeout=BUILD_TIMEOUT_SECONDS, env=env)
            # `up --detach` returns once every depends_on condition was met and all started.
            docker.compose_run(*files, "up", "--detach", timeout=300, env=env)
            api_url = f"http://127.0.0.1:{ports['API']}"
            wait_for_http(f"{api_url}/healthz", deadline_seconds=120)
        except BaseException:
            print(logs())
            raise
        yield Stack(api_url=api_url, aws_port=ports["AWS"], logs=logs, exited=exited)
    finally:
        docker.compose_run(
            *files,
            "down",
            "--volumes",
            "--remove-orphans",
            "--timeout",
            "20",
            check=False,
            env=env,
            timeout=180,
        )


def test_compose_stack_creates_no_network(docker: Docker, stack: Stack) -> None:
    # Host networking only: no bridge, so no private-range address on this machine.
    networks = docker.run("network", "ls", "--format", "{{.Name}} {{.Driver}}").stdout.split("\n")
    assert all(line.split()[-1] in ("host", "null") for line in networks if line.strip()), networks


def test_a_task_goes_through_the_compose_stack(stack: Stack) -> None:
    # Given the stack up: moto, bootstrap done, API, worker and stand-in WebUI
    request = {"api": "/sdapi/v1/txt2img", "payload": {"prompt": "x"}}

    # When a client submits a task
    status, _, body = _call("POST", f"{stack.api_url}/task", request)
    assert status == 202, body
    task_id = body["taskId"]

    # Then the worker finishes it, polled with a deadline rather than a fixed sleep
    deadline = time.monotonic() + TASK_DEADLINE_SECONDS
    while True:
        status, _, body = _call("GET", f"{stack.api_url}/task?taskId={task_id}")
        assert status == 200, body
        if body["taskStatus"] in ("finished", "failed") or time.monotonic() > deadline:
            break
        assert not stack.exited(), f"{stack.exited()}\n{stack.logs()}"
        time.sleep(1)
    assert body["taskStatus"] == "finished", f"{body}\n{stack.logs()}"

    # And its images are URLs on the host's loopback that download as PNG
    images = body["images"]
    assert isinstance(images, list)
    assert images
    for url in images:
        assert str(url).startswith(f"http://127.0.0.1:{stack.aws_port}/sd-images/"), url
        with urllib.request.urlopen(str(url), timeout=10) as response:
            assert response.status == 200
            assert response.read(8) == b"\x89PNG\r\n\x1a\n"
