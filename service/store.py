"""DynamoDB adapter: task items in the contract's shape, botocore errors turned into ours."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from service import contract
from service.aws import aws_call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True, kw_only=True)
class TaskRecord:
    """A task as stored: the contract's attributes, parsed."""

    task_id: str
    status: str
    submit_time: str
    request_data: str = ""
    process_time: str | None = None
    process_result: contract.ProcessResult | None = None
    image_url: str | None = None
    worker_id: str | None = None
    lease_until: int | None = None
    attempts: int = 0


# A worker's claim on a task: who holds it and until when (epoch seconds). A task that is
# `processing` with an expired lease was left by a crashed attempt and may be claimed again.
_CLAIMABLE = (
    "taskStatus = :waiting OR (taskStatus = :processing AND "
    "(attribute_not_exists(leaseUntil) OR leaseUntil < :now))"
)
_OWNED = "taskStatus = :processing AND workerId = :me"


class TaskStore:
    """Reads and writes task items in one DynamoDB table."""

    def __init__(self, *, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create(
        self, *, task_id: str, request_data: str, submit_time: str, expires_at: int | None
    ) -> None:
        """Write a new `waiting` task; never overwrite an existing one."""
        item = {
            "taskId": {"S": task_id},
            "requestData": {"S": request_data},
            "taskStatus": {"S": contract.WAITING},
            "submitTime": {"S": submit_time},
        }
        if expires_at is not None:
            item["expiresAt"] = {"N": str(expires_at)}
        with aws_call("PutItem"):
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(taskId)",
            )

    def get(self, task_id: str, *, consistent: bool = False) -> TaskRecord | None:
        """Read a task; a miss is retried once with a strongly consistent read.

        An eventually consistent read costs half as much, but may miss a task written a moment
        ago; the retry makes a GET right after its POST find it. Workers, which decide on what
        they read, ask for a consistent read straight away.
        """
        for consistent_read in (True,) if consistent else (False, True):
            with aws_call("GetItem"):
                response = self._client.get_item(
                    TableName=self._table,
                    Key={"taskId": {"S": task_id}},
                    ConsistentRead=consistent_read,
                )
            item = response.get("Item")
            if item:
                return _record(item)
        return None

    def claim(self, *, task_id: str, worker_id: str, lease_seconds: int) -> None:
        """Move a task to `processing` for one attempt, or raise ConditionFailed.

        Succeeds only from `waiting`, or from `processing` whose lease has expired (a crashed
        attempt), so two deliveries of one message never render twice.
        """
        now = int(time.time())
        with aws_call("UpdateItem"):
            self._client.update_item(
                TableName=self._table,
                Key={"taskId": {"S": task_id}},
                UpdateExpression=(
                    "SET taskStatus = :processing, startTime = :start, workerId = :me, "
                    "leaseUntil = :until ADD attempts :one"
                ),
                ConditionExpression=_CLAIMABLE,
                ExpressionAttributeValues={
                    ":waiting": {"S": contract.WAITING},
                    ":processing": {"S": contract.PROCESSING},
                    ":now": {"N": str(now)},
                    ":start": {"S": contract.utc_timestamp()},
                    ":me": {"S": worker_id},
                    ":until": {"N": str(now + lease_seconds)},
                    ":one": {"N": "1"},
                },
            )

    def extend_lease(self, *, task_id: str, worker_id: str, lease_seconds: int) -> None:
        """Keep a claim alive; ConditionFailed means the attempt no longer owns the task."""
        with aws_call("UpdateItem"):
            self._client.update_item(
                TableName=self._table,
                Key={"taskId": {"S": task_id}},
                UpdateExpression="SET leaseUntil = :until",
                ConditionExpression=_OWNED,
                ExpressionAttributeValues={
                    ":processing": {"S": contract.PROCESSING},
                    ":me": {"S": worker_id},
                    ":until": {"N": str(int(time.time()) + lease_seconds)},
                },
            )

    def release(self, *, task_id: str, worker_id: str) -> None:
        """Give up a claim without a result, so the next delivery may claim the task at once."""
        with aws_call("UpdateItem"):
            self._client.update_item(
                TableName=self._table,
                Key={"taskId": {"S": task_id}},
                UpdateExpression="SET leaseUntil = :expired REMOVE workerId",
                ConditionExpression=_OWNED,
                ExpressionAttributeValues={
                    ":processing": {"S": contract.PROCESSING},
                    ":me": {"S": worker_id},
                    ":expired": {"N": "0"},
                },
            )

    def finish(self, *, task_id: str, worker_id: str, image_keys: tuple[str, ...]) -> None:
        """Record a finished attempt's S3 keys; ConditionFailed if the attempt lost its claim."""
        with aws_call("UpdateItem"):
            self._client.update_item(
                TableName=self._table,
                Key={"taskId": {"S": task_id}},
                UpdateExpression=(
                    "SET taskStatus = :finished, processRes = :res, processTime = :now "
                    "REMOVE leaseUntil"
                ),
                ConditionExpression=_OWNED,
                ExpressionAttributeValues={
                    ":processing": {"S": contract.PROCESSING},
                    ":me": {"S": worker_id},
                    ":finished": {"S": contract.FINISHED},
                    ":res": {"S": contract.ProcessResult(images=image_keys).to_json()},
                    ":now": {"S": contract.utc_timestamp()},
                },
            )

    def fail(self, *, task_id: str, reason: str, worker_id: str | None) -> None:
        """Mark a task failed: one the attempt `worker_id` owns, or one nobody holds.

        Raises ConditionFailed when the task has finished, failed, been cancelled, or is held by
        another live attempt.
        """
        with aws_call("UpdateItem"):
            self._client.update_item(
                TableName=self._table,
                Key={"taskId": {"S": task_id}},
                UpdateExpression=(
                    "SET taskStatus = :failed, processRes = :res, processTime = :time "
                    "REMOVE leaseUntil"
                ),
                ConditionExpression=f"({_CLAIMABLE}) OR ({_OWNED})",
                ExpressionAttributeValues={
                    ":waiting": {"S": contract.WAITING},
                    ":processing": {"S": contract.PROCESSING},
                    ":now": {"N": str(int(time.time()))},
                    # An id no attempt has, when the caller holds no claim.
                    ":me": {"S": worker_id or "-"},
                    ":failed": {"S": contract.FAILED},
                    ":res": {"S": contract.ProcessResult(error=reason).to_json()},
                    ":time": {"S": contract.utc_timestamp()},
                },
            )

    def check_reachable(self) -> None:
        """Raise AwsUnavailable unless the table exists and answers."""
        with aws_call("DescribeTable"):
            self._client.describe_table(TableName=self._table)


def _record(item: Mapping[str, Mapping[str, Any]]) -> TaskRecord:
    def text(name: str) -> str | None:
        value = item.get(name)
        return str(value["S"]) if value and "S" in value else None

    def number(name: str) -> int | None:
        value = item.get(name)
        try:
            return int(value["N"]) if value and "N" in value else None
        except ValueError:
            return None

    process_res = text("processRes")
    return TaskRecord(
        task_id=text("taskId") or "",
        status=text("taskStatus") or "",
        submit_time=text("submitTime") or "",
        request_data=text("requestData") or "",
        process_time=text("processTime"),
        process_result=contract.ProcessResult.from_json(process_res) if process_res else None,
        image_url=text("imageUrl"),
        worker_id=text("workerId"),
        lease_until=number("leaseUntil"),
        attempts=number("attempts") or 0,
    )
