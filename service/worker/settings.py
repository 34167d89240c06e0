"""The worker's settings, read once from the environment at start-up, parsed and checked."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from service.settings import (
    AwsSettings,
    ConfigError,
    allowed_apis_from_env,
    aws_from_env,
    env_float,
    env_int,
    env_required,
    log_level_from_env,
)

# SQS waits at most 20 s for a message.
MAX_POLL_SECONDS = 20


@dataclass(frozen=True, kw_only=True)
class WorkerSettings:
    """Everything the worker process is configured with."""

    table_name: str
    queue_url: str
    bucket: str
    aws: AwsSettings
    allowed_apis: tuple[str, ...]
    webui_url: str = "http://127.0.0.1:7860"
    webui_timeout_seconds: float = 300.0
    concurrency: int = 1
    poll_seconds: int = MAX_POLL_SECONDS
    visibility_seconds: int = 60
    retry_seconds: int = 15
    stop_grace_seconds: float = 25.0
    log_level: str = "INFO"

    @property
    def heartbeat_seconds(self) -> float:
        """How often a claim and its message's visibility are extended while a task runs."""
        return self.visibility_seconds / 3


def _webui_url(env: Mapping[str, str]) -> str:
    raw = env.get("WEBUI_URL", "").strip() or "http://127.0.0.1:7860"
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"WEBUI_URL must be an http(s) URL such as http://127.0.0.1:7860, got {raw!r}"
        )
    return raw.rstrip("/")


def worker_settings_from_env(env: Mapping[str, str] | None = None) -> WorkerSettings:
    """Build the worker's settings from the environment, or raise ConfigError naming the problem."""
    env = os.environ if env is None else env
    concurrency = env_int(env, "WORKER_CONCURRENCY", 1, minimum=1)
    poll_seconds = env_int(env, "WORKER_POLL_SECONDS", MAX_POLL_SECONDS)
    if poll_seconds > MAX_POLL_SECONDS:
        raise ConfigError(
            f"WORKER_POLL_SECONDS must be at most {MAX_POLL_SECONDS}, got {poll_seconds}"
        )
    aws = aws_from_env(env, pool_size=max(10, 3 * concurrency))
    # A long poll holds the connection open for up to 20 s; the read timeout must outlast it.
    aws = replace(aws, read_timeout=max(aws.read_timeout, poll_seconds + 10.0))
    return WorkerSettings(
        table_name=env.get("DYNAMODB_TABLE", "").strip() or "sd_tasks",
        queue_url=env_required(env, "QUEUE_URL", "the SQS queue that feeds the workers"),
        bucket=env_required(env, "IMAGES_BUCKET", "the S3 bucket the images are stored in"),
        aws=aws,
        allowed_apis=allowed_apis_from_env(env),
        webui_url=_webui_url(env),
        webui_timeout_seconds=env_float(env, "WEBUI_TIMEOUT_SECONDS", 300.0),
        concurrency=concurrency,
        poll_seconds=poll_seconds,
        visibility_seconds=env_int(env, "WORKER_VISIBILITY_SECONDS", 60, minimum=3),
        retry_seconds=env_int(env, "WORKER_RETRY_SECONDS", 15),
        stop_grace_seconds=env_float(env, "WORKER_STOP_GRACE_SECONDS", 25.0),
        log_level=log_level_from_env(env),
    )
