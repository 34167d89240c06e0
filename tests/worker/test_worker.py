"""The reference worker against moto in-process and the stand-in WebUI."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from service import contract
from service.devtools.png import png_size
from service.devtools.standin_webui import StandInWebUI
from service.queue import TaskQueue
from service.worker.webui import WebUIClient
from tests.builders import task_request
from tests.conftest import CLOUDFRONT_DOMAIN, Stack, free_port
from tests.processes import wait_for
from tests.worker.conftest import (
    canned_webui,
    http_answer,
    queue_counts,
    running_worker,
    status,
)

UTC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def submit(client: FlaskClient, **fields: Any) -> str:
    """POST a txt2img task through the API and return its id."""
    response = client.post("/task", json=task_request(**fields))
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["taskId"])


def put_task(
    stack: Stack,
    task_id: str,
    *,
    request_data: str,
    task_status: str = contract.WAITING,
    **attributes: str,
) -> None:
    """Write an item and its message directly, as a test arrangement the API would refuse."""
    item = {
        "taskId": {"S": task_id},
        "requestData": {"S": request_data},
        "taskStatus": {"S": task_status},
        "submitTime": {"S": contract.utc_timestamp()},
        **{
            name: {"N" if name == "leaseUntil" else "S": value}
            for name, value in attributes.items()
        },
    }
    stack.clients.dynamodb.put_item(TableName=stack.resources.table_name, Item=item)
    TaskQueue(client=stack.clients.sqs, queue_url=stack.queue_url).send(task_id)


def settled(stack: Stack, task_id: str, expected: str) -> bool:
    """The task reached `expected` and no message is left on the queue."""
    return status(stack, task_id) == expected and queue_counts(stack) == (0, 0)


def test_a_task_is_rendered_stored_and_finished(
    aws_stack: Stack, client: FlaskClient, standin: StandInWebUI
) -> None:
    # Given a task for 2 x 2 pictures of 96 x 64, submitted through the API
    task_id = submit(client, width=96, height=64, batch_size=2, n_iter=2, seed=5)

    # When the worker runs
    with running_worker(aws_stack, standin.url):
        wait_for(lambda: settled(aws_stack, task_id, "finished"), timeout=15, what="finished")

    # Then the item holds the S3 keys, a count, no error, and a UTC processTime
    item = aws_stack.item(task_id)
    assert item is not None
    keys = [contract.image_key(task_id, n) for n in (1, 2, 3, 4)]
    assert json.loads(item["processRes"]["S"]) == {"cnt": 4, "images": keys, "error": ""}
    assert UTC_Z.match(item["processTime"]["S"])
    assert UTC_Z.match(item["startTime"]["S"])
    assert item["attempts"] == {"N": "1"}
    # And each key holds a PNG of the requested size, typed as one
    for key in keys:
        stored = aws_stack.clients.s3.get_object(Bucket=aws_stack.resources.bucket_name, Key=key)
        assert stored["ContentType"] == "image/png"
        assert png_size(stored["Body"].read()) == (96, 64)
    # And the API answers the images as URLs
    answer = client.get(f"/task?taskId={task_id}").get_json()
    assert answer["taskStatus"] == "finished"
    assert answer["images"] == [f"https://{CLOUDFRONT_DOMAIN}/{key}" for key in keys]
    assert standin.total_calls() == 1


def test_a_webui_4xx_fails_the_task_and_drops_the_message(
    aws_stack: Stack, client: FlaskClient, standin: StandInWebUI
) -> None:
    standin.set_behaviour(fail_status=422)
    task_id = submit(client)

    with running_worker(aws_stack, standin.url):
        wait_for(lambda: settled(aws_stack, task_id, "failed"), timeout=15, what="failed")

    answer = client.get(f"/task?taskId={task_id}").get_json()
    assert answer["error"].startswith("WebUI answered 422:")
    assert answer["images"] == []
    assert standin.total_calls() == 1


def test_an_api_outside_the_allow_list_is_refused_without_calling_the_webui(
    aws_stack: Stack, standin: StandInWebUI
) -> None:
    task_id = "3f0c9a52-74e5-4a3b-9c36-1f3d7b7b2f10"
    put_task(aws_stack, task_id, request_data=contract.request_data("/sdapi/v1/options", {}))

    with running_worker(aws_stack, standin.url):
        wait_for(lambda: settled(aws_stack, task_id, "failed"), timeout=15, what="failed")

    item = aws_stack.item(task_id)
    assert item is not None
    assert "'/sdapi/v1/options' is not one this worker runs" in item["processRes"]["S"]
    assert standin.total_calls() == 0


def test_unreadable_request_data_fails_the_task(aws_stack: Stack, standin: StandInWebUI) -> None:
    task_id = "5b8e4f0e-7d0a-4a55-9b1e-2f0f0c7d9a01"
    put_task(aws_stack, task_id, request_data="{not json")

    with running_worker(aws_stack, standin.url):
        wait_for(lambda: settled(aws_stack, task_id, "failed"), timeout=15, what="failed")

    assert standin.total_calls() == 0


def test_a_5xx_is_retried_until_the_webui_recovers(
    aws_stack: Stack, client: FlaskClient, standin: StandInWebUI
) -> None:
    standin.set_behaviour(fail_status=503)
    task_id = submit(client, width=64, height=64)

    # A one-second back-off leaves time to heal the WebUI before the message comes back; with
    # none, a busy machine could spend every allowed receive before the test heals it.
    with running_worker(aws_stack, standin.url, retry_seconds=1):
        wait_for(lambda: standin.total_calls() >= 1, timeout=15, what="a first render call")
        # The message was left for redelivery, and the claim released, so it can run again
        standin.set_behaviour()
        wait_for(lambda: settled(aws_stack, task_id, "finished"), timeout=15, what="finished")

    item = aws_stack.item(task_id)
    assert item is not None
    assert int(item["attempts"]["N"]) >= 2
    assert standin.total_calls() >= 2


def test_a_webui_that_is_down_fails_the_task_at_the_receive_limit(limited_stack: Stack) -> None:
    # Given a queue that gives up after 2 receives, and no WebUI listening
    task_id = "0d6f1d3e-9f59-4a56-8a77-5b8f0e4b1c22"
    put_task(limited_stack, task_id, request_data=contract.request_data("/sdapi/v1/txt2img", {}))
    nowhere = f"http://127.0.0.1:{free_port()}"

    with running_worker(limited_stack, nowhere):
        # Then the message comes back once, and the second failure fails the task
        wait_for(lambda: status(limited_stack, task_id) == "failed", timeout=15, what="failed")
        # And the message ends in the dead-letter queue (SQS moves it on the next receive)
        wait_for(
            lambda: queue_counts(limited_stack, limited_stack.dlq_url)[0] == 1,
            timeout=15,
            what="the message in the dead-letter queue",
        )

    item = limited_stack.item(task_id)
    assert item is not None
    assert item["attempts"] == {"N": "2"}
    error = json.loads(item["processRes"]["S"])["error"]
    assert error.startswith("gave up after 2 attempts: WebUI unreachable")
    [message] = limited_stack.messages(limited_stack.dlq_url)
    assert json.loads(message["Body"]) == {"taskId": task_id, "storage": "dynamodb"}
    assert queue_counts(limited_stack) == (0, 0)


def test_a_duplicate_delivery_after_the_task_finished_is_skipped(
    aws_stack: Stack, client: FlaskClient, standin: StandInWebUI
) -> None:
    # Given a task whose message was delivered twice
    task_id = submit(client, width=64, height=64)
    TaskQueue(client=aws_stack.clients.sqs, queue_url=aws_stack.queue_url).send(task_id)

    with running_worker(aws_stack, standin.url):
        wait_for(lambda: settled(aws_stack, task_id, "finished"), timeout=15, what="finished")

    # Then it was rendered once and both messages were acknowledged
    assert standin.total_calls() == 1


def test_concurrent_duplicate_deliveries_render_once(
    aws_stack: Stack, client: FlaskClient, standin: StandInWebUI
) -> None:
    # Given two worker threads, a WebUI that takes a while, and a task one thread is rendering
    standin.set_behaviour(delay_seconds=1.5)
    task_id = submit(client, width=64, height=64)

    with running_worker(aws_stack, standin.url, concurrency=2):
        wait_for(lambda: standin.total_calls() == 1, timeout=10, what="the first render call")
        # When a duplicate of its message arrives, the idle thread finds the claim held and
        # looks again later. (The duplicate is sent once the claim holds: moto in-process does
        # not make a conditional write atomic against another thread's, as DynamoDB does, and
        # let two claims made in the same millisecond both succeed about once in 200 tries.)
        TaskQueue(client=aws_stack.clients.sqs, queue_url=aws_stack.queue_url).send(task_id)
        wait_for(lambda: settled(aws_stack, task_id, "finished"), timeout=20, what="finished")

    assert standin.total_calls() == 1


def test_a_crashed_attempt_is_taken_over_once_its_lease_expires(
    aws_stack: Stack, standin: StandInWebUI
) -> None:
    # Given a task left `processing` by a worker that died (its lease ran out a minute ago)
    task_id = "7a1e6f2c-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
    put_task(
        aws_stack,
        task_id,
        request_data=contract.request_data("/sdapi/v1/txt2img", {"width": 16, "height": 16}),
        task_status=contract.PROCESSING,
        leaseUntil=str(int(time.time()) - 60),
        workerId="dead-host:1:abc",
    )

    with running_worker(aws_stack, standin.url):
        wait_for(lambda: settled(aws_stack, task_id, "finished"), timeout=15, what="finished")

    assert standin.total_calls() == 1


def test_the_heartbeat_keeps_a_long_render_hidden_from_other_workers(
    aws_stack: Stack, client: FlaskClient, standin: StandInWebUI
) -> None:
    # Given a render that outlasts the 3 s visibility timeout
    standin.set_behaviour(delay_seconds=5)
    task_id = submit(client, width=64, height=64)
    started = time.monotonic()

    with running_worker(aws_stack, standin.url):
        wait_for(lambda: standin.total_calls() == 1, timeout=10, what="the render call")
        first_lease = int(aws_stack.item(task_id)["leaseUntil"]["N"])  # type: ignore[index]
        # Then while it runs the message stays in flight, never visible to another receive
        while status(aws_stack, task_id) != "finished":
            assert queue_counts(aws_stack)[0] == 0
            lease = aws_stack.item(task_id).get("leaseUntil")  # type: ignore[union-attr]
            assert time.monotonic() - started < 15, "the render did not finish"
            if lease:
                assert int(lease["N"]) >= first_lease
            time.sleep(0.2)

    assert time.monotonic() - started > 5
    assert standin.total_calls() == 1
    assert queue_counts(aws_stack) == (0, 0)


def test_a_live_claim_held_by_another_worker_is_not_rendered_again(
    aws_stack: Stack, standin: StandInWebUI
) -> None:
    # Given a task another worker is rendering right now (its lease runs for a minute)
    task_id = "9c2d7e1f-4a3b-4c5d-8e6f-7a8b9c0d1e2f"
    put_task(
        aws_stack,
        task_id,
        request_data=contract.request_data("/sdapi/v1/txt2img", {"width": 16, "height": 16}),
        task_status=contract.PROCESSING,
        leaseUntil=str(int(time.time()) + 60),
        workerId="busy-host:1:abc",
    )

    # When this worker receives its message, it puts the message back until the lease ends
    with running_worker(aws_stack, standin.url):
        wait_for(lambda: queue_counts(aws_stack) == (0, 1), timeout=10, what="a deferred message")

    assert status(aws_stack, task_id) == "processing"
    assert standin.total_calls() == 0


def gave_up_at_the_receive_limit(stack: Stack, task_id: str) -> str:
    """Wait until the task failed and its message is dead-lettered; return the task's error."""
    wait_for(lambda: status(stack, task_id) == "failed", timeout=15, what="failed")
    wait_for(
        lambda: queue_counts(stack, stack.dlq_url)[0] == 1,
        timeout=15,
        what="the message in the dead-letter queue",
    )
    item = stack.item(task_id)
    assert item is not None
    assert item["attempts"] == {"N": "2"}
    return str(json.loads(item["processRes"]["S"])["error"])


