"""The HTTP API: Fargate tasks in private subnets behind an internet-facing ALB."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import constants as c
from infra.nag import suppress_ecr_token_wildcard


class ApiService(Construct):
    """ApplicationLoadBalancedFargateService with health check, circuit breaker and autoscaling.

    HTTPS with the given certificate (HTTP redirected to it), plain HTTP when there is none.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        vpc: ec2.IVpc,
        image: ecs.ContainerImage,
        environment: Mapping[str, str],
        cpu: int,
        memory_mib: int,
        min_tasks: int,
        max_tasks: int,
        certificate_arn: str | None,
        access_logs_bucket: s3.IBucket,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id_)
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.log_group = logs.LogGroup(
            self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)
            if certificate_arn
            else None
        )
        https = certificate is not None
        self.https = https
        self.service = ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Service",
            cluster=self.cluster,
            cpu=cpu,
            memory_limit_mib=memory_mib,
            desired_count=min_tasks,
            min_healthy_percent=100,
            max_healthy_percent=200,
            public_load_balancer=True,
            assign_public_ip=False,
            task_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            health_check_grace_period=Duration.seconds(60),
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
            certificate=certificate,
            protocol=elbv2.ApplicationProtocol.HTTPS if https else elbv2.ApplicationProtocol.HTTP,
            redirect_http=https,
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS if https else None,
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=image,
                container_name=c.API_CONTAINER_NAME,
                container_port=c.API_PORT,
                environment=dict(environment),
                log_driver=ecs.LogDrivers.aws_logs(
                    stream_prefix=c.API_CONTAINER_NAME, log_group=self.log_group
                ),
            ),
        )
        self.task_role = self.service.task_definition.task_role
        self.load_balancer = self.service.load_balancer
        self.target_group = self.service.target_group

        self.target_group.configure_health_check(
            path=c.HEALTH_CHECK_PATH,
            healthy_http_codes="200",
            interval=Duration.seconds(c.HEALTH_CHECK_INTERVAL_SECONDS),
            timeout=Duration.seconds(5),
            healthy_threshold_count=2,
            unhealthy_threshold_count=3,
        )
        self.target_group.set_attribute(
            "deregistration_delay.timeout_seconds", str(c.DEREGISTRATION_DELAY_SECONDS)
        )
        self.load_balancer.set_attribute("routing.http.drop_invalid_header_fields.enabled", "true")
        self.load_balancer.log_access_logs(access_logs_bucket, c.ALB_LOG_PREFIX)

        scaling = self.service.service.auto_scale_task_count(
            min_capacity=min_tasks, max_capacity=max_tasks
        )
        scaling.scale_on_cpu_utilization(
            "CpuScaling",
            target_utilization_percent=c.API_CPU_TARGET_PERCENT,
            scale_in_cooldown=Duration.seconds(c.API_SCALE_IN_COOLDOWN_SECONDS),
            scale_out_cooldown=Duration.seconds(c.API_SCALE_OUT_COOLDOWN_SECONDS),
        )
        scaling.scale_on_request_count(
            "RequestScaling",
            requests_per_target=c.API_REQUESTS_PER_TARGET,
            target_group=self.target_group,
            scale_in_cooldown=Duration.seconds(c.API_SCALE_IN_COOLDOWN_SECONDS),
            scale_out_cooldown=Duration.seconds(c.API_SCALE_OUT_COOLDOWN_SECONDS),
        )

        NagSuppressions.add_resource_suppressions(
            self.service.load_balancer,
            [
                NagPackSuppression(
                    id="AwsSolutions-EC23",
                    reason="The API is public: its load balancer accepts clients from anywhere on "
                    "the listener port only.",
                )
            ],
            apply_to_children=True,
        )
        NagSuppressions.add_resource_suppressions(
            self.service.task_definition,
            [
                NagPackSuppression(
                    id="AwsSolutions-ECS2",
                    reason="The environment holds resource names and tuning values, no secrets.",
                ),
            ],
        )
        suppress_ecr_token_wildcard(self.service.task_definition.obtain_execution_role())
