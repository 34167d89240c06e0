"""S3 adapter: the PNGs workers render, stored where the contract says."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.aws import aws_call

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class ImageStore:
    """Writes rendered images to one bucket."""

    def __init__(self, *, client: S3Client, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    def put_png(self, key: str, data: bytes) -> None:
        """Store a PNG at `key`, typed so browsers and CloudFront serve it as an image."""
        with aws_call("PutObject"):
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="image/png")
