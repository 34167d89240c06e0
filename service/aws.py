"""The one place that creates boto3 clients (once per process) and translates botocore errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from service.errors import AwsUnavailable, ConditionFailed
from service.settings import AwsSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True, kw_only=True)
class AwsClients:
    """The clients a process shares between its threads (boto3 clients are thread-safe)."""

    dynamodb: DynamoDBClient
    sqs: SQSClient
    s3: S3Client


def make_clients(settings: AwsSettings) -> AwsClients:
    """Create the process's clients; AWS_ENDPOINT_URL points them at LocalStack or moto."""
    config = Config(
        region_name=settings.region,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"mode": "standard", "max_attempts": settings.max_attempts},
        max_pool_connections=settings.max_pool_connections,
        # Emulators serve buckets by path; virtual-host names would not resolve to 127.0.0.1.
        s3={"addressing_style": "path"} if settings.endpoint_url else None,
    )
    session = boto3.session.Session(region_name=settings.region)
    return AwsClients(
        dynamodb=session.client("dynamodb", endpoint_url=settings.endpoint_url, config=config),
        sqs=session.client("sqs", endpoint_url=settings.endpoint_url, config=config),
        s3=session.client("s3", endpoint_url=settings.endpoint_url, config=config),
    )


@contextmanager
def aws_call(action: str) -> Iterator[None]:
    """Turn botocore's errors raised inside the block into the project's, keeping the cause."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ConditionalCheckFailedException":
            raise ConditionFailed(f"{action}: the item is not in the expected state") from exc
        if code == "ValidationException":
            # AWS refused the request itself: a bug of ours, not an outage to retry (a 500).
            raise
        raise AwsUnavailable(f"{action} failed: {code or exc}") from exc
    except BotoCoreError as exc:
        raise AwsUnavailable(f"{action} failed: {exc}") from exc
