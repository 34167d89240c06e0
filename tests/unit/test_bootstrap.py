"""The bootstrap creates what a stack needs, in any region, and can run again."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from moto import mock_aws

from service.aws import make_clients
from service.bootstrap import Resources, ensure_resources
from service.settings import AwsSettings


@pytest.fixture
def mocked() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.mark.usefixtures("mocked")
@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_creates_table_queues_and_bucket_in_any_region(region: str) -> None:
    clients = make_clients(AwsSettings(region=region))
    queue_url = ensure_resources(clients, Resources())
    assert clients.dynamodb.describe_table(TableName="sd_tasks")["Table"]["KeySchema"] == [
        {"AttributeName": "taskId", "KeyType": "HASH"}
    ]
    assert queue_url.endswith("/sd-tasks")
    assert "sd-images" in {b["Name"] for b in clients.s3.list_buckets()["Buckets"]}


@pytest.mark.usefixtures("mocked")
def test_running_again_with_another_receive_limit_updates_the_queue() -> None:
    clients = make_clients(AwsSettings(region="us-east-1"))
    first = ensure_resources(clients, Resources(max_receive_count=5))
    second = ensure_resources(clients, Resources(max_receive_count=2))
    assert first == second
    policy = clients.sqs.get_queue_attributes(QueueUrl=second, AttributeNames=["RedrivePolicy"])
    assert json.loads(policy["Attributes"]["RedrivePolicy"])["maxReceiveCount"] == 2
