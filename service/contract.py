"""The frozen wire contract with the workers: statuses, timestamps, message bodies, image keys.

Every byte written to the table or the queue is shaped here, so ../shared/DESIGN.md has one
counterpart in the code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

WAITING = "waiting"
PROCESSING = "processing"
FINISHED = "finished"
FAILED = "failed"
CANCELLED = "cancelled"
STATUSES = (WAITING, PROCESSING, FINISHED, FAILED, CANCELLED)

STORAGE_DYNAMODB = "dynamodb"
# DynamoDB items hold at most 400 KB (409,600 bytes), attribute names included; the rest of the
# item (ids, times, the worker's processRes) needs well under 9 KB of it.
REQUEST_DATA_MAX_BYTES = 400_000
IMAGE_KEY_PREFIX = "sd/out/"


def utc_timestamp(moment: datetime | None = None) -> str:
    """Format a moment as the contract's ISO 8601 UTC with milliseconds and Z."""
    moment = datetime.now(UTC) if moment is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def normalise_timestamp(text: str) -> str:
    """Return a stored timestamp in the contract's form.

    Existing workers write `datetime.now().isoformat()`: no zone, microseconds. GPU hosts on AWS
    keep UTC, so a zone-less time is read as UTC. Text that is not a timestamp is returned as is.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return utc_timestamp(moment)


def request_data(api: str, payload: dict[str, Any]) -> str:
    """Serialise the validated request as workers read it: json.loads(...)["api"|"payload"]."""
    return json.dumps({"api": api, "payload": payload}, separators=(",", ":"), ensure_ascii=False)


def message_body(task_id: str) -> str:
    """Serialise the SQS message that points a worker at a task's requestData."""
    return json.dumps({"taskId": task_id, "storage": STORAGE_DYNAMODB}, separators=(",", ":"))


def image_key(task_id: str, number: int) -> str:
    """Name the S3 key of a task's n-th image (n from 1), as existing workers do."""
    return f"{IMAGE_KEY_PREFIX}{task_id}-{number}.png"


@dataclass(frozen=True, kw_only=True)
class ProcessResult:
    """The `processRes` attribute: images (S3 keys or full URLs) and an error text."""

    images: tuple[str, ...] = ()
    error: str = ""

    def to_json(self) -> str:
        """Serialise as workers write it."""
        return json.dumps(
            {"cnt": len(self.images), "images": list(self.images), "error": self.error},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> ProcessResult:
        """Read a stored processRes, tolerating what older writers may have left."""
        try:
            data = json.loads(text)
        except ValueError:
            return cls(error="unreadable processRes")
        if not isinstance(data, dict):
            return cls(error="unreadable processRes")
        images = data.get("images")
        if not isinstance(images, list):
            images = []
        return cls(
            images=tuple(str(image) for image in images if image),
            error=str(data.get("error") or ""),
        )
