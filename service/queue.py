"""SQS adapter: messages in the contract's shape, botocore errors turned into ours."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service import contract
from service.aws import aws_call

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class TaskQueue:
    """Sends task messages to, and reads attributes of, the queue that feeds the workers."""

    def __init__(self, *, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self.url = queue_url

    def send(self, task_id: str) -> None:
        """Queue a task for the workers."""
        with aws_call("SendMessage"):
            self._client.send_message(QueueUrl=self.url, MessageBody=contract.message_body(task_id))

    def check_reachable(self) -> None:
        """Raise AwsUnavailable unless the queue exists and answers."""
        with aws_call("GetQueueAttributes"):
            self._client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
