"""Least privilege: the exact actions and resources of the API's and the workers' task roles."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam
from infra_support import Synth, logical_id, resources_of


def _statements_of(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in resources_of(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    assert not any(
        {"Ref": role_id} in r["Properties"].get("Roles", [])
        for r in resources_of(template, "AWS::IAM::ManagedPolicy").values()
    )
    assert "ManagedPolicyArns" not in template["Resources"][role_id]["Properties"]
    assert "Policies" not in template["Resources"][role_id]["Properties"]
    return statements


def _grants(statements: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Resource (as JSON text) -> allowed actions."""
    grants: dict[str, set[str]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert "Condition" not in statement
        actions = statement["Action"]
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            key = str(resource)
            grants.setdefault(key, set()).update(
                actions if isinstance(actions, list) else [actions]
            )
    return grants


def _role_id(synth: Synth, role: iam.IRole) -> str:
    return logical_id(synth.default_stack, role)


def test_api_task_role_has_exactly_its_actions(synth: Synth) -> None:
    stack = synth.default_stack
    role_id = _role_id(synth, stack.api.task_role)
    table_arn = {"Fn::GetAtt": [logical_id(stack, stack.data.table), "Arn"]}
    queue_arn = {"Fn::GetAtt": [logical_id(stack, stack.data.queue), "Arn"]}
    assert _grants(_statements_of(synth.default_json, role_id)) == {
        str(table_arn): {
            "dynamodb:PutItem",
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:DescribeTable",
        },
        str(queue_arn): {"sqs:SendMessage", "sqs:GetQueueAttributes"},
    }


def test_worker_task_role_has_exactly_its_actions(synth: Synth) -> None:
    stack = synth.default_stack
    assert stack.workers is not None
    role_id = _role_id(synth, stack.workers.task_role)
    table_arn = {"Fn::GetAtt": [logical_id(stack, stack.data.table), "Arn"]}
    queue_arn = {"Fn::GetAtt": [logical_id(stack, stack.data.queue), "Arn"]}
    images = {
        "Fn::Join": [
            "",
            [{"Fn::GetAtt": [logical_id(stack, stack.delivery.bucket), "Arn"]}, "/sd/out/*"],
        ]
    }
    assert _grants(_statements_of(synth.default_json, role_id)) == {
        str(queue_arn): {
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
        },
        str(table_arn): {"dynamodb:GetItem", "dynamodb:UpdateItem"},
        str(images): {"s3:PutObject"},
    }


def test_task_roles_are_assumed_by_ecs_tasks_only(synth: Synth) -> None:
    stack = synth.default_stack
    assert stack.workers is not None
    for role in (stack.api.task_role, stack.workers.task_role):
        document = synth.default_json["Resources"][_role_id(synth, role)]["Properties"][
            "AssumeRolePolicyDocument"
        ]
        assert [s["Principal"] for s in document["Statement"]] == [
            {"Service": "ecs-tasks.amazonaws.com"}
        ]


def test_no_wildcard_resource_outside_actions_that_require_it(synth: Synth) -> None:
    # Actions that AWS does not scope to a resource ARN.
    unscoped = {
        "ecr:GetAuthorizationToken",
        "ecs:DiscoverPollEndpoint",
        "ecs:Poll",
        "ecs:StartTelemetrySession",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ec2:DescribeSecurityGroups",
    }
    for template in (synth.default_json, synth.https_json):
        for policy_id, policy in resources_of(template, "AWS::IAM::Policy").items():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement["Resource"] == "*":
                    actions = statement["Action"]
                    actions = set(actions if isinstance(actions, list) else [actions])
                    assert actions <= unscoped, (policy_id, actions - unscoped)
