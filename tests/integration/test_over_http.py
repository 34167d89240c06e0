"""The service under gunicorn against moto's HTTP server: the contract byte for byte."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from typing import Any

import requests
from botocore.exceptions import ReadTimeoutError

from service.app import create_app
from tests.builders import task_request
from tests.conftest import Stack
from tests.processes import GUNICORN, gunicorn_api


def test_an_item_and_message_match_the_contract_byte_for_byte(server_stack: Stack) -> None:
    body = task_request(seed=7, cfg_scale=7.5, styles=["café"])
    with gunicorn_api(server_stack.env) as api:
        # When a client submits a task and reads it straight back
        posted = requests.post(f"{api.url}/task", json=body, timeout=10)
        read = requests.get(f"{api.url}{posted.headers['Location']}", timeout=10)

    # Then the answers are right
    assert posted.status_code == 202
    task = posted.json()
    assert read.status_code == 200
    assert read.json()["taskStatus"] == "waiting"
    # And the item holds exactly the contract's attributes (plus the TTL extension)
    item = server_stack.item(task["taskId"])
    assert item is not None
    assert set(item) == {"taskId", "requestData", "taskStatus", "submitTime", "expiresAt"}
    assert item["taskId"] == {"S": task["taskId"]}
    assert item["taskStatus"] == {"S": "waiting"}
    assert item["submitTime"] == {"S": task["submitTime"]}
    assert item["requestData"]["S"] == json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    # And the message is exactly what existing workers parse
    [message] = server_stack.messages()
    assert message["Body"] == f'{{"taskId":"{task["taskId"]}","storage":"dynamodb"}}'


def test_a_send_failure_over_http_is_a_503_and_a_failed_task(server_stack: Stack) -> None:
    missing_queue = server_stack.queue_url.rsplit("/", 1)[0] + "/no-such-queue"
    with gunicorn_api({**server_stack.env, "QUEUE_URL": missing_queue}) as api:
        posted = requests.post(f"{api.url}/task", json=task_request(), timeout=10)
    assert posted.status_code == 503
    assert posted.json()["error"].endswith("submit it again.")
    [item] = server_stack.clients.dynamodb.scan(TableName=server_stack.resources.table_name)[
        "Items"
    ]
    assert item["taskStatus"] == {"S": "failed"}


def test_logs_are_json_lines_with_request_ids(server_stack: Stack) -> None:
    with gunicorn_api(server_stack.env) as api:
        requests.post(f"{api.url}/task", json=task_request(), headers={"X-Request-Id": "r-9"})
        requests.get(f"{api.url}/nowhere", timeout=10)
        api.process.send_signal(signal.SIGTERM)
        api.process.wait(timeout=30)
        lines = [json.loads(line) for line in api.stdout.read_text().splitlines()]
    requests_logged = {line["path"]: line for line in lines if line["message"] == "request"}
    assert requests_logged["/task"]["request_id"] == "r-9"
    assert requests_logged["/task"]["status"] == 202
    assert requests_logged["/nowhere"]["status"] == 404


def test_sigterm_stops_gunicorn_cleanly(server_stack: Stack) -> None:
    with gunicorn_api(server_stack.env) as api:
        api.process.send_signal(signal.SIGTERM)
        assert api.process.wait(timeout=30) == 0


def test_a_missing_setting_stops_start_up_with_one_line(server_stack: Stack) -> None:
    env = {k: v for k, v in os.environ.items() if k != "QUEUE_URL"}
    env.update({k: v for k, v in server_stack.env.items() if k != "QUEUE_URL"})
    env.update({"HOST": "127.0.0.1", "PORT": "0"})
    finished = subprocess.run(
        [*GUNICORN, "service.wsgi:app"], env=env, capture_output=True, text=True, timeout=60
    )
    assert finished.returncode != 0
    errors = [line for line in finished.stderr.splitlines() if "configuration error" in line]
    assert errors == [
        "configuration error: QUEUE_URL is not set: it must name the SQS queue that feeds the "
        "workers"
    ]


def test_a_chunked_body_over_the_limit_is_a_413(server_stack: Stack) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"api": "/sdapi/v1/txt2img", "payload": {"prompt": "'
        for _ in range(40):
            yield b"x" * 10_000
        yield b'"}}'

    with gunicorn_api(server_stack.env) as api:
        # A generator body is sent with Transfer-Encoding: chunked and no Content-Length.
        posted = requests.post(
            f"{api.url}/task",
            data=chunks(),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
    assert posted.status_code == 413
    assert server_stack.item_count() == 0


def test_a_put_whose_answer_was_lost_is_still_queued(server_stack: Stack) -> None:
    # Given a PutItem that reaches DynamoDB but whose answer is lost, so the SDK retries it
    lost: list[str] = []

    def apply_then_lose_the_answer(request: Any, **_: Any) -> None:
        if lost:
            return
        lost.append(request.url)
        urllib.request.urlopen(
            urllib.request.Request(
                request.url, data=request.body, headers=dict(request.headers), method="POST"
            ),
            timeout=10,
        ).read()
        raise ReadTimeoutError(endpoint_url=request.url)

    server_stack.clients.dynamodb.meta.events.register(
        "before-send.dynamodb.PutItem", apply_then_lose_the_answer
    )
    app = create_app(server_stack.env, clients=server_stack.clients)

    # When a task is submitted
    response = app.test_client().post("/task", json=task_request())

    # Then the retry's conditional failure is recognised as our own write, and the task queued
    assert lost
    assert response.status_code == 202
    task_id = response.get_json()["taskId"]
    assert server_stack.item(task_id)["taskStatus"] == {"S": "waiting"}  # type: ignore[index]
    [message] = server_stack.messages()
    assert json.loads(message["Body"])["taskId"] == task_id
