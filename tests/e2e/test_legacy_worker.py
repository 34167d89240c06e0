"""A worker written to DESIGN.md's description of the workers in the field completes our tasks.

It guards the contract from both sides: what the API writes is what such a worker reads, and what
it writes (full URLs, a local zone-less processTime) is what GET /task answers from.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from datetime import datetime
from typing import Any

from flask.testing import FlaskClient

from service.devtools.png import png_size
from service.devtools.standin_webui import StandInWebUI
from tests.builders import task_request
from tests.conftest import CLOUDFRONT_DOMAIN, Stack


def legacy_worker_once(
    clients: Any, *, queue_url: str, table: str, bucket: str, webui: str, cloudfront: str
) -> None:
    """One turn of an existing worker, line for line as the design file describes it."""
    sqs, dynamodb, s3 = clients.sqs, clients.dynamodb, clients.s3
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=10)
    for message in messages.get("Messages", []):
        task_id = json.loads(message["Body"])["taskId"]
        item = dynamodb.get_item(TableName=table, Key={"taskId": {"S": task_id}})["Item"]
        request = json.loads(item["requestData"]["S"])
        post = urllib.request.Request(
            webui + request["api"],
            data=json.dumps(request["payload"]).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(post, timeout=60) as response:
            images = json.loads(response.read())["images"]
        urls = []
        for n, image in enumerate(images, start=1):
            key = f"sd/out/{task_id}-{n}.png"
            s3.put_object(Bucket=bucket, Key=key, Body=base64.b64decode(image))
            urls.append(f"https://{cloudfront}/{key}")
        dynamodb.update_item(
            TableName=table,
            Key={"taskId": {"S": task_id}},
            UpdateExpression="SET taskStatus = :s, processRes = :r, processTime = :t",
            ExpressionAttributeValues={
                ":s": {"S": "finished"},
                ":r": {"S": json.dumps({"cnt": len(urls), "images": urls, "error": ""})},
                ":t": {"S": datetime.now().isoformat()},
            },
        )
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_an_existing_worker_completes_a_task_submitted_through_the_api(
    aws_stack: Stack, client: FlaskClient, standin: StandInWebUI
) -> None:
    # Given a task submitted through the API
    posted = client.post("/task", json=task_request(width=64, height=128, batch_size=2))
    assert posted.status_code == 202
    task_id = posted.get_json()["taskId"]

    # When a worker of the earlier deployment takes it
    legacy_worker_once(
        aws_stack.clients,
        queue_url=aws_stack.queue_url,
        table=aws_stack.resources.table_name,
        bucket=aws_stack.resources.bucket_name,
        webui=standin.url,
        cloudfront=CLOUDFRONT_DOMAIN,
    )

    # Then GET /task shows it finished, with the worker's URLs and a contract timestamp
    answer = client.get(f"/task?taskId={task_id}").get_json()
    assert answer["taskStatus"] == "finished"
    assert answer["images"] == [
        f"https://{CLOUDFRONT_DOMAIN}/sd/out/{task_id}-{n}.png" for n in (1, 2)
    ]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", answer["processTime"])
    assert "error" not in answer
    # And the images it stored are the PNGs the WebUI drew
    for n in (1, 2):
        stored = aws_stack.clients.s3.get_object(
            Bucket=aws_stack.resources.bucket_name, Key=f"sd/out/{task_id}-{n}.png"
        )
        assert png_size(stored["Body"].read()) == (64, 128)
    assert aws_stack.messages() == []
