"""How the worker reads the WebUI's answers: what is usable, what fails the task."""

from __future__ import annotations

import base64
import json

import pytest

from service.devtools.png import landscape
from service.worker.webui import WebUIClient, WebUIError, decode_images
from tests.conftest import free_port

PNG = landscape(8, 8, seed=1)
PNG_B64 = base64.b64encode(PNG).decode()


@pytest.mark.parametrize(
    "answer",
    [
        {"images": [PNG_B64]},
        {"images": [f"data:image/png;base64,{PNG_B64}"], "info": "{}"},
    ],
)
def test_base64_pngs_are_decoded(answer: dict[str, object]) -> None:
    assert decode_images(json.dumps(answer).encode()) == [PNG]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>Bad gateway</html>", "invalid JSON"),
        (b'{"images": []}', "without images"),
        (b'{"detail": "Not Found"}', "without images"),
        (b'{"images": [42]}', "not base64 text"),
        (b'{"images": ["not base64!"]}', "not valid base64"),
        (json.dumps({"images": [base64.b64encode(b"GIF89a").decode()]}).encode(), "not a PNG"),
    ],
)
def test_unusable_answers_are_permanent_errors(body: bytes, reason: str) -> None:
    with pytest.raises(WebUIError, match=reason) as raised:
        decode_images(body)
    assert raised.value.permanent


def test_a_webui_that_is_down_is_a_transient_error() -> None:
    client = WebUIClient(base_url=f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(WebUIError, match="WebUI unreachable") as raised:
        client.render("/sdapi/v1/txt2img", {})
    assert not raised.value.permanent
