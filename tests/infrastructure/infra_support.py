"""Shared values and helpers of the infrastructure tests (conftest.py holds the fixtures).

One synthesis per session: two stacks (defaults with workers; HTTPS without workers), cdk-nag.

Synthesis starts a Node.js process and takes seconds, so every test reads the same cloud assembly.
No AWS account and no Docker: the image asset is a temporary one-line Dockerfile (the real app
points at the repository root), and the stacks are region-specific but account-agnostic.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CDK_DIR = Path(__file__).resolve().parents[2] / "cdk"
if str(CDK_DIR) not in sys.path:
    sys.path.insert(0, str(CDK_DIR))

import aws_cdk as cdk  # noqa: E402
from aws_cdk import cx_api  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402
from infra.stack import SdTaskServiceStack  # noqa: E402

REGION = "us-east-1"
WEBUI_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sd/webui:v1"
CERTIFICATE_ARN = (
    "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789abc"
)
ALARM_EMAIL = "ops@example.com"
HTTPS_API_MIN, HTTPS_API_MAX = 2, 6


@dataclass(frozen=True)
class Synth:
    """The synthesised stacks of the session."""

    assembly: cx_api.CloudAssembly
    default: Template
    https: Template
    default_json: dict[str, Any]
    https_json: dict[str, Any]
    template_paths: list[Path]
    default_stack: SdTaskServiceStack
    https_stack: SdTaskServiceStack


def resources_of(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of the type."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def only_resource(template: dict[str, Any], type_: str) -> tuple[str, dict[str, Any]]:
    """The single resource of the type (fails when there are none or several)."""
    found = resources_of(template, type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    return next(iter(found.items()))


def logical_id(stack: cdk.Stack, construct: Any) -> str:
    """The logical id of an L2 construct's main resource."""
    child = construct.node.default_child
    assert isinstance(child, cdk.CfnElement)
    return str(stack.resolve(child.logical_id))


def container(template: dict[str, Any], name: str) -> dict[str, Any]:
    """The container definition of that name, from whichever task definition holds it."""
    for task_def in resources_of(template, "AWS::ECS::TaskDefinition").values():
        for definition in task_def["Properties"]["ContainerDefinitions"]:
            if definition["Name"] == name:
                return dict(definition)
    raise AssertionError(f"no container named {name}")


def env_of(definition: dict[str, Any]) -> dict[str, Any]:
    return {item["Name"]: item["Value"] for item in definition.get("Environment", [])}
