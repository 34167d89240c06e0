"""Create the table, the queue with its dead-letter queue, and the images bucket, if missing.

Used by `make run`, the docker-compose stack and the tests, against LocalStack or moto; on AWS
the CDK app creates these. Run as `python -m service.bootstrap`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs.literals import QueueAttributeNameType

from service.aws import AwsClients, aws_call, make_clients
from service.errors import AwsUnavailable
from service.settings import ConfigError, aws_from_env, env_int, env_switch

# Long enough for a render plus uploads, the worker's heartbeat extends it for longer jobs.
VISIBILITY_TIMEOUT_SECONDS = 120


@dataclass(frozen=True, kw_only=True)
class Resources:
    """Names of what the stack needs."""

    table_name: str = "sd_tasks"
    queue_name: str = "sd-tasks"
    bucket_name: str = "sd-images"
    max_receive_count: int = 5
    # Local stacks only: lets a browser open image URLs on the emulator without signing them.
    public_images: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Resources:
        """Read DYNAMODB_TABLE, QUEUE_NAME, IMAGES_BUCKET, MAX_RECEIVE_COUNT, IMAGES_PUBLIC_READ."""
        return cls(
            table_name=env.get("DYNAMODB_TABLE") or cls.table_name,
            queue_name=env.get("QUEUE_NAME") or cls.queue_name,
            bucket_name=env.get("IMAGES_BUCKET") or cls.bucket_name,
            max_receive_count=env_int(env, "MAX_RECEIVE_COUNT", cls.max_receive_count, minimum=1),
            public_images=env_switch(env, "IMAGES_PUBLIC_READ", cls.public_images),
        )


def allow_public_read(clients: AwsClients, bucket_name: str) -> None:
    """Let anyone GET the bucket's objects, as CloudFront would serve them: emulators only."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "LocalPublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket_name}/*",
            }
        ],
    }
    with aws_call("PutBucketPolicy"):
        clients.s3.put_bucket_policy(Bucket=bucket_name, Policy=json.dumps(policy))


def ensure_resources(clients: AwsClients, resources: Resources) -> str:
    """Create whatever is missing and return the queue's URL. Safe to run again."""
    with aws_call("CreateTable"):
        existing = clients.dynamodb.list_tables()["TableNames"]
        if resources.table_name not in existing:
            clients.dynamodb.create_table(
                TableName=resources.table_name,
                AttributeDefinitions=[{"AttributeName": "taskId", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "taskId", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
            clients.dynamodb.get_waiter("table_exists").wait(TableName=resources.table_name)
    with aws_call("CreateQueue"):
        dlq_url = clients.sqs.create_queue(QueueName=f"{resources.queue_name}-dlq")["QueueUrl"]
        dlq_arn = clients.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": resources.max_receive_count}
        attributes: dict[QueueAttributeNameType, str] = {
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
            "RedrivePolicy": json.dumps(redrive),
        }
        # CreateQueue refuses other attributes for an existing queue: update those instead.
        existing_queues = clients.sqs.list_queues(QueueNamePrefix=resources.queue_name)
        queue_url = next(
            (
                url
                for url in existing_queues.get("QueueUrls", [])
                if url.rsplit("/", 1)[-1] == resources.queue_name
            ),
            None,
        )
        if queue_url:
            clients.sqs.set_queue_attributes(QueueUrl=queue_url, Attributes=attributes)
        else:
            queue_url = clients.sqs.create_queue(
                QueueName=resources.queue_name, Attributes=attributes
            )["QueueUrl"]
    with aws_call("CreateBucket"):
        buckets = {bucket["Name"] for bucket in clients.s3.list_buckets().get("Buckets", [])}
        if resources.bucket_name not in buckets:
            region = clients.s3.meta.region_name
            if region == "us-east-1":  # the one region S3 refuses a location constraint for
                clients.s3.create_bucket(Bucket=resources.bucket_name)
            else:
                clients.s3.create_bucket(
                    Bucket=resources.bucket_name,
                    CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                )
    if resources.public_images:
        allow_public_read(clients, resources.bucket_name)
    return queue_url


def main() -> None:
    """Create the resources named by the environment and print the queue URL."""
    try:
        clients = make_clients(aws_from_env(os.environ))
        resources = Resources.from_env(os.environ)
    except ConfigError as exc:
        sys.exit(f"configuration error: {exc}")
    try:
        print(ensure_resources(clients, resources))
    except AwsUnavailable as exc:
        sys.exit(f"could not create the resources: {exc}")


if __name__ == "__main__":
    main()
