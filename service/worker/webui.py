"""The WebUI's HTTP API (AUTOMATIC1111 and its forks): POST a payload, get PNGs back."""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import urllib.error
import urllib.request
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Statuses that mean "try again later" even though they are 4xx.
_TRANSIENT_4XX = (408, 425, 429)


class WebUIError(Exception):
    """The WebUI did not render; `permanent` says whether a retry could help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class WebUIClient:
    """Calls one WebUI at `base_url`, each call bounded by `timeout` seconds."""

    def __init__(self, *, base_url: str, timeout: float) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout

    def render(self, api: str, payload: dict[str, Any]) -> list[bytes]:
        """POST `payload` to `<base_url><api>` and return the PNGs it answers with."""
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in settings)
            f"{self._base_url}{api}",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as exc:
            detail = _short(exc.read())
            permanent = 400 <= exc.code < 500 and exc.code not in _TRANSIENT_4XX
            raise WebUIError(f"WebUI answered {exc.code}: {detail}", permanent=permanent) from exc
        except TimeoutError as exc:
            raise WebUIError(
                f"WebUI did not answer within {self._timeout:g} s", permanent=False
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise WebUIError(f"WebUI unreachable: {reason}", permanent=False) from exc
        except http.client.HTTPException as exc:
            # Not an OSError: an answer cut short (IncompleteRead, when the WebUI closes before
            # its Content-Length), or one that is not HTTP (BadStatusLine, LineTooLong). A WebUI
            # that restarts or crashes mid-answer does this, so a retry may help.
            raise WebUIError(
                f"WebUI sent a broken HTTP answer: {type(exc).__name__}: {exc}", permanent=False
            ) from exc
        return decode_images(body)


def decode_images(body: bytes) -> list[bytes]:
    """Read the WebUI's `{"images": [base64 PNG, ...]}`; WebUIError(permanent) if unusable."""
    try:
        answer = json.loads(body)
    except ValueError as exc:
        raise WebUIError(
            f"WebUI answered with invalid JSON: {_short(body)}", permanent=True
        ) from exc
    images = answer.get("images") if isinstance(answer, dict) else None
    if not isinstance(images, list) or not images:
        raise WebUIError("WebUI answered without images", permanent=True)
    decoded: list[bytes] = []
    for number, image in enumerate(images, start=1):
        if not isinstance(image, str):
            raise WebUIError(f"WebUI image {number} is not base64 text", permanent=True)
        # Some forks answer data URLs ("data:image/png;base64,...").
        text = image
        if image.startswith("data:"):
            _, comma, text = image.partition(",")
            if not comma:
                raise WebUIError(
                    f"WebUI image {number} is a data URL without data (no comma)", permanent=True
                )
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WebUIError(f"WebUI image {number} is not valid base64", permanent=True) from exc
        if not data.startswith(PNG_SIGNATURE):
            raise WebUIError(f"WebUI image {number} is not a PNG", permanent=True)
        decoded.append(data)
    return decoded


def _short(body: bytes, limit: int = 200) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
