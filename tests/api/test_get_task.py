"""GET /task: plain JSON of the stored task, whoever wrote it."""

from __future__ import annotations

import json
import uuid

import pytest
from flask.testing import FlaskClient

from tests.builders import task_request
from tests.conftest import CLOUDFRONT_DOMAIN, Stack


def submit(client: FlaskClient) -> str:
    response = client.post("/task", json=task_request())
    assert response.status_code == 202
    return str(response.get_json()["taskId"])


def finish_like_a_worker(stack: Stack, task_id: str, **attributes: str) -> None:
    """UpdateItem as workers do: string attributes set on the task's item."""
    names = list(attributes)
    stack.clients.dynamodb.update_item(
        TableName=stack.resources.table_name,
        Key={"taskId": {"S": task_id}},
        UpdateExpression="SET " + ", ".join(f"#{n} = :{n}" for n in names),
        ExpressionAttributeNames={f"#{n}": n for n in names},
        ExpressionAttributeValues={f":{n}": {"S": value} for n, value in attributes.items()},
    )


def test_a_task_reads_back_waiting_right_after_its_post(client: FlaskClient) -> None:
    task_id = submit(client)

    response = client.get(f"/task?taskId={task_id}")

    assert response.status_code == 200
    answer = response.get_json()
    assert answer["taskId"] == task_id
    assert answer["taskStatus"] == "waiting"
    assert "processTime" not in answer and "error" not in answer


def test_the_location_header_leads_to_the_task(client: FlaskClient) -> None:
    posted = client.post("/task", json=task_request())
    response = client.get(posted.headers["Location"])
    assert response.get_json()["taskId"] == posted.get_json()["taskId"]


def test_uppercase_ids_find_the_lowercase_task(client: FlaskClient) -> None:
    task_id = submit(client)
    assert client.get(f"/task?taskId={task_id.upper()}").get_json()["taskId"] == task_id


def test_images_stored_as_full_urls_by_existing_workers_pass_through(
    client: FlaskClient, aws_stack: Stack
) -> None:
    task_id = submit(client)
    urls = [f"https://dold.cloudfront.net/sd/out/{task_id}-{n}.png" for n in (1, 2)]
    finish_like_a_worker(
        aws_stack,
        task_id,
        taskStatus="finished",
        processRes=json.dumps({"cnt": 2, "images": urls, "error": ""}),
        processTime="2026-12-04T19:22:41.008123",
    )

    answer = client.get(f"/task?taskId={task_id}").get_json()

    assert answer["taskStatus"] == "finished"
    assert answer["images"] == urls
    assert answer["processTime"] == "2026-12-04T19:22:41.008Z"


def test_images_stored_as_keys_become_cloudfront_urls(
    client: FlaskClient, aws_stack: Stack
) -> None:
    task_id = submit(client)
    keys = [f"sd/out/{task_id}-1.png"]
    finish_like_a_worker(
        aws_stack,
        task_id,
        taskStatus="finished",
        processRes=json.dumps({"cnt": 1, "images": keys, "error": ""}),
        processTime="2026-12-04T19:22:41.008Z",
    )
    answer = client.get(f"/task?taskId={task_id}").get_json()
    assert answer["images"] == [f"https://{CLOUDFRONT_DOMAIN}/{keys[0]}"]


def test_a_legacy_image_url_attribute_is_served(client: FlaskClient, aws_stack: Stack) -> None:
    task_id = submit(client)
    finish_like_a_worker(aws_stack, task_id, taskStatus="finished", imageUrl="sd/out/x-1.png")
    answer = client.get(f"/task?taskId={task_id}").get_json()
    assert answer["images"] == [f"https://{CLOUDFRONT_DOMAIN}/sd/out/x-1.png"]


def test_a_failed_task_carries_its_error(client: FlaskClient, aws_stack: Stack) -> None:
    task_id = submit(client)
    finish_like_a_worker(
        aws_stack,
        task_id,
        taskStatus="failed",
        processRes=json.dumps({"cnt": 0, "images": [], "error": "WebUI answered 422"}),
    )
    answer = client.get(f"/task?taskId={task_id}").get_json()
    assert answer["taskStatus"] == "failed"
    assert answer["error"] == "WebUI answered 422"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "taskId: Missing data for required field."),
        ("?taskId=", "taskId: Not a valid UUID."),
        ("?taskId=12345", "taskId: Not a valid UUID."),
        ("?taskId=../../etc/passwd", "taskId: Not a valid UUID."),
    ],
)
def test_a_missing_or_malformed_id_is_a_400(client: FlaskClient, query: str, message: str) -> None:
    response = client.get(f"/task{query}")
    assert response.status_code == 400
    assert response.get_json()["error"] == message


def test_an_unknown_id_is_a_404(client: FlaskClient) -> None:
    unknown = str(uuid.uuid4())
    response = client.get(f"/task?taskId={unknown}")
    assert response.status_code == 404
    assert response.get_json() == {"error": f"No task has the id {unknown}."}


def test_an_image_in_both_process_res_and_image_url_is_listed_once(
    client: FlaskClient, aws_stack: Stack
) -> None:
    task_id = submit(client)
    key = f"sd/out/{task_id}-1.png"
    finish_like_a_worker(
        aws_stack,
        task_id,
        taskStatus="finished",
        processRes=json.dumps({"cnt": 1, "images": [f"https://dold.cloudfront.net/{key}"]}),
        imageUrl=key,
    )
    answer = client.get(f"/task?taskId={task_id}").get_json()
    assert answer["images"] == [f"https://dold.cloudfront.net/{key}"]
