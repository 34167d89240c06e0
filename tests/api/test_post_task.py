"""POST /task: what is stored and queued on success, and that bad input changes nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.builders import IMG2IMG, TINY_PNG_B64, TXT2IMG, payload, task_request
from tests.conftest import Stack

SUBMIT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_a_valid_task_is_stored_waiting_and_queued(client: FlaskClient, aws_stack: Stack) -> None:
    body = task_request(seed=42, cfg_scale=7, sampler_name="Euler a")

    response = client.post("/task", json=body)

    assert response.status_code == 202
    answer = response.get_json()
    assert answer["taskStatus"] == "waiting"
    assert UUID4.match(answer["taskId"])
    assert SUBMIT_TIME.match(answer["submitTime"])
    assert response.headers["Location"] == f"/task?taskId={answer['taskId']}"
    item = aws_stack.item(answer["taskId"])
    assert item is not None
    assert item["taskStatus"] == {"S": "waiting"}
    assert item["submitTime"] == {"S": answer["submitTime"]}
    assert json.loads(item["requestData"]["S"]) == body
    [message] = aws_stack.messages()
    assert json.loads(message["Body"]) == {"taskId": answer["taskId"], "storage": "dynamodb"}


def test_img2img_with_an_init_image_is_accepted(client: FlaskClient, aws_stack: Stack) -> None:
    response = client.post("/task", json=task_request(IMG2IMG, denoising_strength=0.6))
    assert response.status_code == 202
    assert len(aws_stack.messages()) == 1


def test_fields_the_schema_does_not_name_pass_through_untouched(
    client: FlaskClient, aws_stack: Stack
) -> None:
    extra: dict[str, Any] = {
        "cfg_scale": 7,  # an integer where a float is allowed stays an integer
        "restore_faces": True,
        "styles": ["cinematic"],
        "alwayson_scripts": {"controlnet": {"args": [{"weight": 0.5}]}},
        "override_settings": {"CLIP_stop_at_last_layers": 2},
    }
    response = client.post("/task", json=task_request(**extra))
    stored = json.loads(aws_stack.item(response.get_json()["taskId"])["requestData"]["S"])  # type: ignore[index]
    assert stored["payload"] == payload(**extra)
    assert isinstance(stored["payload"]["cfg_scale"], int)


def test_records_expire_after_the_configured_days(client: FlaskClient, aws_stack: Stack) -> None:
    response = client.post("/task", json=task_request())
    item = aws_stack.item(response.get_json()["taskId"])
    assert item is not None
    days = (int(item["expiresAt"]["N"]) - _epoch(item["submitTime"]["S"])) / 86400
    assert round(days) == 30


def _epoch(timestamp: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp())


INVALID_BODIES = [
    pytest.param({"payload": payload()}, "api", id="api missing"),
    pytest.param({"api": TXT2IMG}, "payload", id="payload missing"),
    pytest.param({"api": "/sdapi/v1/options", "payload": payload()}, "api", id="options api"),
    pytest.param({"api": "/sdapi/v1/server-kill", "payload": {}}, "api", id="server-kill"),
    pytest.param({"api": 7, "payload": {}}, "api", id="api not a string"),
    pytest.param({"api": TXT2IMG, "payload": "a cat"}, "payload", id="payload a string"),
    pytest.param({"api": TXT2IMG, "payload": [1]}, "payload", id="payload a list"),
    pytest.param({**task_request(), "priority": 1}, "priority", id="unknown top-level field"),
    pytest.param(task_request(steps="20"), "payload.steps", id="steps a string"),
    pytest.param(task_request(steps=True), "payload.steps", id="steps a boolean"),
    pytest.param(task_request(steps=20.5), "payload.steps", id="steps a fraction"),
    pytest.param(task_request(steps=0), "payload.steps", id="steps zero"),
    pytest.param(task_request(steps=151), "payload.steps", id="steps over the limit"),
    pytest.param(task_request(width=500), "payload.width", id="width not a multiple of 8"),
    pytest.param(task_request(width=4096), "payload.width", id="width over the limit"),
    pytest.param(task_request(height=32), "payload.height", id="height under 64"),
    pytest.param(
        task_request(width=2048, height=2048, enable_hr=True),
        "payload.width",
        id="upscaled pixels over the limit",
    ),
    pytest.param(
        task_request(width=2048, height=2048, hr_scale=1.5, enable_hr=True),
        "payload.width",
        id="pixels with hr_scale over the limit",
    ),
    pytest.param(task_request(batch_size=0), "payload.batch_size", id="batch_size zero"),
    pytest.param(
        task_request(batch_size=4, n_iter=3),
        "payload.batch_size",
        id="images per task over the limit",
    ),
    pytest.param(task_request(cfg_scale=31), "payload.cfg_scale", id="cfg_scale too high"),
    pytest.param(task_request(cfg_scale="7"), "payload.cfg_scale", id="cfg_scale a string"),
    pytest.param(task_request(seed=2**32), "payload.seed", id="seed too large"),
    pytest.param(task_request(seed=-2), "payload.seed", id="seed under -1"),
    pytest.param(task_request(prompt=["a", "b"]), "payload.prompt", id="prompt a list"),
    pytest.param(task_request(prompt="x" * 10_001), "payload.prompt", id="prompt too long"),
    pytest.param(task_request(negative_prompt=5), "payload.negative_prompt", id="negative_prompt"),
    pytest.param(task_request(sampler_name=""), "payload.sampler_name", id="sampler_name empty"),
    pytest.param(task_request(enable_hr="yes"), "payload.enable_hr", id="enable_hr a string"),
    pytest.param(
        task_request(denoising_strength=1.5),
        "payload.denoising_strength",
        id="denoising_strength over 1",
    ),
    pytest.param(
        task_request(override_settings=[]),
        "payload.override_settings",
        id="override_settings not an object",
    ),
    pytest.param(
        task_request(IMG2IMG, init_images=[]),
        "payload.init_images",
        id="img2img without init images",
    ),
    pytest.param(
        {"api": IMG2IMG, "payload": payload()},
        "payload.init_images",
        id="img2img init_images missing",
    ),
    pytest.param(
        task_request(IMG2IMG, init_images=["not base64!"]),
        "payload.init_images[0]",
        id="init image not base64",
    ),
    pytest.param(
        task_request(IMG2IMG, init_images=[TINY_PNG_B64] * 5),
        "payload.init_images",
        id="too many init images",
    ),
    pytest.param(task_request(mask=12), "payload.mask", id="mask not a string"),
    pytest.param(
        task_request(IMG2IMG, init_images=["data:abc"]),
        "payload.init_images[0]",
        id="data URL without a comma",
    ),
    pytest.param(
        task_request(enable_hr=True, hr_resize_x=2048, hr_resize_y=4096),
        "payload.hr_resize_y",
        id="hires resize over the side limit",
    ),
    pytest.param(
        task_request(width=1024, height=2048, enable_hr=True, hr_resize_x=2048),
        "payload.width",
        id="hires resize keeping the aspect over the pixel limit",
    ),
    pytest.param(
        task_request(hr_second_pass_steps=151),
        "payload.hr_second_pass_steps",
        id="hires steps over the limit",
    ),
    pytest.param([task_request()], "body", id="body a list"),
    pytest.param("a string", "body", id="body a JSON string"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_BODIES)
def test_invalid_input_is_refused_naming_the_field_and_nothing_is_written(
    client: FlaskClient, aws_stack: Stack, body: Any, field: str
) -> None:
    response = client.post("/task", json=body)

    assert response.status_code == 400
    answer = response.get_json()
    assert field in answer["fields"]
    sentence = answer["error"]
    assert sentence.endswith(".") and "\n" not in sentence
    if field != "body":
        assert sentence.startswith(f"{field}: ")
    assert aws_stack.item_count() == 0
    assert aws_stack.messages() == []


@pytest.mark.parametrize(
    ("data", "content_type", "status", "words"),
    [
        pytest.param("{not json", "application/json", 400, "not valid JSON", id="broken JSON"),
        pytest.param("", "application/json", 400, "empty", id="empty body"),
        pytest.param('{"api": NaN}', "application/json", 400, "not valid JSON", id="NaN"),
        pytest.param(
            '{"api": "/sdapi/v1/txt2img", "payload": {"eta": 1e400}}',
            "application/json",
            400,
            "too large for a number",
            id="overflowing number",
        ),
        pytest.param(
            "[" * 50_000 + "]" * 50_000,
            "application/json",
            400,
            "nested too deeply",
            id="deep nesting",
        ),
        pytest.param(
            json.dumps(task_request()), "text/plain", 415, "application/json", id="text/plain"
        ),
        pytest.param(
            "api=/sdapi/v1/txt2img",
            "application/x-www-form-urlencoded",
            415,
            "application/json",
            id="form",
        ),
        pytest.param(json.dumps(task_request()), None, 415, "got nothing", id="no content type"),
    ],
)
def test_bodies_that_are_not_json_are_refused(
    client: FlaskClient,
    aws_stack: Stack,
    data: str,
    content_type: str | None,
    status: int,
    words: str,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/task", data=data, headers=headers)
    assert response.status_code == status
    assert words in response.get_json()["error"]
    assert aws_stack.item_count() == 0
    assert aws_stack.messages() == []


def test_a_body_over_the_limit_is_refused_with_413(client: FlaskClient, aws_stack: Stack) -> None:
    body = task_request(prompt="x" * 9_000, styles=["y" * 400_000])
    response = client.post("/task", json=body)
    assert response.status_code == 413
    assert "350000 bytes" in response.get_json()["error"]
    assert aws_stack.item_count() == 0


def test_json_content_type_with_charset_is_accepted(client: FlaskClient) -> None:
    response = client.post(
        "/task",
        data=json.dumps(task_request()),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 202


def test_null_means_the_webuis_default_and_is_stored_as_sent(
    client: FlaskClient, aws_stack: Stack
) -> None:
    body = task_request(sampler_name=None, mask=None, override_settings=None, seed=None)
    response = client.post("/task", json=body)
    assert response.status_code == 202
    stored = aws_stack.item(response.get_json()["taskId"])
    assert stored is not None
    assert json.loads(stored["requestData"]["S"]) == body


def test_a_lone_surrogate_is_refused_and_nothing_is_written(
    client: FlaskClient, aws_stack: Stack
) -> None:
    data = json.dumps(task_request()).replace('"a lighthouse at dusk"', '"a \\ud800 lighthouse"')
    response = client.post("/task", data=data, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "surrogate" in response.get_json()["error"]
    assert aws_stack.item_count() == 0
    assert aws_stack.messages() == []


def test_a_body_that_grows_past_the_item_limit_once_stored_is_a_413(
    client: FlaskClient, aws_stack: Stack
) -> None:
    # 1E5 is stored as 100000.0: a body under MAX_BODY_BYTES can outgrow a DynamoDB item.
    numbers = ",".join(["1E5"] * 85_000)
    data = f'{{"api": "/sdapi/v1/txt2img", "payload": {{"weights": [{numbers}]}}}}'
    assert len(data) < 350_000
    response = client.post("/task", data=data, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "DynamoDB" in response.get_json()["error"]
    assert aws_stack.item_count() == 0
    assert aws_stack.messages() == []
