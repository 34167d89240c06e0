"""Task logic: submit and describe tasks. No Flask here; adapters are handed in."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from service import contract
from service.errors import (
    AwsUnavailable,
    ConditionFailed,
    TaskNotFound,
    TaskNotQueued,
    TaskRejected,
    TaskTooLarge,
)
from service.queue import TaskQueue
from service.store import TaskRecord, TaskStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class SubmittedTask:
    """What POST /task answers."""

    task_id: str
    status: str
    submit_time: str


def image_base_url(cloudfront_domain: str) -> str:
    """Turn CLOUDFRONT_DOMAIN (a bare domain, or a base URL with a scheme) into a URL prefix."""
    base = cloudfront_domain.strip().rstrip("/")
    return base if "://" in base else f"https://{base}"


def image_url(base_url: str, stored: str) -> str:
    """Make an absolute URL of a stored S3 key; full URLs written by older workers pass through."""
    if stored.startswith(("https://", "http://")):
        return stored
    return f"{base_url}/{quote(stored.lstrip('/'), safe='/')}"


def describe(record: TaskRecord, *, base_url: str) -> dict[str, Any]:
    """Present a stored task as GET /task answers it: plain JSON, absolute URLs."""
    result = record.process_result
    stored = [*(result.images if result else ()), *([record.image_url] if record.image_url else [])]
    # An older writer may have left one image both in processRes and in imageUrl, as a URL and as
    # a key: compare them as URLs, and by key when the hosts differ.
    images: list[str] = []
    keys: set[str] = set()
    for url in (image_url(base_url, image) for image in stored):
        key = urlsplit(url).path.lstrip("/")
        if url not in images and not any(key.endswith(seen) or seen.endswith(key) for seen in keys):
            images.append(url)
            keys.add(key)
    answer: dict[str, Any] = {
        "taskId": record.task_id,
        "taskStatus": record.status,
        "submitTime": record.submit_time,
        "images": images,
    }
    if record.process_time:
        answer["processTime"] = contract.normalise_timestamp(record.process_time)
    if record.status == contract.FAILED:
        answer["error"] = (result.error if result else "") or "The task failed."
    return answer


class TaskService:
    """Submits tasks (item first, then message) and reads them back."""

    def __init__(
        self, *, store: TaskStore, queue: TaskQueue, cloudfront_domain: str, ttl_days: int
    ) -> None:
        self._store = store
        self._queue = queue
        self._base_url = image_base_url(cloudfront_domain)
        self._ttl = timedelta(days=ttl_days) if ttl_days else None

    def submit(self, *, api: str, payload: dict[str, Any]) -> SubmittedTask:
        """Store a validated request as a waiting task and queue it for the workers.

        The item is written first so a worker never receives a message for a missing task. When
        the message cannot be sent, the task is marked failed: nothing will ever pick it up.
        """
        request_data = contract.request_data(api, payload)
        try:
            size = len(request_data.encode("utf-8"))
        except UnicodeEncodeError:
            raise TaskRejected(
                "payload: A string holds an unpaired surrogate (\\ud800 to \\udfff), "
                "which is not text."
            ) from None
        if size > contract.REQUEST_DATA_MAX_BYTES:
            raise TaskTooLarge(
                f"The request takes {size} bytes once stored, over the limit of "
                f"{contract.REQUEST_DATA_MAX_BYTES} (DynamoDB's item size)."
            )
        task_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        submit_time = contract.utc_timestamp(now)
        try:
            self._store.create(
                task_id=task_id,
                request_data=request_data,
                submit_time=submit_time,
                expires_at=int((now + self._ttl).timestamp()) if self._ttl else None,
            )
        except ConditionFailed:
            # The id is new, so the item is ours: a PutItem whose answer was lost was retried by
            # the SDK and found its own write. Go on and queue it.
            log.warning("PutItem retried after it had succeeded", extra={"task_id": task_id})
        try:
            self._queue.send(task_id)
        except AwsUnavailable as exc:
            self._fail_unqueued(task_id, exc)
            raise TaskNotQueued(
                "The task could not be queued and was marked failed; submit it again."
            ) from exc
        return SubmittedTask(task_id=task_id, status=contract.WAITING, submit_time=submit_time)

    def _fail_unqueued(self, task_id: str, cause: AwsUnavailable) -> None:
        log.error("queueing failed", extra={"task_id": task_id, "reason": str(cause)})
        try:
            self._store.fail(
                task_id=task_id, reason=f"The task could not be queued: {cause}", worker_id=None
            )
        except ConditionFailed:
            # A send that timed out may still have reached the queue, and a worker moved on.
            log.warning("task moved on before it was marked failed", extra={"task_id": task_id})
        except AwsUnavailable:
            log.exception("could not mark the unqueued task failed", extra={"task_id": task_id})

    def get(self, task_id: str) -> dict[str, Any]:
        """Return a task as GET /task answers it, or raise TaskNotFound."""
        record = self._store.get(task_id)
        if record is None:
            raise TaskNotFound(f"No task has the id {task_id}.")
        return describe(record, base_url=self._base_url)
