"""Alarms to SNS, the dashboard, log retention, and the stack outputs."""

from __future__ import annotations

import json
from typing import Any

from infra import constants as c
from infra_support import ALARM_EMAIL, Synth, logical_id, only_resource, resources_of


def _monitoring_alarms(synth: Synth) -> dict[str, dict[str, Any]]:
    stack = synth.default_stack
    return {
        name: synth.default_json["Resources"][logical_id(stack, alarm)]["Properties"]
        for name, alarm in (
            ("5xx", stack.monitoring.api_5xx_alarm),
            ("unhealthy", stack.monitoring.unhealthy_alarm),
            ("dlq", stack.monitoring.dead_letter_alarm),
            ("oldest", stack.monitoring.oldest_message_alarm),
        )
    }


def _metric_names(alarm: dict[str, Any]) -> set[str]:
    return {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}


def test_alarms_notify_the_topic(synth: Synth) -> None:
    topic = {"Ref": logical_id(synth.default_stack, synth.default_stack.monitoring.topic)}
    for name, alarm in _monitoring_alarms(synth).items():
        assert alarm["AlarmActions"] == [topic], name
        assert alarm["OKActions"] == [topic], name
        assert alarm["TreatMissingData"] == "notBreaching", name


def test_alarm_on_api_5xx(synth: Synth) -> None:
    alarm = _monitoring_alarms(synth)["5xx"]
    assert _metric_names(alarm) == {"HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count"}
    assert alarm["Threshold"] == c.ALARM_API_5XX_PER_MINUTE


def test_alarm_on_unhealthy_targets(synth: Synth) -> None:
    alarm = _monitoring_alarms(synth)["unhealthy"]
    assert _metric_names(alarm) == {"UnHealthyHostCount"}
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_alarm_on_any_dead_letter(synth: Synth) -> None:
    stack = synth.default_stack
    alarm = _monitoring_alarms(synth)["dlq"]
    metric = alarm["Metrics"][0]["MetricStat"]["Metric"]
    assert metric["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert metric["Dimensions"] == [
        {
            "Name": "QueueName",
            "Value": {"Fn::GetAtt": [logical_id(stack, stack.data.dead_letter_queue), "QueueName"]},
        }
    ]
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["EvaluationPeriods"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
        1,
    )


def test_alarm_on_old_messages(synth: Synth) -> None:
    alarm = _monitoring_alarms(synth)["oldest"]
    assert _metric_names(alarm) == {"ApproximateAgeOfOldestMessage"}
    assert alarm["Threshold"] == c.ALARM_OLDEST_MESSAGE_AGE_SECONDS


def test_alarm_email_subscribes_to_the_topic(synth: Synth) -> None:
    _, subscription = only_resource(synth.default_json, "AWS::SNS::Subscription")
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == ALARM_EMAIL
    assert not resources_of(synth.https_json, "AWS::SNS::Subscription")


def test_dashboard_shows_api_queue_and_task_metrics(default_json: dict[str, Any]) -> None:
    _, dashboard = only_resource(default_json, "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "RequestCount",
        "HTTPCode_Target_5XX_Count",
        "HTTPCode_ELB_5XX_Count",
        "TargetResponseTime",
        "p99",
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "RunningTaskCount",
    ):
        assert metric in body, metric
    assert body.count("RunningTaskCount") >= 2  # API and worker services


def test_every_log_group_has_retention(synth: Synth) -> None:
    for template in (synth.default_json, synth.https_json):
        groups = resources_of(template, "AWS::Logs::LogGroup")
        assert groups
        for group_id, group in groups.items():
            assert group["Properties"].get("RetentionInDays") == c.DEFAULT_LOG_RETENTION_DAYS, (
                group_id
            )


def test_outputs_name_api_url_cloudfront_queue_table_and_bucket(synth: Synth) -> None:
    stack = synth.default_stack
    outputs = synth.default_json["Outputs"]
    assert outputs["CloudFrontDomain"]["Value"] == {
        "Fn::GetAtt": [logical_id(stack, stack.delivery.distribution), "DomainName"]
    }
    assert outputs["QueueUrl"]["Value"] == {"Ref": logical_id(stack, stack.data.queue)}
    assert outputs["TableName"]["Value"] == {"Ref": logical_id(stack, stack.data.table)}
    assert outputs["ImagesBucketName"]["Value"] == {"Ref": logical_id(stack, stack.delivery.bucket)}
    alb_id, _ = only_resource(synth.default_json, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert outputs["ApiUrl"]["Value"] == {
        "Fn::Join": ["", ["http://", {"Fn::GetAtt": [alb_id, "DNSName"]}]]
    }
