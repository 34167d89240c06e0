"""What every endpoint shares: JSON errors, CORS, request ids, logs, 503 on AWS trouble."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from service.logs import JsonFormatter
from tests.builders import task_request
from tests.conftest import Stack, free_port


def test_other_methods_get_a_json_405_with_allow(client: FlaskClient) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        response = client.open("/task", method=method)
        assert response.status_code == 405
        assert response.get_json() == {
            "error": f"{method} is not allowed on /task; use GET or POST."
        }
        assert {"GET", "POST"} <= set(response.headers["Allow"].split(", "))


def test_unknown_paths_get_a_json_404(client: FlaskClient) -> None:
    response = client.get("/tasks")
    assert response.status_code == 404
    assert response.get_json() == {"error": "Nothing is served at /tasks."}


def test_cors_allows_any_origin_by_default(client: FlaskClient) -> None:
    response = client.post("/task", json=task_request(), headers={"Origin": "https://app.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Location" in response.headers["Access-Control-Expose-Headers"]


def test_cors_preflight_is_answered(client: FlaskClient) -> None:
    response = client.options(
        "/task",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_cors_origins_are_configurable(aws_stack: Stack) -> None:
    app = create_app(
        {**aws_stack.env, "CORS_ALLOW_ORIGINS": "https://app.example"}, clients=aws_stack.clients
    )
    client = app.test_client()
    allowed = client.get("/healthz", headers={"Origin": "https://app.example"})
    other = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Access-Control-Allow-Origin" not in other.headers


def test_the_callers_request_id_is_echoed(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"


def test_the_albs_trace_id_is_used_when_no_request_id_is_sent(client: FlaskClient) -> None:
    trace = "Root=1-67891233-abcdef012345678912345678"
    assert client.get("/healthz", headers={"X-Amzn-Trace-Id": trace}).headers["X-Request-Id"] == (
        trace
    )


def test_a_request_id_is_made_when_none_is_sent_or_it_is_unsafe(client: FlaskClient) -> None:
    made = client.get("/healthz").headers["X-Request-Id"]
    unsafe = client.get("/healthz", headers={"X-Request-Id": "a\u00e9<script>"})
    assert len(made) == 32
    assert unsafe.headers["X-Request-Id"] != "a\u00e9<script>"


def test_each_request_is_logged_once_with_its_fields(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.post("/task", json=task_request(), headers={"X-Request-Id": "req-1"})
    [record] = [r for r in caplog.records if getattr(r, "request_id", None) == "req-1"]
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "request"
    assert line["method"] == "POST"
    assert line["path"] == "/task"
    assert line["status"] == 202
    assert line["task_id"] == response.get_json()["taskId"]
    assert line["duration_ms"] >= 0


def test_a_bug_is_a_json_500_without_a_stack_trace(app: Flask) -> None:
    def broken() -> str:
        raise RuntimeError("secret internals")

    app.add_url_rule("/broken", view_func=broken)
    response = app.test_client().get("/broken")
    assert response.status_code == 500
    assert response.get_json() == {"error": "Internal error; it has been logged."}
    assert b"secret internals" not in response.data


def test_unreachable_aws_is_a_503_and_nothing_is_half_done(aws_stack: Stack) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    app = create_app(
        {**aws_stack.env, "AWS_ENDPOINT_URL": closed, "AWS_MAX_ATTEMPTS": "1"},
    )
    client = app.test_client()

    posted = client.post("/task", json=task_request())
    read = client.get("/task?taskId=3f2b8a9e-1c4d-4e5f-8a7b-9c0d1e2f3a4b")

    for response in (posted, read):
        assert response.status_code == 503
        assert response.get_json() == {
            "error": "The task store or queue is unavailable; try again."
        }
        assert response.headers["Retry-After"]
    assert aws_stack.item_count() == 0


def test_a_send_failing_after_the_write_marks_the_task_failed(aws_stack: Stack) -> None:
    # Given a queue URL that no longer answers (deleted after start-up)
    app = create_app(aws_stack.env, clients=aws_stack.clients)
    aws_stack.clients.sqs.delete_queue(QueueUrl=aws_stack.queue_url)

    # When a task is submitted
    response = app.test_client().post("/task", json=task_request())

    # Then the client is told to retry, and the stored task is failed, not waiting forever
    assert response.status_code == 503
    assert "marked failed" in response.get_json()["error"]
    [item] = aws_stack.clients.dynamodb.scan(TableName=aws_stack.resources.table_name)["Items"]
    assert item["taskStatus"] == {"S": "failed"}
    reason = json.loads(item["processRes"]["S"])["error"]
    assert "could not be queued" in reason
    assert "processTime" in item
