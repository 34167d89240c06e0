"""gunicorn settings, sized for a 0.5 to 1 vCPU Fargate task behind an ALB."""

from __future__ import annotations

import gc
import sys
from typing import Any

from service.settings import ConfigError, settings_from_env

# gunicorn reads this file once, in the master, before it starts any worker: a bad setting stops
# it here with one line.
try:
    _settings = settings_from_env()
except ConfigError as exc:
    sys.exit(f"configuration error: {exc}")

bind = f"{_settings.host}:{_settings.port}"
# Requests spend most of their time waiting on DynamoDB and SQS, so threads serve them well;
# two processes keep one busy while the other collects garbage or restarts.
workers = _settings.processes
worker_class = "gthread"
threads = _settings.threads
timeout = 30
# ECS waits stopTimeout (30 s by default) after SIGTERM; finish in-flight requests before that.
graceful_timeout = 20
# Longer than the ALB's 60 s idle timeout, so the ALB never reuses a connection gunicorn closed.
keepalive = 75
accesslog = None  # the app logs one JSON line per request
errorlog = "-"
# The runtime control socket would live in $HOME, which a container may not let us write, and
# nothing here uses it.
control_socket_disable = True


def post_worker_init(worker: Any) -> None:
    """Exempt what the app loaded (boto3's service models, above all) from garbage collection.

    Every full collection would otherwise walk those long-lived objects again (see
    docs/performance.md for what it saved).
    """
    gc.freeze()
