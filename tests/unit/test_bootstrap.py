"""The bootstrap creates what a stack needs, in any region, and can run again."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from moto import mock_aws

from service.aws import make_clients
from service.bootstrap import Resources, ensure_resources
from service.settings import AwsSettings, ConfigError


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


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAX_RECEIVE_COUNT", "0", "MAX_RECEIVE_COUNT must be at least 1"),
        ("MAX_RECEIVE_COUNT", "five", "MAX_RECEIVE_COUNT must be an integer"),
        ("IMAGES_PUBLIC_READ", "yes", "IMAGES_PUBLIC_READ must be 0 or 1"),
    ],
)
def test_bad_names_and_switches_are_refused(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Resources.from_env({name: value})


def test_the_environment_names_the_resources() -> None:
    resources = Resources.from_env({"MAX_RECEIVE_COUNT": "2", "IMAGES_PUBLIC_READ": "1"})
    assert resources.max_receive_count == 2
    assert resources.public_images is True
    assert Resources.from_env({}) == Resources()
