"""Builders for request bodies, so each test states only what it is about."""

from __future__ import annotations

import base64
from typing import Any

TXT2IMG = "/sdapi/v1/txt2img"
IMG2IMG = "/sdapi/v1/img2img"
# A 1x1 PNG: the smallest valid init image.
TINY_PNG_B64 = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def payload(**fields: Any) -> dict[str, Any]:
    """A valid txt2img payload with `fields` set or replaced."""
    return {"prompt": "a lighthouse at dusk", "steps": 20, "width": 512, "height": 512, **fields}


def task_request(api: str = TXT2IMG, **fields: Any) -> dict[str, Any]:
    """A valid POST /task body; img2img gets an init image unless `fields` says otherwise."""
    if api == IMG2IMG:
        fields.setdefault("init_images", [TINY_PNG_B64])
    return {"api": api, "payload": payload(**fields)}
