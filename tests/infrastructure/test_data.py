"""The task table, the queue and its dead-letter queue."""

from __future__ import annotations

from typing import Any

from infra import constants as c
from infra_support import Synth, logical_id, only_resource, resources_of


def test_table_is_keyed_on_task_id_on_demand_with_pitr_and_ttl(
    default_json: dict[str, Any],
) -> None:
    _, table = only_resource(default_json, "AWS::DynamoDB::Table")
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "taskId", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "taskId", "AttributeType": "S"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_table_is_retained_when_the_stack_is_deleted(default_json: dict[str, Any]) -> None:
    _, table = only_resource(default_json, "AWS::DynamoDB::Table")
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_queue_visibility_outlasts_the_longest_render(synth: Synth) -> None:
    queue = synth.default_json["Resources"][
        logical_id(synth.default_stack, synth.default_stack.data.queue)
    ]
    timeout = queue["Properties"]["VisibilityTimeout"]
    assert timeout == c.QUEUE_VISIBILITY_TIMEOUT_SECONDS
    assert timeout > c.WEBUI_TIMEOUT_SECONDS


def test_queue_redrives_to_the_dead_letter_queue_after_five_receives(synth: Synth) -> None:
    stack = synth.default_stack
    queue = synth.default_json["Resources"][logical_id(stack, stack.data.queue)]
    dlq_id = logical_id(stack, stack.data.dead_letter_queue)
    assert queue["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    assert c.MAX_RECEIVE_COUNT == 5


def test_both_queues_are_encrypted(default_json: dict[str, Any]) -> None:
    queues = resources_of(default_json, "AWS::SQS::Queue")
    assert len(queues) == 2
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True


def test_both_queues_refuse_requests_without_tls(default_json: dict[str, Any]) -> None:
    queue_ids = set(resources_of(default_json, "AWS::SQS::Queue"))
    guarded: set[str] = set()
    for policy in resources_of(default_json, "AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if (
                statement["Effect"] == "Deny"
                and statement["Action"] == "sqs:*"
                and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            ):
                guarded.update(q["Ref"] for q in policy["Properties"]["Queues"])
    assert guarded == queue_ids
