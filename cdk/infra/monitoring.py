"""Log-backed dashboard and alarms (API 5xx, unhealthy targets, dead letters, old messages)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c

_MINUTE = Duration.minutes(1)


@dataclass(frozen=True, kw_only=True)
class EcsServiceRef:
    """Names of an ECS service, for its Container Insights metrics."""

    label: str
    cluster: ecs.ICluster
    service: ecs.BaseService


def running_tasks(ref: EcsServiceRef) -> cloudwatch.Metric:
    """Running task count of a service (Container Insights is enabled on every cluster)."""
    return cloudwatch.Metric(
        namespace=c.CONTAINER_INSIGHTS_NAMESPACE,
        metric_name="RunningTaskCount",
        dimensions_map={
            "ClusterName": ref.cluster.cluster_name,
            "ServiceName": ref.service.service_name,
        },
        statistic="Average",
        period=_MINUTE,
        label=f"{ref.label} tasks",
    )


class Monitoring(Construct):
    """An SNS topic (optional e-mail), four alarms sent to it, and one dashboard."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        load_balancer: elbv2.IApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        services: list[EcsServiceRef],
        backlog_per_task: cloudwatch.IMetric | None,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, id_)
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name="SD task service alarms", enforce_ssl=True
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        requests = load_balancer.metrics.request_count(period=_MINUTE, label="Requests")
        target_5xx = target_group.metrics.http_code_target(
            elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=_MINUTE
        )
        elb_5xx = load_balancer.metrics.http_code_elb(
            elbv2.HttpCodeElb.ELB_5XX_COUNT, period=_MINUTE
        )
        api_5xx = cloudwatch.MathExpression(
            expression="FILL(target5xx, 0) + FILL(elb5xx, 0)",
            using_metrics={"target5xx": target_5xx, "elb5xx": elb_5xx},
            label="API 5xx (targets + load balancer)",
            period=_MINUTE,
        )
        p99 = target_group.metrics.target_response_time(
            period=_MINUTE, statistic="p99", label="p99 latency"
        )
        unhealthy = target_group.metrics.unhealthy_host_count(
            period=_MINUTE, statistic="Maximum", label="Unhealthy targets"
        )
        visible = queue.metric_approximate_number_of_messages_visible(
            period=_MINUTE, statistic="Maximum", label="Waiting"
        )
        inflight = queue.metric_approximate_number_of_messages_not_visible(
            period=_MINUTE, statistic="Maximum", label="In progress"
        )
        oldest = queue.metric_approximate_age_of_oldest_message(
            period=_MINUTE, statistic="Maximum", label="Oldest message age (s)"
        )
        dead_letters = dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=_MINUTE, statistic="Maximum", label="Dead letters"
        )

        self.api_5xx_alarm = api_5xx.create_alarm(
            self,
            "Api5xxAlarm",
            alarm_description="The API answered with 5xx errors for several minutes.",
            threshold=c.ALARM_API_5XX_PER_MINUTE,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=c.ALARM_EVALUATION_PERIODS,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.unhealthy_alarm = unhealthy.create_alarm(
            self,
            "UnhealthyTargetsAlarm",
            alarm_description="An API task fails the load balancer's /healthz check.",
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=c.ALARM_EVALUATION_PERIODS,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.dead_letter_alarm = dead_letters.create_alarm(
            self,
            "DeadLetterAlarm",
            alarm_description="A task failed on every delivery and is in the dead-letter queue.",
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.oldest_message_alarm = oldest.create_alarm(
            self,
            "OldestMessageAlarm",
            alarm_description="Tasks wait too long: workers are missing, stuck or too few.",
            threshold=c.ALARM_OLDEST_MESSAGE_AGE_SECONDS,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=c.ALARM_EVALUATION_PERIODS,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarms = [
            self.api_5xx_alarm,
            self.unhealthy_alarm,
            self.dead_letter_alarm,
            self.oldest_message_alarm,
        ]
        action = cw_actions.SnsAction(self.topic)
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        task_metrics: list[cloudwatch.IMetric] = [running_tasks(ref) for ref in services]
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="API requests", left=[requests], width=8),
            cloudwatch.GraphWidget(title="API 5xx", left=[target_5xx, elb_5xx], width=8),
            cloudwatch.GraphWidget(title="API p99 latency (s)", left=[p99], width=8),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Queue depth", left=[visible, inflight], width=8),
            cloudwatch.GraphWidget(title="Age of oldest message (s)", left=[oldest], width=8),
            cloudwatch.GraphWidget(title="Dead-letter queue depth", left=[dead_letters], width=8),
        )
        bottom: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(title="Running tasks", left=task_metrics, width=8),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=8),
        ]
        if backlog_per_task is not None:
            bottom.append(
                cloudwatch.GraphWidget(
                    title="Backlog per worker task", left=[backlog_per_task], width=8
                )
            )
        self.dashboard.add_widgets(*bottom)
