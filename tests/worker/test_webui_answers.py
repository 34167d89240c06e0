"""How the worker reads the WebUI's answers: what is usable, what fails the task."""

from __future__ import annotations

import base64
import json

import pytest

from service.devtools.png import landscape
from service.worker.webui import WebUIClient, WebUIError, decode_images
from tests.conftest import free_port
from tests.worker.conftest import canned_webui, http_answer

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
        (b'{"images": ["data:abc"]}', "image 1 is a data URL without data"),
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


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        # The WebUI closes before the Content-Length it announced.
        (http_answer(b'{"images": ["iVBOR', content_length=1000), "IncompleteRead"),
        (b"NONSENSE\r\n\r\n", "BadStatusLine"),
        (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", "LineTooLong"),
    ],
)
def test_a_broken_http_answer_is_a_transient_error(answer: bytes, error: str) -> None:
    with canned_webui(answer) as webui:
        client = WebUIClient(base_url=webui.url, timeout=5)
        with pytest.raises(WebUIError, match=f"WebUI sent a broken HTTP answer: {error}") as raised:
            client.render("/sdapi/v1/txt2img", {})
    assert not raised.value.permanent
