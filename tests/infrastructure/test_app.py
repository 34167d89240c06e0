"""app.py: context parsing, the region, and the image asset's build context."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from infra import constants as c
from infra_support import CDK_DIR


@pytest.fixture(scope="module")
def app_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cdk_app", CDK_DIR / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["cdk_app"] = module
    spec.loader.exec_module(module)
    return module


def _getter(values: dict[str, Any]) -> Any:
    return values.get


def test_defaults_need_only_the_webui_image(app_module: ModuleType) -> None:
    config = app_module.config_from_context(_getter({"webuiImage": "repo/webui:1"}))
    assert config.webui_image == "repo/webui:1"
    assert config.gpu_instance_type == "g5.xlarge"
    assert (config.api_min_tasks, config.api_max_tasks) == (1, 4)
    assert config.workers_enabled is True
    assert config.certificate_arn is None
    assert config.image_asset_dir == CDK_DIR.parent


def test_command_line_strings_are_parsed(app_module: ModuleType) -> None:
    # `cdk deploy -c key=value` hands every value over as a string.
    config = app_module.config_from_context(
        _getter(
            {
                "workersEnabled": "false",
                "apiMinTasks": "2",
                "apiMaxTasks": "8",
                "imageRetentionDays": "7",
                "logRetentionDays": "90",
                "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/x",
                "corsAllowOrigins": "https://a.example, https://b.example",
            }
        )
    )
    assert config.workers_enabled is False
    assert (config.api_min_tasks, config.api_max_tasks) == (2, 8)
    assert config.image_retention_days == 7
    assert config.log_retention_days == 90
    assert config.certificate_arn.endswith("certificate/x")
    assert config.cors_allow_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "webuiImage is not set"),
        ({"webuiImage": "w", "apiMinTasks": "two"}, "apiMinTasks must be an integer"),
        ({"webuiImage": "w", "workersEnabled": "maybe"}, "workersEnabled must be true or false"),
        ({"webuiImage": "w", "apiMinTasks": "5", "apiMaxTasks": "2"}, "apiMaxTasks"),
        ({"webuiImage": "w", "logRetentionDays": "31"}, "logRetentionDays must be one of"),
    ],
)
def test_bad_context_is_refused_with_the_key_named(
    app_module: ModuleType, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        app_module.config_from_context(_getter(values))


def test_region_comes_from_context_then_the_cli(app_module: ModuleType) -> None:
    assert app_module.region_from(_getter({"region": "eu-west-1"}), {}) == "eu-west-1"
    assert app_module.region_from(_getter({}), {"CDK_DEFAULT_REGION": "us-west-2"}) == "us-west-2"
    with pytest.raises(ValueError, match="no region"):
        app_module.region_from(_getter({}), {})


def test_cdk_json_runs_app_py() -> None:
    assert json.loads((CDK_DIR / "cdk.json").read_text())["app"] == "python app.py"


def test_image_asset_excludes_what_the_image_never_needs() -> None:
    for path in (".venv", ".git", "cdk.out", "tests", "bench", "cdk"):
        assert path in c.ASSET_EXCLUDES
    assert not any(p in c.ASSET_EXCLUDES for p in ("service", "pyproject.toml", "Dockerfile"))


def test_repo_root_holds_the_dockerfile_the_asset_builds() -> None:
    root: Path = CDK_DIR.parent
    assert (root / "Dockerfile").is_file()
