"""Settings read once from the environment at start-up, parsed, checked and typed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_ALLOWED_APIS = ("/sdapi/v1/txt2img", "/sdapi/v1/img2img")
# DynamoDB refuses items over 400 KB and the request is stored in the item, so a body must stay
# well under that; larger inputs will travel through S3 ("storage": "s3") once that is built.
DYNAMODB_SAFE_BODY_BYTES = 380_000


class ConfigError(Exception):
    """A required setting is missing or a value cannot be parsed; the message is one line."""


@dataclass(frozen=True, kw_only=True)
class TaskLimits:
    """What a GPU operator allows one task to ask for."""

    max_steps: int = 150
    max_side: int = 2048
    max_pixels: int = 1024 * 1024 * 4
    max_images: int = 8
    max_prompt_chars: int = 10_000
    max_init_images: int = 4


@dataclass(frozen=True, kw_only=True)
class AwsSettings:
    """How the process reaches AWS (or an emulator)."""

    region: str
    endpoint_url: str | None = None
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    max_attempts: int = 3
    max_pool_connections: int = 10


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the API process is configured with."""

    table_name: str
    queue_url: str
    cloudfront_domain: str
    aws: AwsSettings
    allowed_apis: tuple[str, ...] = DEFAULT_ALLOWED_APIS
    max_body_bytes: int = 350_000
    cors_allow_origins: tuple[str, ...] = ("*",)
    task_ttl_days: int = 30
    ready_cache_seconds: float = 5.0
    log_level: str = "INFO"
    limits: TaskLimits = field(default_factory=TaskLimits)
    # gunicorn's: where to listen, processes and threads per process.
    host: str = "0.0.0.0"  # noqa: S104 (a container's interface)
    port: int = 8000
    processes: int = 2
    threads: int = 4


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    """Parse an integer variable, refusing text and values under `minimum`."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(env: Mapping[str, str], name: str, default: float) -> float:
    """Parse a positive number variable."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {value}")
    return value


def env_port(env: Mapping[str, str], name: str, default: int) -> int:
    """Parse a TCP port number variable."""
    port = env_int(env, name, default, minimum=1)
    if port > 65535:
        raise ConfigError(f"{name} must be a TCP port number, got {port}")
    return port


def env_switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    """Parse a 0/1 switch variable."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if raw not in ("0", "1"):
        raise ConfigError(f"{name} must be 0 or 1, got {raw!r}")
    return raw == "1"


def _list(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def env_required(env: Mapping[str, str], name: str, purpose: str) -> str:
    """Return a variable that must be set, or raise ConfigError saying what it names."""
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set: it must name {purpose}")
    return value


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level_from_env(env: Mapping[str, str]) -> str:
    """Parse LOG_LEVEL, shared by the API and the worker."""
    level = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    return level


def allowed_apis_from_env(env: Mapping[str, str]) -> tuple[str, ...]:
    """Parse ALLOWED_APIS, shared by the API and the worker so both refuse the same paths."""
    apis = _list(env, "ALLOWED_APIS", DEFAULT_ALLOWED_APIS)
    if not apis:
        raise ConfigError("ALLOWED_APIS is empty: list at least one WebUI path")
    for api in apis:
        if not api.startswith("/sdapi/"):
            raise ConfigError(f"ALLOWED_APIS entry {api!r} is not a WebUI /sdapi/ path")
    return apis


def aws_from_env(env: Mapping[str, str], *, pool_size: int = 10) -> AwsSettings:
    """Parse the settings every AWS client of the process shares."""
    region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip()
    if not region:
        raise ConfigError("AWS_REGION is not set: it must name the region of the table and queue")
    return AwsSettings(
        region=region,
        endpoint_url=env.get("AWS_ENDPOINT_URL", "").strip() or None,
        connect_timeout=env_float(env, "AWS_CONNECT_TIMEOUT", 2.0),
        read_timeout=env_float(env, "AWS_READ_TIMEOUT", 5.0),
        max_attempts=env_int(env, "AWS_MAX_ATTEMPTS", 3, minimum=1),
        max_pool_connections=pool_size,
    )


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build the API's settings from the environment, or raise ConfigError naming the problem."""
    env = os.environ if env is None else env
    max_body = env_int(env, "MAX_BODY_BYTES", 350_000, minimum=1024)
    if max_body > DYNAMODB_SAFE_BODY_BYTES:
        raise ConfigError(
            f"MAX_BODY_BYTES must be at most {DYNAMODB_SAFE_BODY_BYTES}: the request is stored in "
            "a DynamoDB item, which cannot exceed 400 KB"
        )
    threads = env_int(env, "GUNICORN_THREADS", 4, minimum=1)
    limits = TaskLimits(
        max_steps=env_int(env, "MAX_STEPS", TaskLimits.max_steps, minimum=1),
        max_side=env_int(env, "MAX_SIDE", TaskLimits.max_side, minimum=64),
        max_pixels=env_int(env, "MAX_PIXELS", TaskLimits.max_pixels, minimum=64 * 64),
        max_images=env_int(env, "MAX_IMAGES", TaskLimits.max_images, minimum=1),
    )
    return Settings(
        table_name=env.get("DYNAMODB_TABLE", "").strip() or "sd_tasks",
        queue_url=env_required(env, "QUEUE_URL", "the SQS queue that feeds the workers"),
        cloudfront_domain=env_required(
            env, "CLOUDFRONT_DOMAIN", "the CloudFront domain (or base URL) that serves the images"
        ),
        aws=aws_from_env(env, pool_size=max(10, threads)),
        allowed_apis=allowed_apis_from_env(env),
        max_body_bytes=max_body,
        cors_allow_origins=_list(env, "CORS_ALLOW_ORIGINS", ("*",)),
        task_ttl_days=env_int(env, "TASK_TTL_DAYS", 30),
        ready_cache_seconds=env_float(env, "READY_CACHE_SECONDS", 5.0),
        log_level=log_level_from_env(env),
        host=env.get("HOST", "").strip() or "0.0.0.0",  # noqa: S104 (a container's interface)
        port=env_port(env, "PORT", 8000),
        processes=env_int(env, "WEB_CONCURRENCY", 2, minimum=1),
        threads=threads,
        limits=limits,
    )
