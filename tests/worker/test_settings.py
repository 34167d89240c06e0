"""The worker's settings: defaults, parsing, and one clear line when something is missing."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from service.settings import ConfigError
from service.worker.settings import worker_settings_from_env

REQUIRED = {"QUEUE_URL": "http://127.0.0.1:4566/000000000000/q", "IMAGES_BUCKET": "sd-images"}
REGION = {"AWS_REGION": "us-east-1"}


def test_defaults() -> None:
    settings = worker_settings_from_env({**REQUIRED, **REGION})
    assert settings.table_name == "sd_tasks"
    assert settings.webui_url == "http://127.0.0.1:7860"
    assert settings.webui_timeout_seconds == 300
    assert settings.concurrency == 1
    assert settings.poll_seconds == 20
    assert settings.allowed_apis == ("/sdapi/v1/txt2img", "/sdapi/v1/img2img")
    # The long poll must not outlast boto3's read timeout
    assert settings.aws.read_timeout > settings.poll_seconds


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IMAGES_BUCKET": "b"}, "QUEUE_URL is not set"),
        ({"QUEUE_URL": "q"}, "IMAGES_BUCKET is not set"),
        ({**REQUIRED, "WEBUI_URL": "127.0.0.1:7860"}, "WEBUI_URL must be an http(s) URL"),
        ({**REQUIRED, "WORKER_CONCURRENCY": "0"}, "WORKER_CONCURRENCY must be at least 1"),
        ({**REQUIRED, "WEBUI_TIMEOUT_SECONDS": "soon"}, "WEBUI_TIMEOUT_SECONDS must be a number"),
        ({**REQUIRED, "WORKER_POLL_SECONDS": "30"}, "WORKER_POLL_SECONDS must be at most 20"),
        ({**REQUIRED, "ALLOWED_APIS": "/run"}, "is not a WebUI /sdapi/ path"),
    ],
)
def test_bad_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        worker_settings_from_env({**REGION, **env})


def test_the_worker_refuses_to_start_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("QUEUE_URL", "IMAGES_BUCKET")}
    result = subprocess.run(
        [sys.executable, "-m", "service.worker"], env=env, capture_output=True, timeout=30
    )
    assert result.returncode == 1
    [line] = result.stderr.decode().splitlines()
    assert line == (
        "configuration error: QUEUE_URL is not set: it must name the SQS queue that feeds the "
        "workers"
    )
