"""Session fixtures: one synthesis of two stacks (defaults with workers; HTTPS without workers).

Synthesis starts a Node.js process and takes seconds, so every test reads the same cloud assembly.
No AWS account and no Docker: the image asset is a temporary one-line Dockerfile (the real app
points at the repository root), and the stacks are region-specific but account-agnostic.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk

# Imported first (plain imports sort before from-imports): it puts cdk/ on sys.path for `infra`.
import infra_support  # noqa: F401
import pytest
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from infra.config import DeploymentConfig
from infra.stack import SdTaskServiceStack
from infra_support import (
    ALARM_EMAIL,
    CDK_DIR,
    CERTIFICATE_ARN,
    HTTPS_API_MAX,
    HTTPS_API_MIN,
    REGION,
    WEBUI_IMAGE,
    Synth,
)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    asset_dir = tmp_path_factory.mktemp("image")
    (asset_dir / "Dockerfile").write_text("FROM python:3.12-slim\n")
    context = dict(json.loads((CDK_DIR / "cdk.json").read_text())["context"])
    # The same feature flags as a deployment, except that nag errors are left in the assembly
    # (for test_nag to report) rather than aborting the synthesis.
    context["@aws-cdk/core:annotationsInValidationReport"] = False
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk.out")), context=context)
    env = cdk.Environment(region=REGION)
    default_stack = SdTaskServiceStack(
        app,
        "Default",
        env=env,
        config=DeploymentConfig(
            image_asset_dir=asset_dir, webui_image=WEBUI_IMAGE, alarm_email=ALARM_EMAIL
        ),
    )
    https_stack = SdTaskServiceStack(
        app,
        "Https",
        env=env,
        config=DeploymentConfig(
            image_asset_dir=asset_dir,
            certificate_arn=CERTIFICATE_ARN,
            workers_enabled=False,
            api_min_tasks=HTTPS_API_MIN,
            api_max_tasks=HTTPS_API_MAX,
        ),
    )
    cdk.Aspects.of(app).add(AwsSolutionsChecks())
    assembly = app.synth()
    default_art = assembly.get_stack_by_name("Default")
    https_art = assembly.get_stack_by_name("Https")
    yield Synth(
        assembly=assembly,
        default=Template.from_json(default_art.template),
        https=Template.from_json(https_art.template),
        default_json=default_art.template,
        https_json=https_art.template,
        template_paths=[Path(default_art.template_full_path), Path(https_art.template_full_path)],
        default_stack=default_stack,
        https_stack=https_stack,
    )


@pytest.fixture(scope="session")
def default(synth: Synth) -> Template:
    return synth.default


@pytest.fixture(scope="session")
def default_json(synth: Synth) -> dict[str, Any]:
    return synth.default_json
