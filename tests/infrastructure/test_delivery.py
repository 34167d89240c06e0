"""The images bucket and CloudFront with Origin Access Control."""

from __future__ import annotations

from typing import Any

from infra import constants as c
from infra_support import Synth, logical_id, only_resource, resources_of


def _images_bucket(synth: Synth) -> tuple[str, dict[str, Any]]:
    stack = synth.default_stack
    bucket_id = logical_id(stack, stack.delivery.bucket)
    return bucket_id, synth.default_json["Resources"][bucket_id]


def test_images_bucket_blocks_public_access_and_is_encrypted(synth: Synth) -> None:
    _, bucket = _images_bucket(synth)
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]


def test_images_expire_after_the_configured_retention(synth: Synth) -> None:
    _, bucket = _images_bucket(synth)
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [r["ExpirationInDays"] for r in rules if r["Status"] == "Enabled"] == [
        c.DEFAULT_IMAGE_RETENTION_DAYS
    ]


def test_images_bucket_refuses_requests_without_tls(synth: Synth) -> None:
    bucket_id, _ = _images_bucket(synth)
    policies = [
        p["Properties"]
        for p in resources_of(synth.default_json, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert len(policies) == 1
    denies = [
        s
        for s in policies[0]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denies) == 1 and denies[0]["Action"] == "s3:*"


def test_only_cloudfront_reads_the_bucket_through_oac(synth: Synth) -> None:
    stack = synth.default_stack
    bucket_id, _ = _images_bucket(synth)
    distribution_id = logical_id(stack, stack.delivery.distribution)
    _, oac = only_resource(synth.default_json, "AWS::CloudFront::OriginAccessControl")
    assert oac["Properties"]["OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "s3"
    assert oac["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    assert not resources_of(synth.default_json, "AWS::CloudFront::CloudFrontOriginAccessIdentity")

    distribution = synth.default_json["Resources"][distribution_id]["Properties"]
    origins = distribution["DistributionConfig"]["Origins"]
    assert len(origins) == 1
    assert "OriginAccessControlId" in origins[0]
    assert origins[0]["S3OriginConfig"] == {"OriginAccessIdentity": ""}

    policy = next(
        p["Properties"]
        for p in resources_of(synth.default_json, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    )
    allows = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert len(allows) == 1
    assert allows[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allows[0]["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in str(allows[0]["Condition"])


def test_distribution_serves_https_only_and_logs(synth: Synth) -> None:
    stack = synth.default_stack
    distribution_id = logical_id(stack, stack.delivery.distribution)
    config = synth.default_json["Resources"][distribution_id]["Properties"]["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "https-only"
    assert config["DefaultCacheBehavior"]["AllowedMethods"] == ["GET", "HEAD"]
    assert config["Logging"]["Bucket"] == {
        "Fn::GetAtt": [logical_id(stack, stack.access_logs.bucket), "RegionalDomainName"]
    }


def test_images_bucket_access_is_logged(synth: Synth) -> None:
    stack = synth.default_stack
    _, bucket = _images_bucket(synth)
    assert bucket["Properties"]["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": logical_id(stack, stack.access_logs.bucket)},
        "LogFilePrefix": c.IMAGES_BUCKET_LOG_PREFIX,
    }
