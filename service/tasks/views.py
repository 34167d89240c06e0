"""The /task resource: POST submits a task, GET reads it back."""

from __future__ import annotations

import json
import math
from typing import Any
from uuid import UUID

from flask import Request, current_app, g, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from service.http_errors import ErrorSchema
from service.tasks.logic import SubmittedTask, TaskService
from service.tasks.schemas import (
    SubmittedTaskSchema,
    TaskQuerySchema,
    TaskRequestSchema,
    TaskSchema,
)


class _CheckedBodyParser(FlaskParser):
    """Hands webargs the body check_body parsed, instead of parsing it a second time.

    check_body runs first for every POST (a before_request of this blueprint) and refuses what
    is not strict JSON, so the parsed body is always there when a schema loads it.
    """

    def _raw_load_json(self, req: Request) -> Any:
        return g.json_body


class _TasksBlueprint(Blueprint):
    ARGUMENTS_PARSER = _CheckedBodyParser()


blp = _TasksBlueprint(
    "tasks", __name__, description="Submit Stable Diffusion tasks and read results."
)

REQUEST_EXAMPLE = {
    "api": "/sdapi/v1/txt2img",
    "payload": {
        "prompt": "a lighthouse at dusk, oil painting",
        "steps": 20,
        "width": 512,
        "height": 512,
        "seed": 42,
    },
}
SUBMITTED_EXAMPLE = {
    "taskId": "3f2b8a9e-1c4d-4e5f-8a7b-9c0d1e2f3a4b",
    "taskStatus": "waiting",
    "submitTime": "2026-12-04T19:22:29.263Z",
}
TASK_EXAMPLE = {
    "taskId": "3f2b8a9e-1c4d-4e5f-8a7b-9c0d1e2f3a4b",
    "taskStatus": "finished",
    "submitTime": "2026-12-04T19:22:29.263Z",
    "processTime": "2026-12-04T19:22:41.008Z",
    "images": ["https://d123.cloudfront.net/sd/out/3f2b8a9e-1c4d-4e5f-8a7b-9c0d1e2f3a4b-1.png"],
}


def _tasks() -> TaskService:
    service: TaskService = current_app.extensions["tasks"]
    return service


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a number")
    return value


@blp.before_request
def check_body() -> None:
    """Refuse oversized, non-JSON and wrongly typed bodies before anything else reads them."""
    if request.method != "POST":
        return
    limit = current_app.config["MAX_BODY_BYTES"]
    too_large = f"The request body is larger than the limit of {limit} bytes."
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(too_large)
    if request.mimetype != "application/json":
        got = request.mimetype or "nothing"
        raise UnsupportedMediaType(f"Content-Type must be application/json, got {got}.")
    body = request.get_data(cache=True)
    # A chunked body has no Content-Length: Werkzeug reads it up to MAX_CONTENT_LENGTH, one byte
    # past the limit, so a longer body shows here as one byte too many.
    if len(body) > limit:
        raise RequestEntityTooLarge(too_large)
    if not body.strip():
        raise BadRequest("The request body is empty; send a JSON object with api and payload.")
    try:
        # Python's json accepts NaN, Infinity and 1e400 (as inf); the workers' parsers may not.
        g.json_body = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except ValueError as exc:
        raise BadRequest(f"The request body is not valid JSON ({exc}).") from None
    except RecursionError:
        raise BadRequest("The request body is nested too deeply.") from None


# Schemas are given as instances: given a class, webargs and flask-smorest build a new instance,
# with deep copies of every field, on each request (0.1 ms of the 0.4 ms a POST costs the app).
TASK_REQUEST = TaskRequestSchema()
SUBMITTED_TASK = SubmittedTaskSchema()
TASK_QUERY = TaskQuerySchema()
TASK = TaskSchema()


@blp.route("/task")
class Tasks(MethodView):
    """Tasks for the GPU workers."""

    @blp.arguments(TASK_REQUEST, example=REQUEST_EXAMPLE, error_status_code=400)
    @blp.response(
        202,
        SUBMITTED_TASK,
        example=SUBMITTED_EXAMPLE,
        headers={
            "Location": {"description": "Where to GET the task", "schema": {"type": "string"}}
        },
    )
    @blp.alt_response(413, schema=ErrorSchema, description="The body is over MAX_BODY_BYTES.")
    @blp.alt_response(415, schema=ErrorSchema, description="The body is not application/json.")
    @blp.alt_response(503, schema=ErrorSchema, description="Not stored or not queued.")
    def post(self, body: dict[str, Any]) -> tuple[SubmittedTask, dict[str, str]]:
        """Submit a task: validate it, store it as waiting and queue it."""
        task = _tasks().submit(api=body["api"], payload=body["payload"])
        g.task_id = task.task_id
        return task, {"Location": url_for("tasks.Tasks", taskId=task.task_id)}

    @blp.arguments(TASK_QUERY, location="query", as_kwargs=True, error_status_code=400)
    @blp.response(200, TASK, example=TASK_EXAMPLE)
    @blp.alt_response(404, schema=ErrorSchema, description="No task has this id.")
    @blp.alt_response(503, schema=ErrorSchema, description="The task store is unreachable.")
    def get(self, taskId: UUID) -> dict[str, Any]:
        """Read a task's status, and its image URLs once finished."""
        g.task_id = str(taskId)
        return _tasks().get(g.task_id)
