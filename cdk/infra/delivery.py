"""The images bucket and the CloudFront distribution that serves it (Origin Access Control)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import constants as c


class Delivery(Construct):
    """Private, TLS-only, encrypted bucket whose objects expire; CloudFront reads it, HTTPS only.

    Never rename this construct or its bucket: the logical id names the bucket.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        image_retention_days: int,
        access_logs_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, id_)
        self.bucket = s3.Bucket(
            self,
            "Images",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-images",
                    expiration=Duration.days(image_retention_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix=c.IMAGES_BUCKET_LOG_PREFIX,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="SD task service images",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                compress=False,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=access_logs_bucket,
            log_file_prefix=c.CLOUDFRONT_LOG_PREFIX,
        )
        NagSuppressions.add_resource_suppressions(
            self.distribution,
            [
                NagPackSuppression(
                    id="AwsSolutions-CFR4",
                    reason="The distribution uses its default *.cloudfront.net certificate, whose "
                    "TLS policy CloudFront sets; a custom domain is out of scope.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-CFR1",
                    reason="Generated images are served worldwide; no geo restriction is wanted.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-CFR2",
                    reason="Objects are immutable PNGs behind unguessable UUID keys; a WAF web ACL "
                    "(about $5/month idle) is left to teams that need one.",
                ),
            ],
        )
