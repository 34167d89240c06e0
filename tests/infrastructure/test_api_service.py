"""The API on Fargate behind the ALB: health check, env, network, deployment, scaling, TLS."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template
from infra import constants as c
from infra_support import (
    CERTIFICATE_ARN,
    HTTPS_API_MAX,
    HTTPS_API_MIN,
    Synth,
    container,
    env_of,
    logical_id,
    only_resource,
    resources_of,
)


def _api_service(template: dict[str, Any]) -> dict[str, Any]:
    services = [
        s
        for s in resources_of(template, "AWS::ECS::Service").values()
        if s["Properties"].get("LaunchType") == "FARGATE"
    ]
    assert len(services) == 1
    return services[0]


def test_target_group_checks_healthz_on_the_container_port(
    default: Template, default_json: dict[str, Any]
) -> None:
    default.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "HealthCheckPath": "/healthz",
            "Protocol": "HTTP",
            "TargetType": "ip",
            "Matcher": {"HttpCode": "200"},
        },
    )
    # The health check uses the traffic port: the container port the service registers.
    group_id = next(iter(resources_of(default_json, "AWS::ElasticLoadBalancingV2::TargetGroup")))
    group = default_json["Resources"][group_id]["Properties"]
    assert "HealthCheckPort" not in group
    assert _api_service(default_json)["Properties"]["LoadBalancers"] == [
        {"ContainerName": "api", "ContainerPort": 8000, "TargetGroupArn": {"Ref": group_id}}
    ]


def test_api_container_environment(synth: Synth) -> None:
    stack = synth.default_stack
    api = container(synth.default_json, c.API_CONTAINER_NAME)
    env = env_of(api)
    assert env["DYNAMODB_TABLE"] == {"Ref": logical_id(stack, stack.data.table)}
    assert env["QUEUE_URL"] == {"Ref": logical_id(stack, stack.data.queue)}
    assert env["CLOUDFRONT_DOMAIN"] == {
        "Fn::GetAtt": [logical_id(stack, stack.delivery.distribution), "DomainName"]
    }
    assert env["PORT"] == "8000"
    assert api["PortMappings"] == [{"ContainerPort": 8000, "Protocol": "tcp"}]
    # The image asset, not a public image.
    assert "cdk-hnb659fds-container-assets" in str(api["Image"])


def test_api_logs_go_to_a_log_group_with_retention(synth: Synth) -> None:
    stack = synth.default_stack
    api = container(synth.default_json, c.API_CONTAINER_NAME)
    group_id = logical_id(stack, stack.api.log_group)
    assert api["LogConfiguration"]["LogDriver"] == "awslogs"
    assert api["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": group_id}
    assert synth.default_json["Resources"][group_id]["Properties"]["RetentionInDays"] == 30


def test_tasks_run_in_private_subnets_without_public_ip(synth: Synth) -> None:
    stack = synth.default_stack
    service = _api_service(synth.default_json)
    network = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    private = {stack.resolve(s.subnet_id)["Ref"] for s in stack.network.vpc.private_subnets}
    assert {s["Ref"] for s in network["Subnets"]} == private
    assert len(private) == 2


def test_load_balancer_is_internet_facing_in_public_subnets(synth: Synth) -> None:
    stack = synth.default_stack
    _, alb = only_resource(synth.default_json, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert alb["Properties"]["Scheme"] == "internet-facing"
    public = {stack.resolve(s.subnet_id)["Ref"] for s in stack.network.vpc.public_subnets}
    assert {s["Ref"] for s in alb["Properties"]["Subnets"]} == public


def test_vpc_spans_two_availability_zones(default_json: dict[str, Any]) -> None:
    subnets = resources_of(default_json, "AWS::EC2::Subnet").values()
    zones = {str(s["Properties"]["AvailabilityZone"]) for s in subnets}
    assert len(zones) == 2


def test_deployment_circuit_breaker_rolls_back(default_json: dict[str, Any]) -> None:
    service = _api_service(default_json)
    assert service["Properties"]["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }


def test_alb_writes_access_logs_to_the_log_bucket(synth: Synth) -> None:
    stack = synth.default_stack
    _, alb = only_resource(synth.default_json, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {
        "Ref": logical_id(stack, stack.access_logs.bucket)
    }
    assert attributes["access_logs.s3.prefix"] == c.ALB_LOG_PREFIX
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_only_the_alb_reaches_the_tasks(synth: Synth) -> None:
    template = synth.default_json
    service = _api_service(template)
    groups = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    assert len(groups) == 1
    task_sg = groups[0]["Fn::GetAtt"][0]
    _, alb = only_resource(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    alb_sg = alb["Properties"]["SecurityGroups"][0]["Fn::GetAtt"][0]
    # No inline ingress on the task group ...
    assert "SecurityGroupIngress" not in template["Resources"][task_sg]["Properties"]
    # ... and every ingress rule into it comes from the ALB's group, on the container port only.
    rules = [
        r["Properties"]
        for r in resources_of(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [task_sg, "GroupId"]}
    ]
    assert rules == [
        {
            "Description": "Load balancer to target",
            "FromPort": 8000,
            "GroupId": {"Fn::GetAtt": [task_sg, "GroupId"]},
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": {"Fn::GetAtt": [alb_sg, "GroupId"]},
            "ToPort": 8000,
        }
    ]


def test_api_scales_on_cpu_and_requests_per_target_between_min_and_max(
    default: Template, synth: Synth
) -> None:
    targets = [
        t["Properties"]
        for t in resources_of(
            synth.default_json, "AWS::ApplicationAutoScaling::ScalableTarget"
        ).values()
        if t["Properties"]["MinCapacity"] >= 1
    ]
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [(1, 4)]
    default.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                    },
                    "TargetValue": c.API_CPU_TARGET_PERCENT,
                }
            ),
        },
    )
    default.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "PredefinedMetricSpecification": Match.object_like(
                        {"PredefinedMetricType": "ALBRequestCountPerTarget"}
                    ),
                    "TargetValue": c.API_REQUESTS_PER_TARGET,
                }
            ),
        },
    )


def test_min_and_max_tasks_come_from_the_config(synth: Synth) -> None:
    targets = resources_of(synth.https_json, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert [
        (t["Properties"]["MinCapacity"], t["Properties"]["MaxCapacity"]) for t in targets.values()
    ] == [(HTTPS_API_MIN, HTTPS_API_MAX)]
    assert _api_service(synth.https_json)["Properties"]["DesiredCount"] == HTTPS_API_MIN


def test_without_certificate_the_listener_is_plain_http(default_json: dict[str, Any]) -> None:
    listeners = resources_of(default_json, "AWS::ElasticLoadBalancingV2::Listener")
    assert [
        (lis["Properties"]["Port"], lis["Properties"]["Protocol"]) for lis in listeners.values()
    ] == [(80, "HTTP")]
    assert default_json["Outputs"]["ApiUrl"]["Value"]["Fn::Join"][1][0] == "http://"


def test_with_certificate_https_serves_and_http_redirects(synth: Synth) -> None:
    listeners = {
        lis["Properties"]["Port"]: lis["Properties"]
        for lis in resources_of(synth.https_json, "AWS::ElasticLoadBalancingV2::Listener").values()
    }
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["Protocol"] == "HTTPS"
    assert https["Certificates"] == [{"CertificateArn": CERTIFICATE_ARN}]
    assert https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert listeners[80]["DefaultActions"][0]["Type"] == "redirect"
    assert listeners[80]["DefaultActions"][0]["RedirectConfig"]["Protocol"] == "HTTPS"
    assert synth.https_json["Outputs"]["ApiUrl"]["Value"]["Fn::Join"][1][0] == "https://"
