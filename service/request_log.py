"""One JSON log line per request, and a request id that follows the request through the logs."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

log = logging.getLogger("service.request")

_SAFE_ID = re.compile(r"^[A-Za-z0-9=;:._/+-]{1,200}$")


def _request_id() -> str:
    """Take the caller's or the ALB's id when it is safe to echo, else make one."""
    for header in ("X-Request-Id", "X-Amzn-Trace-Id"):
        value = request.headers.get(header, "")
        if _SAFE_ID.match(value):
            return value
    return uuid.uuid4().hex


def install_request_logging(app: Flask) -> None:
    """Stamp each request with an id and log it when its response is ready."""

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        g.request_id = _request_id()

    # _start is the app's first before_request function, so every response has its stamps.
    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.request_id
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.started) * 1000, 2),
                "task_id": g.get("task_id"),
                "request_id": g.request_id,
            },
        )
        return response
