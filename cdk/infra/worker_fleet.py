"""GPU workers: an ECS service on an EC2 GPU Auto Scaling group that scales with the queue.

Each task runs the user's WebUI and this project's worker side by side (awsvpc, so the worker
reaches the WebUI on localhost). The service scales on the backlog per running task (metric math,
target tracking) down to zero tasks when idle; a step policy starts the first task when messages
arrive while none runs, because target tracking cannot scale out from zero. The capacity provider
then adds or removes GPU instances to fit the tasks, so an idle fleet has no instance.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aws_cdk import Annotations, Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import constants as c
from infra.nag import suppress_ecr_token_wildcard

# <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag | @digest]
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9._/-]+?)(?:[:@].*)?$"
)


def backlog_metrics(
    *, queue: sqs.IQueue, cluster_name: str, service_name: str
) -> dict[str, cloudwatch.Metric]:
    """The three metrics the scaling math combines, all over one 60-second period."""
    period = Duration.seconds(c.SCALING_PERIOD_SECONDS)
    return {
        "visible": queue.metric_approximate_number_of_messages_visible(
            period=period, statistic="Maximum"
        ),
        "inflight": queue.metric_approximate_number_of_messages_not_visible(
            period=period, statistic="Maximum"
        ),
        "running": cloudwatch.Metric(
            namespace=c.CONTAINER_INSIGHTS_NAMESPACE,
            metric_name="RunningTaskCount",
            dimensions_map={"ClusterName": cluster_name, "ServiceName": service_name},
            period=period,
            statistic="Average",
        ),
    }


# Messages waiting or being rendered, per running task; with no task running, the whole backlog.
BACKLOG_PER_TASK_EXPRESSION = "(visible + inflight) / IF(FILL(running, 0) > 0, FILL(running, 0), 1)"
# 1 while work waits and no task runs, else 0: the trigger for the first task.
NEEDS_FIRST_TASK_EXPRESSION = "IF(FILL(running, 0) < 1 AND visible > 0, 1, 0)"


class WorkerFleet(Construct):
    """The GPU cluster, its capacity provider, the two-container task and its scaling."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        vpc: ec2.IVpc,
        queue: sqs.IQueue,
        worker_image: ecs.ContainerImage,
        webui_image: str,
        environment: Mapping[str, str],
        instance_type: str,
        max_tasks: int,
        backlog_per_worker: int,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id_)
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.log_group = logs.LogGroup(
            self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )

        # --- capacity: GPU instances, none while no task needs one --------------------------
        self.instance_role = iam.Role(
            self, "InstanceRole", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com")
        )
        instance_sg = ec2.SecurityGroup(
            self,
            "InstanceSecurityGroup",
            vpc=vpc,
            description="GPU container instances: no inbound traffic",
            allow_all_outbound=True,
        )
        launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            instance_type=ec2.InstanceType(instance_type),
            machine_image=ecs.EcsOptimizedImage.amazon_linux2023(ecs.AmiHardwareType.GPU),
            user_data=ec2.UserData.for_linux(),
            role=self.instance_role,
            security_group=instance_sg,
            require_imdsv2=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        c.WORKER_ROOT_VOLUME_GIB,
                        encrypted=True,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                    ),
                )
            ],
        )
        self.auto_scaling_group = autoscaling.AutoScalingGroup(
            self,
            "GpuInstances",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            launch_template=launch_template,
            min_capacity=0,
            max_capacity=max_tasks,
        )
        self.capacity_provider = ecs.AsgCapacityProvider(
            self,
            "CapacityProvider",
            auto_scaling_group=self.auto_scaling_group,
            enable_managed_scaling=True,
            enable_managed_termination_protection=True,
            target_capacity_percent=100,
        )
        self.cluster.add_asg_capacity_provider(self.capacity_provider)

        # --- the task: WebUI + worker ---------------------------------------------------------
        self.task_definition = ecs.Ec2TaskDefinition(
            self, "TaskDefinition", network_mode=ecs.NetworkMode.AWS_VPC
        )
        self.task_role = self.task_definition.task_role
        webui = self.task_definition.add_container(
            c.WEBUI_CONTAINER_NAME,
            image=ecs.ContainerImage.from_registry(webui_image),
            gpu_count=1,
            memory_reservation_mib=c.WEBUI_MEMORY_RESERVATION_MIB,
            essential=True,
            port_mappings=[ecs.PortMapping(container_port=c.WEBUI_PORT)],
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix=c.WEBUI_CONTAINER_NAME, log_group=self.log_group
            ),
            # Every A1111 fork ships python3; slim WebUI images may lack curl.
            health_check=ecs.HealthCheck(
                command=[
                    "CMD-SHELL",
                    'python3 -c "import urllib.request; urllib.request.urlopen('
                    f"'http://localhost:{c.WEBUI_PORT}{c.WEBUI_HEALTH_PATH}', timeout=5)\"",
                ],
                interval=Duration.seconds(30),
                timeout=Duration.seconds(10),
                retries=5,
                start_period=Duration.seconds(c.WEBUI_HEALTH_START_PERIOD_SECONDS),
            ),
        )
        worker = self.task_definition.add_container(
            c.WORKER_CONTAINER_NAME,
            image=worker_image,
            command=list(c.WORKER_COMMAND),
            memory_limit_mib=c.WORKER_MEMORY_LIMIT_MIB,
            essential=True,
            environment=dict(environment),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix=c.WORKER_CONTAINER_NAME, log_group=self.log_group
            ),
        )
        worker.add_container_dependencies(
            ecs.ContainerDependency(
                container=webui, condition=ecs.ContainerDependencyCondition.HEALTHY
            )
        )
        self._grant_private_ecr_pull(webui, webui_image)

        self.security_group = ec2.SecurityGroup(
            self,
            "TaskSecurityGroup",
            vpc=vpc,
            description="GPU worker tasks: outbound only",
            allow_all_outbound=True,
        )
        self.service = ecs.Ec2Service(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self.task_definition,
            desired_count=0,
            # Replace in place: a spare GPU instance per deployment is not worth its cost, and
            # a stopped worker's message returns to the queue.
            min_healthy_percent=0,
            max_healthy_percent=100,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            capacity_provider_strategies=[
                ecs.CapacityProviderStrategy(
                    capacity_provider=self.capacity_provider.capacity_provider_name, weight=1
                )
            ],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[self.security_group],
        )
        # The service may only be created once the capacity provider is attached to the cluster.
        self.service.node.add_dependency(self.cluster)

        self._add_scaling(queue=queue, max_tasks=max_tasks, backlog_per_worker=backlog_per_worker)
        self._add_suppressions()

    def _grant_private_ecr_pull(self, webui: ecs.ContainerDefinition, webui_image: str) -> None:
        """Let the execution role pull the WebUI image when it lives in a private ECR repository."""
        match = _ECR_IMAGE.match(webui_image)
        if match is None:
            return
        Annotations.of(webui).acknowledge_warning(
            "@aws-cdk/aws-ecs:ecrImageRequiresPolicy",
            "The execution role is granted pulls from this repository below.",
        )
        repository_arn = Stack.of(self).format_arn(
            service="ecr",
            account=match["account"],
            region=match["region"],
            resource="repository",
            resource_name=match["repository"],
        )
        execution_role = self.task_definition.obtain_execution_role()
        execution_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                ],
                resources=[repository_arn],
            )
        )

    def _add_scaling(self, *, queue: sqs.IQueue, max_tasks: int, backlog_per_worker: int) -> None:
        self.scalable_target = appscaling.ScalableTarget(
            self,
            "TaskCount",
            service_namespace=appscaling.ServiceNamespace.ECS,
            resource_id=f"service/{self.cluster.cluster_name}/{self.service.service_name}",
            scalable_dimension="ecs:service:DesiredCount",
            min_capacity=0,
            max_capacity=max_tasks,
        )
        metrics = backlog_metrics(
            queue=queue,
            cluster_name=self.cluster.cluster_name,
            service_name=self.service.service_name,
        )
        self.backlog_per_task = cloudwatch.MathExpression(
            expression=BACKLOG_PER_TASK_EXPRESSION,
            using_metrics=dict(metrics),
            label="Backlog per worker task",
            period=Duration.seconds(c.SCALING_PERIOD_SECONDS),
        )

        # The L2 target tracking policy takes a single metric only; metric math needs the L1.
        def query(
            metric_id: str,
        ) -> appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty:
            metric = metrics[metric_id]
            return appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty(
                id=metric_id,
                return_data=False,
                metric_stat=appscaling.CfnScalingPolicy.TargetTrackingMetricStatProperty(
                    stat=metric.statistic,
                    metric=appscaling.CfnScalingPolicy.TargetTrackingMetricProperty(
                        namespace=metric.namespace,
                        metric_name=metric.metric_name,
                        dimensions=[
                            appscaling.CfnScalingPolicy.TargetTrackingMetricDimensionProperty(
                                name=name, value=str(value)
                            )
                            for name, value in (metric.dimensions or {}).items()
                        ],
                    ),
                ),
            )

        self.backlog_policy = appscaling.CfnScalingPolicy(
            self,
            "BacklogPerTaskScaling",
            policy_name=f"{Names.unique_id(self)}-backlog-per-task",
            policy_type="TargetTrackingScaling",
            scaling_target_id=self.scalable_target.scalable_target_id,
            target_tracking_scaling_policy_configuration=appscaling.CfnScalingPolicy.TargetTrackingScalingPolicyConfigurationProperty(
                target_value=backlog_per_worker,
                scale_in_cooldown=c.WORKER_SCALE_IN_COOLDOWN_SECONDS,
                scale_out_cooldown=c.WORKER_SCALE_OUT_COOLDOWN_SECONDS,
                customized_metric_specification=appscaling.CfnScalingPolicy.CustomizedMetricSpecificationProperty(
                    metrics=[
                        query("visible"),
                        query("inflight"),
                        query("running"),
                        appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty(
                            id="backlogPerTask",
                            expression=BACKLOG_PER_TASK_EXPRESSION,
                            label="Backlog per worker task",
                            return_data=True,
                        ),
                    ]
                ),
            ),
        )
        self.scalable_target.scale_on_metric(
            "ScaleOutFromZero",
            metric=cloudwatch.MathExpression(
                expression=NEEDS_FIRST_TASK_EXPRESSION,
                using_metrics={"visible": metrics["visible"], "running": metrics["running"]},
                label="Work waiting and no worker running",
                period=Duration.seconds(c.SCALING_PERIOD_SECONDS),
            ),
            # Change 0 below 1 is a gap: only the "start one task" alarm is created.
            scaling_steps=[
                appscaling.ScalingInterval(upper=0, change=0),
                appscaling.ScalingInterval(lower=1, change=1),
            ],
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=Duration.seconds(c.WORKER_SCALE_OUT_COOLDOWN_SECONDS),
            evaluation_periods=1,
        )

    def _add_suppressions(self) -> None:
        suppress_ecr_token_wildcard(self.task_definition.obtain_execution_role())
        NagSuppressions.add_resource_suppressions(
            self.instance_role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="The ECS agent's own actions (ecs:Submit*, ecs:Poll, "
                    "ecs:StartTelemetrySession, ecr:GetAuthorizationToken, logs) as CDK grants "
                    "them to container instances; several act on no resource ARN.",
                    applies_to=["Action::ecs:Submit*", "Resource::*"],
                )
            ],
            apply_to_children=True,
        )
        NagSuppressions.add_resource_suppressions(
            self.task_definition,
            [
                NagPackSuppression(
                    id="AwsSolutions-ECS2",
                    reason="The environment holds resource names and tuning values, no secrets.",
                ),
            ],
        )
        NagSuppressions.add_resource_suppressions(
            self.auto_scaling_group,
            [
                NagPackSuppression(
                    id="AwsSolutions-AS3",
                    reason="The group scales to and from zero many times a day by design; "
                    "capacity is on the dashboard and failures raise the queue-age alarm.",
                ),
            ],
            apply_to_children=True,
        )
