"""Shared fixtures: fake AWS credentials, moto in-process or as a real HTTP server, the app."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto import mock_aws
from moto.server import ThreadedMotoServer

from service.app import create_app
from service.aws import AwsClients, make_clients
from service.bootstrap import Resources, ensure_resources
from service.settings import AwsSettings

REGION = "us-east-1"
CLOUDFRONT_DOMAIN = "d111111abcdef8.cloudfront.net"


@pytest.fixture(autouse=True, scope="session")
def fake_aws_environment() -> Iterator[None]:
    """Make sure no test can reach real AWS or read the developer's credentials."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "QUEUE_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_REGION", REGION)
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        yield


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, kw_only=True)
class Stack:
    """A table, a queue with its dead-letter queue and a bucket, and clients that reach them."""

    clients: AwsClients
    resources: Resources
    queue_url: str
    dlq_url: str
    endpoint_url: str | None

    @property
    def env(self) -> dict[str, str]:
        """The environment a process of ours needs to use this stack."""
        env = {
            "DYNAMODB_TABLE": self.resources.table_name,
            "QUEUE_URL": self.queue_url,
            "IMAGES_BUCKET": self.resources.bucket_name,
            "CLOUDFRONT_DOMAIN": CLOUDFRONT_DOMAIN,
            "MAX_RECEIVE_COUNT": str(self.resources.max_receive_count),
        }
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        return env

    def item(self, task_id: str) -> dict[str, dict[str, str]] | None:
        """The raw DynamoDB item of a task, as a worker would read it."""
        response = self.clients.dynamodb.get_item(
            TableName=self.resources.table_name,
            Key={"taskId": {"S": task_id}},
            ConsistentRead=True,
        )
        return response.get("Item")  # type: ignore[return-value]

    def item_count(self) -> int:
        """How many items the table holds."""
        return self.clients.dynamodb.scan(TableName=self.resources.table_name)["Count"]

    def messages(self, queue_url: str | None = None) -> list[dict[str, str]]:
        """Receive (and so hide) every message on the queue, for tests that check what was sent."""
        received: list[dict[str, str]] = []
        while True:
            batch = self.clients.sqs.receive_message(
                QueueUrl=queue_url or self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                return received
            received.extend(batch)  # type: ignore[arg-type]


def build_stack(endpoint_url: str | None, *, max_receive_count: int = 5) -> Stack:
    """Create uniquely named resources, so tests sharing one emulator never see each other."""
    clients = make_clients(AwsSettings(region=REGION, endpoint_url=endpoint_url))
    suffix = uuid.uuid4().hex[:8]
    resources = Resources(
        table_name=f"sd_tasks_{suffix}",
        queue_name=f"sd-tasks-{suffix}",
        bucket_name=f"sd-images-{suffix}",
        max_receive_count=max_receive_count,
    )
    queue_url = ensure_resources(clients, resources)
    dlq_url = clients.sqs.get_queue_url(QueueName=f"{resources.queue_name}-dlq")["QueueUrl"]
    return Stack(
        clients=clients,
        resources=resources,
        queue_url=queue_url,
        dlq_url=dlq_url,
        endpoint_url=endpoint_url,
    )


@pytest.fixture
def aws_stack() -> Iterator[Stack]:
    """Resources in moto's in-process mock (no HTTP), fresh for each test."""
    with mock_aws():
        yield build_stack(None)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's real HTTP server on 127.0.0.1, shared by the session's tests."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def server_stack(moto_endpoint: str) -> Stack:
    """Resources on moto's HTTP server, uniquely named for this test."""
    return build_stack(moto_endpoint)


@pytest.fixture
def app(aws_stack: Stack) -> Flask:
    """The app wired to the in-process stack."""
    return create_app(aws_stack.env, clients=aws_stack.clients)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()