def test_a_webui_answer_cut_short_is_retried_then_failed_at_the_receive_limit(
    limited_stack: Stack,
) -> None:
    # Given a WebUI that announces 1000 bytes and closes after a few (http.client's
    # IncompleteRead, which is no OSError), and a queue that gives up after 2 receives
    task_id = "2b7f4c1a-8d3e-4f5a-9b6c-7d8e9f0a1b2c"
    put_task(limited_stack, task_id, request_data=contract.request_data("/sdapi/v1/txt2img", {}))
    cut_short = http_answer(b'{"images": ["iVBOR', content_length=1000)

    with canned_webui(cut_short) as webui, running_worker(limited_stack, webui.url):
        # Then the message comes back once, and the second failure fails the task
        error = gave_up_at_the_receive_limit(limited_stack, task_id)

    assert error.startswith(
        "gave up after 2 attempts: WebUI sent a broken HTTP answer: IncompleteRead"
    )
    assert webui.calls == 2
    assert queue_counts(limited_stack) == (0, 0)


def test_an_unexpected_error_is_retried_then_failed_at_the_receive_limit(
    limited_stack: Stack,
    standin: StandInWebUI,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a bug: the WebUI client raises an exception nobody maps to a task's failure
    def broken(self: WebUIClient, api: str, payload: dict[str, Any]) -> list[bytes]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(WebUIClient, "render", broken)
    task_id = "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8"
    put_task(limited_stack, task_id, request_data=contract.request_data("/sdapi/v1/txt2img", {}))

    with running_worker(limited_stack, standin.url):
        error = gave_up_at_the_receive_limit(limited_stack, task_id)

    assert error == "gave up after 2 attempts: unexpected error: RuntimeError: a bug"
    assert queue_counts(limited_stack) == (0, 0)
    # And each attempt logged the error with its traceback and the task's id
    logged = [r for r in caplog.records if getattr(r, "task_id", None) == task_id and r.exc_info]
    assert [r.getMessage() for r in logged] == ["unexpected error", "unexpected error"]


def test_a_data_url_without_data_fails_the_task_at_once(aws_stack: Stack) -> None:
    # Given a WebUI whose image is "data:abc": a data URL with no comma, so no data
    task_id = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
    put_task(aws_stack, task_id, request_data=contract.request_data("/sdapi/v1/txt2img", {}))
    answer = http_answer(json.dumps({"images": ["data:abc"]}).encode())

    with canned_webui(answer) as webui, running_worker(aws_stack, webui.url):
        wait_for(lambda: settled(aws_stack, task_id, "failed"), timeout=15, what="failed")

    # Then it failed as a permanent error: one render, no retry, a clear reason
    item = aws_stack.item(task_id)
    assert item is not None
    assert item["attempts"] == {"N": "1"}
    assert json.loads(item["processRes"]["S"]) == {
        "cnt": 0,
        "images": [],
        "error": "WebUI image 1 is a data URL without data (no comma)",
    }
    assert webui.calls == 1


def test_a_worker_that_lost_its_claim_stores_no_images(
    aws_stack: Stack, standin: StandInWebUI, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a render that takes 4 s, heartbeats each second (3 s visibility)
    standin.set_behaviour(delay_seconds=4)
    task_id = "8c9d0e1f-2a3b-4c4d-9e5f-6a7b8c9d0e1f"
    put_task(
        aws_stack,
        task_id,
        request_data=contract.request_data("/sdapi/v1/txt2img", {"width": 16, "height": 16}),
    )
    other = "other-host:1:0123456789ab"

    def attempt_ended_lost() -> bool:
        # The attempt's own thread (not its heartbeat's) concluded that it lost the claim.
        return any(
            getattr(r, "stage", None) == "lost" and r.threadName.startswith("worker-")
            for r in caplog.records
        )

    with (
        caplog.at_level(logging.INFO, logger="service.worker"),
        running_worker(aws_stack, standin.url),
    ):
        wait_for(lambda: standin.total_calls() == 1, timeout=10, what="the render call")
        # When another worker takes the task over while this one renders
        aws_stack.clients.dynamodb.update_item(
            TableName=aws_stack.resources.table_name,
            Key={"taskId": {"S": task_id}},
            UpdateExpression="SET workerId = :other, leaseUntil = :until",
            ExpressionAttributeValues={
                ":other": {"S": other},
                ":until": {"N": str(int(time.time()) + 60)},
            },
        )
        wait_for(attempt_ended_lost, timeout=15, what="the first attempt to end")

    # Then the first worker put nothing under the task's keys
    listed = aws_stack.clients.s3.list_objects_v2(
        Bucket=aws_stack.resources.bucket_name, Prefix=f"{contract.IMAGE_KEY_PREFIX}{task_id}-"
    )
    assert listed["KeyCount"] == 0
    # And the task is still the other worker's
    item = aws_stack.item(task_id)
    assert item is not None
    assert item["workerId"] == {"S": other}
    assert item["taskStatus"] == {"S": "processing"}
    # And the heartbeat noticed the loss, and the attempt said why it stored nothing
    messages = [(r.threadName.split("-")[0], r.getMessage()) for r in caplog.records]
    assert ("heartbeat", "lost the claim") in messages
    assert ("worker", "lost the claim; the images are not stored") in messages
    # And the message was kept (in flight or back on the queue), not deleted
    assert sum(queue_counts(aws_stack)) == 1
    assert standin.total_calls() == 1
