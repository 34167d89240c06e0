"""GPU workers: capacity from zero, the two-container task, backlog scaling, the off switch."""

from __future__ import annotations

from typing import Any

from infra import constants as c
from infra.worker_fleet import BACKLOG_PER_TASK_EXPRESSION, NEEDS_FIRST_TASK_EXPRESSION
from infra_support import (
    WEBUI_IMAGE,
    Synth,
    container,
    env_of,
    logical_id,
    only_resource,
    resources_of,
)


def _worker_service(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    services = {
        k: s
        for k, s in resources_of(template, "AWS::ECS::Service").items()
        if "CapacityProviderStrategy" in s["Properties"]
    }
    assert len(services) == 1
    return next(iter(services.items()))


def test_gpu_instances_default_to_a_g5_size_and_start_at_zero(default_json: dict[str, Any]) -> None:
    _, template = only_resource(default_json, "AWS::EC2::LaunchTemplate")
    data = template["Properties"]["LaunchTemplateData"]
    assert data["InstanceType"] == "g5.xlarge"
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    # The ECS GPU-optimised AMI, resolved from SSM at deploy time (no lookup at synthesis).
    parameters = default_json["Parameters"]
    assert any(
        "amazon-linux-2023/gpu/recommended/image_id" in str(p.get("Default", ""))
        for p in parameters.values()
    )
    _, group = only_resource(default_json, "AWS::AutoScaling::AutoScalingGroup")
    assert group["Properties"]["MinSize"] == "0"
    assert group["Properties"]["MaxSize"] == str(c.DEFAULT_WORKER_MAX_TASKS)


def test_capacity_provider_scales_instances_with_tasks(default_json: dict[str, Any]) -> None:
    _, provider = only_resource(default_json, "AWS::ECS::CapacityProvider")
    scaling = provider["Properties"]["AutoScalingGroupProvider"]["ManagedScaling"]
    assert scaling["Status"] == "ENABLED"
    assert scaling["TargetCapacity"] == 100
    _, service = _worker_service(default_json)
    assert service["Properties"]["DesiredCount"] == 0
    assert service["Properties"]["CapacityProviderStrategy"][0]["CapacityProvider"] == {
        "Ref": next(iter(resources_of(default_json, "AWS::ECS::CapacityProvider")))
    }
    assert service["Properties"]["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }
    association = next(
        iter(resources_of(default_json, "AWS::ECS::ClusterCapacityProviderAssociations"))
    )
    assert association in service["DependsOn"]


def test_task_runs_the_webui_with_a_gpu_beside_the_worker(synth: Synth) -> None:
    template = synth.default_json
    webui = container(template, c.WEBUI_CONTAINER_NAME)
    assert webui["Image"] == WEBUI_IMAGE
    assert webui["ResourceRequirements"] == [{"Type": "GPU", "Value": "1"}]
    assert webui["Essential"] is True
    assert "/sdapi/v1/progress" in " ".join(webui["HealthCheck"]["Command"])

    worker = container(template, c.WORKER_CONTAINER_NAME)
    assert worker["Command"] == ["python", "-m", "service.worker"]
    assert worker["DependsOn"] == [{"Condition": "HEALTHY", "ContainerName": "webui"}]
    assert "cdk-hnb659fds-container-assets" in str(worker["Image"])

    task_defs = [
        t
        for t in resources_of(template, "AWS::ECS::TaskDefinition").values()
        if {d["Name"] for d in t["Properties"]["ContainerDefinitions"]} == {"webui", "worker"}
    ]
    assert len(task_defs) == 1
    assert task_defs[0]["Properties"]["NetworkMode"] == "awsvpc"
    assert task_defs[0]["Properties"]["RequiresCompatibilities"] == ["EC2"]


def test_worker_container_environment(synth: Synth) -> None:
    stack = synth.default_stack
    env = env_of(container(synth.default_json, c.WORKER_CONTAINER_NAME))
    assert env == {
        "AWS_REGION": "us-east-1",
        "DYNAMODB_TABLE": {"Ref": logical_id(stack, stack.data.table)},
        "QUEUE_URL": {"Ref": logical_id(stack, stack.data.queue)},
        "IMAGES_BUCKET": {"Ref": logical_id(stack, stack.delivery.bucket)},
        "WEBUI_URL": "http://localhost:7860",
        "WEBUI_TIMEOUT_SECONDS": "300",
        "WORKER_CONCURRENCY": "1",
    }


def test_private_webui_image_is_pullable_by_the_execution_role(synth: Synth) -> None:
    stack = synth.default_stack
    assert stack.workers is not None
    role_id = logical_id(stack, stack.workers.task_definition.obtain_execution_role())
    resources = [
        str(statement["Resource"])
        for policy in resources_of(synth.default_json, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "ecr:BatchGetImage" in statement["Action"]
    ]
    assert any("arn:aws:ecr:us-east-1:123456789012:repository/sd/webui" in r for r in resources)


def test_workers_scale_on_backlog_per_task_with_target_tracking(synth: Synth) -> None:
    stack = synth.default_stack
    assert stack.workers is not None
    target_id = logical_id(stack, stack.workers.scalable_target)
    target = synth.default_json["Resources"][target_id]["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, c.DEFAULT_WORKER_MAX_TASKS)
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"

    policies = [
        p["Properties"]
        for p in resources_of(
            synth.default_json, "AWS::ApplicationAutoScaling::ScalingPolicy"
        ).values()
        if p["Properties"]["ScalingTargetId"] == {"Ref": target_id}
        and p["Properties"]["PolicyType"] == "TargetTrackingScaling"
    ]
    assert len(policies) == 1
    config = policies[0]["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == c.DEFAULT_BACKLOG_PER_WORKER
    assert config.get("DisableScaleIn", False) is False  # scales in, down to zero
    queries = {q["Id"]: q for q in config["CustomizedMetricSpecification"]["Metrics"]}
    assert queries["backlogPerTask"]["Expression"] == BACKLOG_PER_TASK_EXPRESSION
    assert queries["backlogPerTask"]["ReturnData"] is True
    assert [q["Id"] for q in queries.values() if q.get("ReturnData")] == ["backlogPerTask"]
    names = {
        qid: (q["MetricStat"]["Metric"]["Namespace"], q["MetricStat"]["Metric"]["MetricName"])
        for qid, q in queries.items()
        if "MetricStat" in q
    }
    assert names == {
        "visible": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        "inflight": ("AWS/SQS", "ApproximateNumberOfMessagesNotVisible"),
        "running": ("ECS/ContainerInsights", "RunningTaskCount"),
    }


def test_first_task_starts_when_work_arrives_and_none_runs(synth: Synth) -> None:
    stack = synth.default_stack
    assert stack.workers is not None
    target_id = logical_id(stack, stack.workers.scalable_target)
    steps = {
        k: p["Properties"]
        for k, p in resources_of(
            synth.default_json, "AWS::ApplicationAutoScaling::ScalingPolicy"
        ).items()
        if p["Properties"]["ScalingTargetId"] == {"Ref": target_id}
        and p["Properties"]["PolicyType"] == "StepScaling"
    }
    assert len(steps) == 1
    policy_id, policy = next(iter(steps.items()))
    assert policy["StepScalingPolicyConfiguration"]["StepAdjustments"] == [
        {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}
    ]
    alarms = [
        a["Properties"]
        for a in resources_of(synth.default_json, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("AlarmActions") == [{"Ref": policy_id}]
    ]
    assert len(alarms) == 1
    assert alarms[0]["Threshold"] == 1
    assert alarms[0]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    expressions = [m["Expression"] for m in alarms[0]["Metrics"] if "Expression" in m]
    assert expressions == [NEEDS_FIRST_TASK_EXPRESSION]


def test_container_insights_feed_the_running_task_metric(default_json: dict[str, Any]) -> None:
    clusters = resources_of(default_json, "AWS::ECS::Cluster").values()
    assert len(clusters) == 2
    for cluster in clusters:
        assert cluster["Properties"]["ClusterSettings"] == [
            {"Name": "containerInsights", "Value": "enabled"}
        ]


def test_workers_can_be_switched_off(synth: Synth) -> None:
    template = synth.https_json
    assert synth.https_stack.workers is None
    for type_ in (
        "AWS::AutoScaling::AutoScalingGroup",
        "AWS::ECS::CapacityProvider",
        "AWS::EC2::LaunchTemplate",
    ):
        assert not resources_of(template, type_), type_
    services = resources_of(template, "AWS::ECS::Service").values()
    assert [s["Properties"]["LaunchType"] for s in services] == ["FARGATE"]
