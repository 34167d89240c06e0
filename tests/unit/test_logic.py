"""Presenting stored tasks: image URLs from keys or full URLs, times, errors."""

from __future__ import annotations

import pytest

from service import contract
from service.store import TaskRecord
from service.tasks.logic import describe, image_base_url, image_url


@pytest.mark.parametrize(
    ("domain", "base"),
    [
        ("d123.cloudfront.net", "https://d123.cloudfront.net"),
        ("d123.cloudfront.net/", "https://d123.cloudfront.net"),
        ("http://127.0.0.1:4566/sd-images", "http://127.0.0.1:4566/sd-images"),
        ("https://images.example.com/", "https://images.example.com"),
    ],
)
def test_cloudfront_domain_is_a_bare_domain_or_a_base_url(domain: str, base: str) -> None:
    assert image_base_url(domain) == base


def test_keys_become_urls_and_full_urls_pass_through() -> None:
    base = "https://d123.cloudfront.net"
    assert image_url(base, "sd/out/a-1.png") == "https://d123.cloudfront.net/sd/out/a-1.png"
    assert image_url(base, "/sd/out/a b.png") == "https://d123.cloudfront.net/sd/out/a%20b.png"
    legacy = "https://dold.cloudfront.net/sd/out/a-1.png"
    assert image_url(base, legacy) == legacy


def record(**fields: object) -> TaskRecord:
    values: dict[str, object] = {"task_id": "t", "status": "waiting", "submit_time": "s"}
    values.update(fields)
    return TaskRecord(**values)  # type: ignore[arg-type]


def test_a_waiting_task_has_no_images_time_or_error() -> None:
    assert describe(record(), base_url="https://d") == {
        "taskId": "t",
        "taskStatus": "waiting",
        "submitTime": "s",
        "images": [],
    }


def test_a_legacy_image_url_attribute_becomes_an_image() -> None:
    answer = describe(record(image_url="sd/out/t-1.png"), base_url="https://d")
    assert answer["images"] == ["https://d/sd/out/t-1.png"]


def test_a_failed_task_says_why() -> None:
    failed = record(
        status=contract.FAILED,
        process_time="2026-12-04T19:22:41.008123",
        process_result=contract.ProcessResult(error="WebUI said 422"),
    )
    answer = describe(failed, base_url="https://d")
    assert answer["error"] == "WebUI said 422"
    assert answer["processTime"] == "2026-12-04T19:22:41.008Z"


def test_a_failed_task_without_a_reason_still_has_an_error() -> None:
    assert describe(record(status=contract.FAILED), base_url="https://d")["error"]
