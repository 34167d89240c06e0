"""The stack: composes the constructs, wires least-privilege grants and publishes outputs."""

from __future__ import annotations

from aws_cdk import CfnOutput, CfnResource, Environment, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_ecr_assets import Platform
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import constants as c
from infra.access_logs import AccessLogs
from infra.api_service import ApiService
from infra.config import DeploymentConfig, log_retention
from infra.data import Data
from infra.delivery import Delivery
from infra.monitoring import EcsServiceRef, Monitoring
from infra.network import Network
from infra.worker_fleet import WorkerFleet

API_TABLE_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "dynamodb:DescribeTable",
)
API_QUEUE_ACTIONS = ("sqs:SendMessage", "sqs:GetQueueAttributes")
WORKER_QUEUE_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
)
WORKER_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")
WORKER_BUCKET_ACTIONS = ("s3:PutObject",)


class SdTaskServiceStack(Stack):
    """API on Fargate, data, delivery, optional GPU workers and monitoring, in one stack."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: DeploymentConfig,
        env: Environment | None = None,
    ) -> None:
        super().__init__(
            scope,
            id_,
            env=env,
            description="SD task service: task API on Fargate, DynamoDB, SQS, S3 + CloudFront, "
            "GPU workers",
        )
        retention = log_retention(config.log_retention_days)
        network = Network(
            self, "Network", nat_gateways=config.nat_gateways, log_retention=retention
        )
        data = Data(self, "Data")
        access_logs = AccessLogs(self, "AccessLogs")
        delivery = Delivery(
            self,
            "Delivery",
            image_retention_days=config.image_retention_days,
            access_logs_bucket=access_logs.bucket,
        )
        image = ecs.ContainerImage.from_asset(
            str(config.image_asset_dir),
            exclude=list(c.ASSET_EXCLUDES),
            platform=Platform.LINUX_AMD64,
        )

        api = ApiService(
            self,
            "Api",
            vpc=network.vpc,
            image=image,
            environment={
                "DYNAMODB_TABLE": data.table.table_name,
                "QUEUE_URL": data.queue.queue_url,
                "CLOUDFRONT_DOMAIN": delivery.distribution.distribution_domain_name,
                "PORT": str(c.API_PORT),
                "TASK_TTL_DAYS": str(config.task_ttl_days),
                "CORS_ALLOW_ORIGINS": ",".join(config.cors_allow_origins),
            },
            cpu=config.api_cpu,
            memory_mib=config.api_memory_mib,
            min_tasks=config.api_min_tasks,
            max_tasks=config.api_max_tasks,
            certificate_arn=config.certificate_arn,
            access_logs_bucket=access_logs.bucket,
            log_retention=retention,
        )
        grant_api(api.task_role, table=data.table, queue=data.queue)
        services = [EcsServiceRef(label="API", cluster=api.cluster, service=api.service.service)]

        self.workers: WorkerFleet | None = None
        if config.workers_enabled:
            assert config.webui_image is not None  # checked by DeploymentConfig
            workers = WorkerFleet(
                self,
                "Workers",
                vpc=network.vpc,
                queue=data.queue,
                worker_image=image,
                webui_image=config.webui_image,
                environment={
                    "AWS_REGION": self.region,
                    "DYNAMODB_TABLE": data.table.table_name,
                    "QUEUE_URL": data.queue.queue_url,
                    "IMAGES_BUCKET": delivery.bucket.bucket_name,
                    "WEBUI_URL": c.WEBUI_URL,
                    "WEBUI_TIMEOUT_SECONDS": str(c.WEBUI_TIMEOUT_SECONDS),
                    "WORKER_CONCURRENCY": str(c.WORKER_CONCURRENCY),
                },
                instance_type=config.gpu_instance_type,
                max_tasks=config.worker_max_tasks,
                backlog_per_worker=config.backlog_per_worker,
                log_retention=retention,
            )
            grant_worker(
                workers.task_role, table=data.table, queue=data.queue, bucket=delivery.bucket
            )
            services.append(
                EcsServiceRef(label="Worker", cluster=workers.cluster, service=workers.service)
            )
            self.workers = workers

        monitoring = Monitoring(
            self,
            "Monitoring",
            load_balancer=api.load_balancer,
            target_group=api.target_group,
            queue=data.queue,
            dead_letter_queue=data.dead_letter_queue,
            services=services,
            backlog_per_task=self.workers.backlog_per_task if self.workers else None,
            alarm_email=config.alarm_email,
        )

        self.network = network
        self.data = data
        self.access_logs = access_logs
        self.delivery = delivery
        self.api = api
        self.monitoring = monitoring

        scheme = "https" if api.https else "http"
        CfnOutput(
            self,
            "ApiUrl",
            value=f"{scheme}://{api.load_balancer.load_balancer_dns_name}",
            description="Base URL of the API (POST /task, GET /task?taskId=...)",
        )
        CfnOutput(
            self,
            "CloudFrontDomain",
            value=delivery.distribution.distribution_domain_name,
            description="Domain that serves the generated images",
        )
        CfnOutput(self, "QueueUrl", value=data.queue.queue_url, description="Task queue URL")
        CfnOutput(
            self,
            "DeadLetterQueueUrl",
            value=data.dead_letter_queue.queue_url,
            description="Dead-letter queue URL",
        )
        CfnOutput(self, "TableName", value=data.table.table_name, description="Task table")
        CfnOutput(
            self, "ImagesBucketName", value=delivery.bucket.bucket_name, description="Images bucket"
        )
        CfnOutput(
            self,
            "DashboardName",
            value=monitoring.dashboard.dashboard_name,
            description="CloudWatch dashboard",
        )
        CfnOutput(
            self, "AlarmTopicArn", value=monitoring.topic.topic_arn, description="Alarm topic"
        )


def grant_api(role: iam.IRole, *, table: dynamodb.ITable, queue: sqs.IQueue) -> None:
    """Put, get and update items and send messages; describe/attributes for /readyz."""
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(API_TABLE_ACTIONS), resources=[table.table_arn])
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(API_QUEUE_ACTIONS), resources=[queue.queue_arn])
    )


def grant_worker(
    role: iam.IRole, *, table: dynamodb.ITable, queue: sqs.IQueue, bucket: s3.IBucket
) -> None:
    """Consume the queue, get and update items, put images under sd/out/ only."""
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(WORKER_QUEUE_ACTIONS), resources=[queue.queue_arn])
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(WORKER_TABLE_ACTIONS), resources=[table.table_arn])
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(WORKER_BUCKET_ACTIONS),
            resources=[bucket.arn_for_objects(f"{c.IMAGES_PREFIX}*")],
        )
    )
    bucket_resource = bucket.node.default_child
    assert isinstance(bucket_resource, CfnResource)
    bucket_id = Stack.of(bucket).resolve(bucket_resource.logical_id)
    NagSuppressions.add_resource_suppressions(
        role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="Object keys embed the task id, so workers need every key under "
                f"{c.IMAGES_PREFIX}; nothing else in the bucket.",
                applies_to=[f"Resource::<{bucket_id}.Arn>/{c.IMAGES_PREFIX}*"],
            )
        ],
        apply_to_children=True,
    )
