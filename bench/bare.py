"""The floor: the bare AWS SDK doing a request's calls, with the service's client configuration.

Run as its own process so its CPU is its own: `python -m bench.bare OPERATION CONCURRENCY
REQUESTS MAX_SECONDS IDS_FILE`, with the service's environment. OPERATION is `post` (PutItem +
SendMessage, what POST /task does) or `get` (GetItem, what GET /task does). Prints JSON.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.drive import drive
from service import contract
from service.aws import make_clients
from service.settings import settings_from_env


def run(
    operation: str, concurrency: int, requests: int, max_seconds: float, ids_file: str
) -> dict[str, Any]:
    """Do `requests` operations from `concurrency` threads; report CPU per operation and latency."""
    settings = settings_from_env(os.environ)
    clients = make_clients(settings.aws)
    table, queue_url = settings.table_name, settings.queue_url
    ids = Path(ids_file).read_text().split()
    request_data = contract.request_data(
        "/sdapi/v1/txt2img", {"prompt": "a lighthouse", "steps": 20}
    )

    def one(number: int) -> bool:
        if operation == "get":
            clients.dynamodb.get_item(
                TableName=table, Key={"taskId": {"S": ids[number % len(ids)]}}
            )
            return True
        task_id = str(uuid.uuid4())
        clients.dynamodb.put_item(
            TableName=table,
            Item={
                "taskId": {"S": task_id},
                "requestData": {"S": request_data},
                "taskStatus": {"S": contract.WAITING},
                "submitTime": {"S": contract.utc_timestamp()},
            },
            ConditionExpression="attribute_not_exists(taskId)",
        )
        clients.sqs.send_message(QueueUrl=queue_url, MessageBody=contract.message_body(task_id))
        return True

    one(0)  # warm the connections and the SDK's caches, as a running service has them
    gc.freeze()  # as the service's workers do after loading (service/gunicorn_conf.py)
    cpu_before = time.process_time()
    result = drive(one, concurrency=concurrency, requests=requests, max_seconds=max_seconds)
    return {**result, "cpu_seconds": time.process_time() - cpu_before}


if __name__ == "__main__":
    operation, concurrency, count, seconds, ids_file = sys.argv[1:6]
    print(json.dumps(run(operation, int(concurrency), int(count), float(seconds), ids_file)))
