"""DynamoDB adapter: task items in the contract's shape, botocore errors turned into ours."""

from __future__ import annotations

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

    def get(self, task_id: str) -> TaskRecord | None:
        """Read a task; a miss is retried once with a strongly consistent read.

        An eventually consistent read costs half as much, but may miss a task written a moment
        ago; the retry makes a GET right after its POST find it.
        """
        for consistent in (False, True):
            with aws_call("GetItem"):
                response = self._client.get_item(
                    TableName=self._table,
                    Key={"taskId": {"S": task_id}},
                    ConsistentRead=consistent,
                )
            item = response.get("Item")
            if item:
                return _record(item)
        return None

    def mark_failed(self, *, task_id: str, reason: str, from_statuses: tuple[str, ...]) -> None:
        """Mark a task failed with a reason, only if it is still in one of `from_statuses`."""
        values = {f":from{i}": {"S": status} for i, status in enumerate(from_statuses)}
        with aws_call("UpdateItem"):
            self._client.update_item(
                TableName=self._table,
                Key={"taskId": {"S": task_id}},
                UpdateExpression="SET taskStatus = :failed, processRes = :res, processTime = :now",
                ConditionExpression=f"taskStatus IN ({', '.join(values)})",
                ExpressionAttributeValues={
                    ":failed": {"S": contract.FAILED},
                    ":res": {"S": contract.ProcessResult(error=reason).to_json()},
                    ":now": {"S": contract.utc_timestamp()},
                    **values,
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

    process_res = text("processRes")
    return TaskRecord(
        task_id=text("taskId") or "",
        status=text("taskStatus") or "",
        submit_time=text("submitTime") or "",
        request_data=text("requestData") or "",
        process_time=text("processTime"),
        process_result=contract.ProcessResult.from_json(process_res) if process_res else None,
        image_url=text("imageUrl"),
    )
