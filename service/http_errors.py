"""Where every error becomes an HTTP answer: JSON with one sentence in `error`, right status."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask import Flask, Response, jsonify, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from service.errors import (
    AwsUnavailable,
    TaskNotFound,
    TaskNotQueued,
    TaskRejected,
    TaskTooLarge,
)

log = logging.getLogger(__name__)

# Seconds a client should wait before retrying a 503; AWS throttling and blips pass quickly.
RETRY_AFTER_SECONDS = "2"


class ErrorSchema(ma.Schema):
    """Every error body."""

    error = ma.fields.String(required=True, metadata={"description": "What was wrong."})
    field_errors = ma.fields.Dict(
        data_key="fields",
        metadata={"description": "Each invalid field's messages, by dotted path (400 only)."},
    )


def error_response(status: int, message: str, **extra: Any) -> Response:
    """Build an error answer."""
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into {"payload.steps": [...], "init_images[0]": ...}."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            if key == "_schema":
                path = prefix or "body"
            elif isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for sub_path, texts in flatten_messages(value, path).items():
                flat.setdefault(sub_path, []).extend(texts)
        return flat
    texts = messages if isinstance(messages, list) else [messages]
    return {prefix or "body": [str(text) for text in texts]}


def validation_sentence(fields: dict[str, list[str]]) -> str:
    """Name the first invalid field and what is wrong with it, in one sentence."""
    path, texts = next(iter(fields.items()))
    text = texts[0].rstrip(".")
    return f"{text}." if path == "body" else f"{path}: {text}."


class TaskApi(Api):
    """flask-smorest's Api, answering HTTP errors in this service's error format."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Response:
        """Answer an HTTP error (including webargs validation failures) as JSON."""
        data = getattr(error, "data", None) or {}
        status = error.code or 500
        if "messages" in data:
            # webargs keys messages by location ("json", "query"); clients name the field only.
            fields = flatten_messages(
                {k: v for messages in data["messages"].values() for k, v in messages.items()}
            )
            return error_response(status, validation_sentence(fields), fields=fields)
        if isinstance(error, MethodNotAllowed):
            allowed = sorted(set(error.valid_methods or ()) - {"HEAD", "OPTIONS"})
            response = error_response(
                status,
                f"{request.method} is not allowed on {request.path}; use {' or '.join(allowed)}.",
            )
            response.headers["Allow"] = ", ".join(error.valid_methods or ())
            return response
        if isinstance(error, NotFound):
            return error_response(status, f"Nothing is served at {request.path}.")
        return error_response(status, _describe(error))


def _describe(error: HTTPException) -> str:
    """Say what went wrong in one sentence.

    Our own raises carry one sentence; Werkzeug's defaults are paragraphs for HTML pages, of
    which the first sentence is the point.
    """
    description = (error.description or error.name or "Error").strip()
    first = description.split(". ")[0].rstrip(".")
    return f"{first}."


def register_error_handlers(app: Flask) -> None:
    """Map the project's exceptions to statuses; anything unforeseen is a 500 without details."""

    @app.errorhandler(TaskNotFound)
    def _not_found(error: TaskNotFound) -> Response:
        return error_response(404, str(error))

    @app.errorhandler(TaskRejected)
    def _rejected(error: TaskRejected) -> Response:
        return error_response(400, str(error))

    @app.errorhandler(TaskTooLarge)
    def _too_large(error: TaskTooLarge) -> Response:
        return error_response(413, str(error))

    @app.errorhandler(TaskNotQueued)
    def _not_queued(error: TaskNotQueued) -> Response:
        response = error_response(503, str(error))
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response

    @app.errorhandler(AwsUnavailable)
    def _aws_unavailable(error: AwsUnavailable) -> Response:
        log.error("AWS unavailable", extra={"reason": str(error)})
        response = error_response(503, "The task store or queue is unavailable; try again.")
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response

    # HTTPException has its own, more specific handler (TaskApi's), so this sees only bugs.
    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "Internal error; it has been logged.")
