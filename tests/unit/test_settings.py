"""Settings: read once from the environment, refusing bad values with one line."""

from __future__ import annotations

import pytest

from service.settings import (
    DEFAULT_ALLOWED_APIS,
    ConfigError,
    allowed_apis_from_env,
    settings_from_env,
)

REQUIRED = {
    "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/sd-tasks",
    "CLOUDFRONT_DOMAIN": "d1.cloudfront.net",
    "AWS_REGION": "us-east-1",
}


def test_defaults_follow_the_contract() -> None:
    settings = settings_from_env(REQUIRED)
    assert settings.table_name == "sd_tasks"
    assert settings.allowed_apis == DEFAULT_ALLOWED_APIS
    assert settings.cors_allow_origins == ("*",)
    assert settings.aws.endpoint_url is None


@pytest.mark.parametrize("missing", ["QUEUE_URL", "CLOUDFRONT_DOMAIN", "AWS_REGION"])
def test_a_missing_required_variable_is_named(missing: str) -> None:
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    with pytest.raises(ConfigError, match=f"^{missing} is not set"):
        settings_from_env(env)


def test_aws_default_region_stands_in_for_aws_region() -> None:
    env = {**REQUIRED, "AWS_DEFAULT_REGION": "eu-west-1"}
    del env["AWS_REGION"]
    assert settings_from_env(env).aws.region == "eu-west-1"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAX_BODY_BYTES", "lots", "MAX_BODY_BYTES must be an integer"),
        ("MAX_BODY_BYTES", "500000", "MAX_BODY_BYTES must be at most 380000"),
        ("MAX_STEPS", "0", "MAX_STEPS must be at least 1"),
        ("AWS_READ_TIMEOUT", "-1", "AWS_READ_TIMEOUT must be greater than 0"),
        ("ALLOWED_APIS", " , ", "ALLOWED_APIS is empty"),
        ("LOG_LEVEL", "verbose", "LOG_LEVEL must be one of DEBUG, INFO"),
        ("WEB_CONCURRENCY", "two", "WEB_CONCURRENCY must be an integer"),
        ("GUNICORN_THREADS", "0", "GUNICORN_THREADS must be at least 1"),
        ("PORT", "http", "PORT must be an integer"),
        ("PORT", "70000", "PORT must be a TCP port number"),
        ("ALLOWED_APIS", "/sdapi/v1/txt2img,/internal/ping", "'/internal/ping' is not a WebUI"),
    ],
)
def test_bad_values_are_refused_with_one_line(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        settings_from_env({**REQUIRED, name: value})
    assert "\n" not in str(caught.value)


def test_lists_and_numbers_are_parsed() -> None:
    settings = settings_from_env(
        {
            **REQUIRED,
            "ALLOWED_APIS": " /sdapi/v1/txt2img ,/sdapi/v1/extra-single-image",
            "CORS_ALLOW_ORIGINS": "https://a.example,https://b.example",
            "MAX_BODY_BYTES": "200000",
            "MAX_STEPS": "60",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        }
    )
    assert settings.allowed_apis == ("/sdapi/v1/txt2img", "/sdapi/v1/extra-single-image")
    assert settings.cors_allow_origins == ("https://a.example", "https://b.example")
    assert settings.max_body_bytes == 200_000
    assert settings.limits.max_steps == 60
    assert settings.aws.endpoint_url == "http://127.0.0.1:4566"


def test_an_empty_cors_list_turns_cors_off() -> None:
    assert settings_from_env({**REQUIRED, "CORS_ALLOW_ORIGINS": ""}).cors_allow_origins == ()


def test_the_worker_shares_the_allow_list_parser() -> None:
    assert allowed_apis_from_env({"ALLOWED_APIS": "/sdapi/v1/img2img"}) == ("/sdapi/v1/img2img",)
