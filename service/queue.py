"""SQS adapter: messages in the contract's shape, botocore errors turned into ours."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service import contract
from service.aws import aws_call

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SQS refuses a visibility timeout above 12 hours.
MAX_VISIBILITY_SECONDS = 43_200


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """One received message: its body, its receipt handle, how often it was received."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int


class TaskQueue:
    """Sends, receives and acknowledges task messages on the queue that feeds the workers."""

    def __init__(self, *, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self.url = queue_url

    def send(self, task_id: str) -> None:
        """Queue a task for the workers."""
        with aws_call("SendMessage"):
            self._client.send_message(QueueUrl=self.url, MessageBody=contract.message_body(task_id))

    def receive(
        self, *, wait_seconds: int, visibility_seconds: int, max_messages: int = 1
    ) -> list[Delivery]:
        """Long-poll for messages, hiding each one for `visibility_seconds`."""
        with aws_call("ReceiveMessage"):
            response = self._client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=max_messages,
                WaitTimeSeconds=wait_seconds,
                VisibilityTimeout=visibility_seconds,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
        return [
            Delivery(
                message_id=message["MessageId"],
                receipt_handle=message["ReceiptHandle"],
                body=message.get("Body", ""),
                receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
            )
            for message in response.get("Messages", [])
        ]

    def delete(self, receipt_handle: str) -> None:
        """Acknowledge a message, so it is never delivered again."""
        with aws_call("DeleteMessage"):
            self._client.delete_message(QueueUrl=self.url, ReceiptHandle=receipt_handle)

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        """Hide a received message for `seconds` from now; 0 hands it back at once."""
        seconds = max(0, min(seconds, MAX_VISIBILITY_SECONDS))
        with aws_call("ChangeMessageVisibility"):
            self._client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )

    def max_receive_count(self) -> int | None:
        """The receive count after which SQS moves a message to the dead-letter queue, if any."""
        with aws_call("GetQueueAttributes"):
            attributes = self._client.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["RedrivePolicy"]
            ).get("Attributes", {})
        raw = attributes.get("RedrivePolicy")
        if not raw:
            return None
        try:
            return int(json.loads(raw)["maxReceiveCount"])
        except (ValueError, KeyError, TypeError):
            return None

    def check_reachable(self) -> None:
        """Raise AwsUnavailable unless the queue exists and answers."""
        with aws_call("GetQueueAttributes"):
            self._client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
