"""The deployment's settings: a typed value built by app.py from context, passed to the stack."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import aws_logs as logs

from infra import constants as c

# The retention periods (days) CloudWatch Logs accepts, in the order of logs.RetentionDays.
LOG_RETENTION_CHOICES: tuple[int, ...] = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


def log_retention(days: int) -> logs.RetentionDays:
    """The RetentionDays member for a number of days CloudWatch Logs accepts."""
    members = [m for m in logs.RetentionDays if m is not logs.RetentionDays.INFINITE]
    return dict(zip(LOG_RETENTION_CHOICES, members, strict=True))[days]


@dataclass(frozen=True, kw_only=True)
class DeploymentConfig:
    """Everything a deployment may choose; defaults live in constants.py."""

    # Build context of the service image (the repository root, which holds the Dockerfile).
    image_asset_dir: Path
    certificate_arn: str | None = None
    api_min_tasks: int = c.DEFAULT_API_MIN_TASKS
    api_max_tasks: int = c.DEFAULT_API_MAX_TASKS
    api_cpu: int = c.DEFAULT_API_CPU
    api_memory_mib: int = c.DEFAULT_API_MEMORY_MIB
    task_ttl_days: int = c.DEFAULT_TASK_TTL_DAYS
    workers_enabled: bool = True
    webui_image: str | None = None
    gpu_instance_type: str = c.DEFAULT_GPU_INSTANCE_TYPE
    worker_max_tasks: int = c.DEFAULT_WORKER_MAX_TASKS
    backlog_per_worker: int = c.DEFAULT_BACKLOG_PER_WORKER
    image_retention_days: int = c.DEFAULT_IMAGE_RETENTION_DAYS
    log_retention_days: int = c.DEFAULT_LOG_RETENTION_DAYS
    nat_gateways: int = c.DEFAULT_NAT_GATEWAYS
    alarm_email: str | None = None
    cors_allow_origins: tuple[str, ...] = field(default=("*",))

    def __post_init__(self) -> None:
        if self.api_min_tasks < 1 or self.api_max_tasks < self.api_min_tasks:
            raise ValueError(
                f"apiMinTasks must be at least 1 and apiMaxTasks at least apiMinTasks, got "
                f"{self.api_min_tasks} and {self.api_max_tasks}"
            )
        if self.workers_enabled and not self.webui_image:
            raise ValueError(
                "webuiImage is not set: give the WebUI image the GPU workers run "
                "(-c webuiImage=...), or -c workersEnabled=false to keep your own workers"
            )
        if self.worker_max_tasks < 1 or self.backlog_per_worker < 1:
            raise ValueError("workerMaxTasks and backlogPerWorker must be at least 1")
        if self.nat_gateways < 1:
            raise ValueError("natGateways must be at least 1: the tasks run in private subnets")
        if self.image_retention_days < 1:
            raise ValueError("imageRetentionDays must be at least 1")
        if self.log_retention_days not in LOG_RETENTION_CHOICES:
            raise ValueError(
                f"logRetentionDays must be one of CloudWatch's values "
                f"{list(LOG_RETENTION_CHOICES)}, got {self.log_retention_days}"
            )
