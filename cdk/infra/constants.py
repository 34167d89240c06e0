"""Names, ports, paths, limits and defaults the constructs share: change them here only."""

from __future__ import annotations

from typing import Final

# --- Containers -------------------------------------------------------------------------------
API_CONTAINER_NAME: Final = "api"
API_PORT: Final = 8000
HEALTH_CHECK_PATH: Final = "/healthz"
READINESS_PATH: Final = "/readyz"
WORKER_CONTAINER_NAME: Final = "worker"
WORKER_COMMAND: Final = ("python", "-m", "service.worker")
WEBUI_CONTAINER_NAME: Final = "webui"
WEBUI_PORT: Final = 7860
# The worker and the WebUI share the task's network namespace (awsvpc), so localhost reaches it.
WEBUI_URL: Final = f"http://localhost:{WEBUI_PORT}"
# A1111 and its forks all serve this cheap endpoint once the model is loaded.
WEBUI_HEALTH_PATH: Final = "/sdapi/v1/progress"

# --- Rendering and the queue ------------------------------------------------------------------
WEBUI_TIMEOUT_SECONDS: Final = 300
WORKER_CONCURRENCY: Final = 1
# Longer than the longest render (WEBUI_TIMEOUT_SECONDS) plus the upload of its images.
QUEUE_VISIBILITY_TIMEOUT_SECONDS: Final = 360
# The worker reads the limit from the queue's RedrivePolicy; the bootstrap defaults to the same.
MAX_RECEIVE_COUNT: Final = 5
QUEUE_RETENTION_DAYS: Final = 4
DLQ_RETENTION_DAYS: Final = 14

# --- Data ---------------------------------------------------------------------------------------
TABLE_PARTITION_KEY: Final = "taskId"
# The API writes it (epoch seconds, TASK_TTL_DAYS ahead); DynamoDB deletes expired items.
TABLE_TTL_ATTRIBUTE: Final = "expiresAt"
# Existing workers write images under this prefix, and so does the new one.
IMAGES_PREFIX: Final = "sd/out/"

# --- Access logs ---------------------------------------------------------------------------------
ACCESS_LOG_RETENTION_DAYS: Final = 90
ALB_LOG_PREFIX: Final = "alb"
CLOUDFRONT_LOG_PREFIX: Final = "cloudfront/"
IMAGES_BUCKET_LOG_PREFIX: Final = "s3/images/"

# --- API scaling ----------------------------------------------------------------------------------
API_CPU_TARGET_PERCENT: Final = 60
API_REQUESTS_PER_TARGET: Final = 500
API_SCALE_IN_COOLDOWN_SECONDS: Final = 300
API_SCALE_OUT_COOLDOWN_SECONDS: Final = 60
HEALTH_CHECK_INTERVAL_SECONDS: Final = 15
DEREGISTRATION_DELAY_SECONDS: Final = 30

# --- Worker scaling -------------------------------------------------------------------------------
# One CloudWatch period for every metric of the backlog math (SQS publishes once a minute).
SCALING_PERIOD_SECONDS: Final = 60
WORKER_SCALE_IN_COOLDOWN_SECONDS: Final = 300
WORKER_SCALE_OUT_COOLDOWN_SECONDS: Final = 60
WORKER_ROOT_VOLUME_GIB: Final = 200
WEBUI_MEMORY_RESERVATION_MIB: Final = 8192
WORKER_MEMORY_LIMIT_MIB: Final = 512
WEBUI_HEALTH_START_PERIOD_SECONDS: Final = 300
CONTAINER_INSIGHTS_NAMESPACE: Final = "ECS/ContainerInsights"

# --- Monitoring ---------------------------------------------------------------------------------
ALARM_API_5XX_PER_MINUTE: Final = 5
ALARM_OLDEST_MESSAGE_AGE_SECONDS: Final = 900
ALARM_EVALUATION_PERIODS: Final = 3

# --- Context defaults (cdk.json / `-c key=value`; read by app.py only) ---------------------------
DEFAULT_API_MIN_TASKS: Final = 1
DEFAULT_API_MAX_TASKS: Final = 4
DEFAULT_API_CPU: Final = 512
DEFAULT_API_MEMORY_MIB: Final = 1024
DEFAULT_GPU_INSTANCE_TYPE: Final = "g5.xlarge"
DEFAULT_WORKER_MAX_TASKS: Final = 2
DEFAULT_BACKLOG_PER_WORKER: Final = 2
DEFAULT_IMAGE_RETENTION_DAYS: Final = 30
DEFAULT_LOG_RETENTION_DAYS: Final = 30
DEFAULT_NAT_GATEWAYS: Final = 1
DEFAULT_TASK_TTL_DAYS: Final = 30
DEFAULT_STACK_NAME: Final = "SdTaskService"

# Paths of the repository that never belong in the image's build context.
ASSET_EXCLUDES: Final = (
    ".venv",
    ".git",
    ".github",
    ".ci",
    "cdk",
    "cdk.out",
    "**/cdk.out",
    "tests",
    "bench",
    "docs",
    "**/__pycache__",
    "**/*.pyc",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "*.egg-info",
    "build",
)
