#!/usr/bin/env python3
"""CDK entry point: the only module that reads context and environment.

Context values (cdk.json, or `-c key=value` on the command line) are documented in
docs/deployment.md; defaults live in infra/constants.py.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from infra import constants as c
from infra.config import DeploymentConfig
from infra.stack import SdTaskServiceStack

REPO_ROOT = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ContextError(ValueError):
    """A context value cannot be parsed; the message names the key."""


def _bool(key: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ContextError(f"context {key} must be true or false, got {raw!r}")


def _int(key: str, raw: Any) -> int:
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ContextError(f"context {key} must be an integer, got {raw!r}") from None


def _str(key: str, raw: Any) -> str | None:
    text = str(raw).strip()
    return text or None


def _origins(key: str, raw: Any) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else str(raw).split(",")
    origins = tuple(str(item).strip() for item in items if str(item).strip())
    if not origins:
        raise ContextError(f"context {key} must list at least one origin")
    return origins


# context key -> (DeploymentConfig field, parser)
CONTEXT_KEYS: dict[str, tuple[str, Callable[[str, Any], Any]]] = {
    "certificateArn": ("certificate_arn", _str),
    "apiMinTasks": ("api_min_tasks", _int),
    "apiMaxTasks": ("api_max_tasks", _int),
    "apiCpu": ("api_cpu", _int),
    "apiMemoryMiB": ("api_memory_mib", _int),
    "taskTtlDays": ("task_ttl_days", _int),
    "corsAllowOrigins": ("cors_allow_origins", _origins),
    "workersEnabled": ("workers_enabled", _bool),
    "webuiImage": ("webui_image", _str),
    "gpuInstanceType": ("gpu_instance_type", _str),
    "workerMaxTasks": ("worker_max_tasks", _int),
    "backlogPerWorker": ("backlog_per_worker", _int),
    "imageRetentionDays": ("image_retention_days", _int),
    "logRetentionDays": ("log_retention_days", _int),
    "natGateways": ("nat_gateways", _int),
    "alarmEmail": ("alarm_email", _str),
}


def config_from_context(
    get: Callable[[str], Any], *, image_asset_dir: Path = REPO_ROOT
) -> DeploymentConfig:
    """Build the deployment config from context values (missing keys keep their defaults)."""
    values: dict[str, Any] = {}
    for key, (field_name, parse) in CONTEXT_KEYS.items():
        raw = get(key)
        if raw is None:
            continue
        value = parse(key, raw)
        if value is not None:
            values[field_name] = value
    return DeploymentConfig(image_asset_dir=image_asset_dir, **values)


def region_from(get: Callable[[str], Any], environ: dict[str, str]) -> str:
    """The target region: context `region`, else the CLI's CDK_DEFAULT_REGION, else AWS_REGION.

    A concrete region is required by ALB access logging (the log-delivery principal differs by
    region); the account stays unresolved, so synthesis never looks anything up.
    """
    region = (
        _str("region", get("region") or "")
        or environ.get("CDK_DEFAULT_REGION")
        or (environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"))
    )
    if not region:
        raise ContextError(
            "no region: pass -c region=<aws-region> or configure a default region for the CLI"
        )
    return region


def main() -> None:
    """Synthesise the stack, with cdk-nag's AwsSolutions checks."""
    app = cdk.App()
    get = app.node.try_get_context
    try:
        config = config_from_context(get)
        region = region_from(get, dict(os.environ))
    except ValueError as exc:
        sys.exit(f"cdk/app.py: {exc}")
    stack_name = _str("stackName", get("stackName") or "") or c.DEFAULT_STACK_NAME
    SdTaskServiceStack(app, stack_name, config=config, env=cdk.Environment(region=region))
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    app.synth()


if __name__ == "__main__":
    main()
