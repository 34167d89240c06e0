"""cdk-nag suppressions shared by several constructs, each with its reason."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from cdk_nag import NagPackSuppression, NagSuppressions


def suppress_ecr_token_wildcard(execution_role: iam.IRole) -> None:
    """ecr:GetAuthorizationToken has no resource ARN: AWS requires Resource '*' for it."""
    NagSuppressions.add_resource_suppressions(
        execution_role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="ecr:GetAuthorizationToken, which every image pull needs, supports no "
                "resource ARN; the repository actions are scoped to the repository.",
                applies_to=["Resource::*"],
            )
        ],
        apply_to_children=True,
    )
