"""One message, one attempt: claim the task, render it, store the images, record the result.

Every stage logs one JSON line with the task id. Errors are sorted in two kinds: permanent ones
(bad request, WebUI 4xx, unusable image) fail the task and acknowledge the message; transient ones
(WebUI down or busy, AWS unreachable) leave the message for redelivery, until its receive count
reaches the queue's limit, when the task is failed before SQS moves the message to the dead-letter
queue.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any

from service import contract
from service.errors import AwsUnavailable, ConditionFailed
from service.images import ImageStore
from service.queue import Delivery, TaskQueue
from service.store import TaskRecord, TaskStore
from service.worker.webui import WebUIClient, WebUIError

log = logging.getLogger("service.worker")

# Backoff between transient failures doubles per receive, up to this.
MAX_RETRY_DELAY_SECONDS = 900


class Outcome(StrEnum):
    """What became of one delivery."""

    FINISHED = "finished"
    FAILED = "failed"
    SKIPPED = "skipped"
    DEFERRED = "deferred"
    RETRY = "retry"
    GAVE_UP = "gave_up"
    RELEASED = "released"


class PermanentError(Exception):
    """Retrying will not help: the task is failed with this message."""


class TransientError(Exception):
    """Retrying may help: the message is left for redelivery."""


@dataclass(kw_only=True)
class Attempt:
    """One claim on a task; once `closed`, nothing more may be written for it.

    `lost` says why it closed when another attempt took the task over (its lease ran out, then a
    redelivery or a duplicate message claimed it): the images belong to that attempt now.
    """

    task_id: str
    worker_id: str
    delivery: Delivery
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False
    lost: bool = False


def parse_message(body: str) -> tuple[str, str]:
    """Read a message body's taskId and storage, or raise PermanentError."""
    try:
        data = json.loads(body)
    except ValueError:
        raise PermanentError("message body is not JSON") from None
    task_id = data.get("taskId") if isinstance(data, dict) else None
    if not isinstance(task_id, str) or not task_id:
        raise PermanentError("message body has no taskId")
    storage = data.get("storage") or contract.STORAGE_DYNAMODB
    return task_id, str(storage)


def parse_request(request_data: str, allowed_apis: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """Read a task's requestData as `(api, payload)`, or raise PermanentError."""
    try:
        data = json.loads(request_data)
    except ValueError:
        raise PermanentError("the task's requestData is not JSON") from None
    if not isinstance(data, dict):
        raise PermanentError("the task's requestData is not a JSON object")
    api, payload = data.get("api"), data.get("payload")
    if not isinstance(api, str) or api not in allowed_apis:
        raise PermanentError(f"api {api!r} is not one this worker runs ({', '.join(allowed_apis)})")
    if not isinstance(payload, dict):
        raise PermanentError("the task's payload is not a JSON object")
    return api, payload


class TaskProcessor:
    """Handles deliveries; safe to share between the worker's threads."""

    def __init__(
        self,
        *,
        store: TaskStore,
        queue: TaskQueue,
        images: ImageStore,
        webui: WebUIClient,
        allowed_apis: tuple[str, ...],
        visibility_seconds: int,
        heartbeat_seconds: float,
        retry_seconds: int,
        max_receive_count: int | None,
        stopping: threading.Event,
    ) -> None:
        self._store = store
        self._queue = queue
        self._images = images
        self._webui = webui
        self._allowed_apis = allowed_apis
        self._visibility = visibility_seconds
        self._heartbeat = heartbeat_seconds
        self._retry = retry_seconds
        self._max_receive_count = max_receive_count
        self._stopping = stopping
        self._lock = threading.Lock()
        self._attempts: dict[str, Attempt] = {}
        self._host = f"{socket.gethostname()}:{os.getpid()}"

    def handle(self, delivery: Delivery) -> Outcome:
        """Process one delivery to its end; never raises for a task's own failure."""
        try:
            task_id, storage = parse_message(delivery.body)
        except PermanentError as exc:
            log.error(
                "message rejected and deleted",
                extra={
                    "stage": "rejected",
                    "message_id": delivery.message_id,
                    "reason": str(exc),
                    "body": delivery.body[:200],
                },
            )
            self._delete(delivery, task_id=None)
            return Outcome.SKIPPED
        self._log("received", task_id, delivery, receive_count=delivery.receive_count)
        attempt: Attempt | None = None
        try:
            if storage != contract.STORAGE_DYNAMODB:
                raise TransientError(f"storage {storage!r} is not one this worker reads")
            record = self._store.get(task_id, consistent=True)
            if record is None or record.status not in (contract.WAITING, contract.PROCESSING):
                return self._skip(task_id, delivery, record)
            if self._stopping.is_set():
                return self.release(delivery, task_id=task_id)
            claimed = self._claim(record, delivery)
            if isinstance(claimed, Outcome):
                return claimed
            attempt = claimed
            return self._run(attempt, record)
        except PermanentError as exc:
            return self._fail(task_id, delivery, attempt, str(exc))
        except (TransientError, AwsUnavailable) as exc:
            return self._retry_later(task_id, delivery, attempt, str(exc))
        except Exception as exc:
            # Last resort for a bug or an error nobody mapped (a library raising something new):
            # left to escape, it would skip releasing the claim and the receive-limit rule, so
            # SQS would dead-letter the message while the task stayed `processing` forever.
            # Treated as transient: retried, and failed when the receive limit is reached.
            log.exception("unexpected error", extra={"stage": "error", "task_id": task_id})
            return self._retry_later(
                task_id, delivery, attempt, f"unexpected error: {type(exc).__name__}: {exc}"
            )
        finally:
            if attempt is not None:
                with self._lock:
                    self._attempts.pop(attempt.worker_id, None)

    def release(self, delivery: Delivery, *, task_id: str | None) -> Outcome:
        """Hand an unclaimed message back to the queue at once (the worker is stopping)."""
        try:
            self._queue.change_visibility(delivery.receipt_handle, 0)
        except AwsUnavailable as exc:
            log.warning(
                "could not release the message", extra={"task_id": task_id, "reason": str(exc)}
            )
        self._log("released", task_id, delivery)
        return Outcome.RELEASED

    def release_in_flight(self) -> None:
        """Give back every task still in hand: its claim and its message (shutdown)."""
        with self._lock:
            attempts = list(self._attempts.values())
        for attempt in attempts:
            with attempt.lock:
                if attempt.closed:
                    continue
                attempt.closed = True
                self._release_claim(attempt)
            self.release(attempt.delivery, task_id=attempt.task_id)

    def _claim(self, record: TaskRecord, delivery: Delivery) -> Attempt | Outcome:
        worker_id = f"{self._host}:{uuid.uuid4().hex[:12]}"
        try:
            self._store.claim(
                task_id=record.task_id, worker_id=worker_id, lease_seconds=self._visibility
            )
        except ConditionFailed:
            current = self._store.get(record.task_id, consistent=True)
            if current is None or current.status not in (contract.WAITING, contract.PROCESSING):
                return self._skip(record.task_id, delivery, current)
            # Another attempt holds a live claim (a duplicate delivery): look again when it ends.
            delay = max(1, (current.lease_until or 0) - int(time.time()) + 1)
            self._queue.change_visibility(delivery.receipt_handle, delay)
            self._log(
                "deferred",
                record.task_id,
                delivery,
                delay_seconds=delay,
                reason="another attempt holds the task",
            )
            return Outcome.DEFERRED
        attempt = Attempt(task_id=record.task_id, worker_id=worker_id, delivery=delivery)
        with self._lock:
            self._attempts[worker_id] = attempt
        self._log(
            "claimed", record.task_id, delivery, worker_id=worker_id, attempt=record.attempts + 1
        )
        return attempt

    def _run(self, attempt: Attempt, record: TaskRecord) -> Outcome:
        api, payload = parse_request(record.request_data, self._allowed_apis)
        task_id, delivery = attempt.task_id, attempt.delivery
        self._log("rendering", task_id, delivery, api=api)
        started = time.monotonic()
        with _Heartbeat(self, attempt):
            try:
                pngs = self._webui.render(api, payload)
            except WebUIError as exc:
                raise (PermanentError if exc.permanent else TransientError)(str(exc)) from exc
            self._log(
                "rendered",
                task_id,
                delivery,
                images=len(pngs),
                seconds=round(time.monotonic() - started, 3),
            )
            keys = tuple(contract.image_key(task_id, n) for n in range(1, len(pngs) + 1))
            # The keys are the task's, not the attempt's: an attempt that lost its claim would
            # overwrite the images of the one that took over. So extend the claim right before
            # storing (which also notices a loss the last heartbeat has not seen yet), and look
            # again before each image, since the heartbeat keeps checking while they upload.
            if not self.beat(attempt):
                return self._abandon(attempt)
            for key, png in zip(keys, pngs, strict=True):
                if attempt.closed:
                    return self._abandon(attempt)
                self._images.put_png(key, png)
            self._log("stored", task_id, delivery, bucket=self._images.bucket, keys=list(keys))
        with attempt.lock:
            if attempt.closed:  # released by a shutdown, or lost, while the images were stored
                return self._abandon(attempt)
            attempt.closed = True
            try:
                self._store.finish(task_id=task_id, worker_id=attempt.worker_id, image_keys=keys)
            except ConditionFailed:
                log.warning(
                    "lost the claim before finishing; another attempt owns the task",
                    extra={"stage": "lost", "task_id": task_id},
                )
                return Outcome.SKIPPED
        self._delete(delivery, task_id=task_id)
        self._log(
            "finished",
            task_id,
            delivery,
            images=len(keys),
            seconds=round(time.monotonic() - started, 3),
        )
        return Outcome.FINISHED

    def _abandon(self, attempt: Attempt) -> Outcome:
        """Stop an attempt that may no longer write: released by a shutdown, or taken over."""
        if not attempt.lost:
            return Outcome.RELEASED  # release_in_flight gave back the claim and the message
        # The message is not deleted: it may be the very message the new owner holds (deleting
        # with an older receipt handle can remove it from under that owner, whose transient
        # failure would then never be retried), and if it is a duplicate, it comes back after
        # its visibility timeout and is deferred or skipped by the task's state then.
        log.warning(
            "lost the claim; the images are not stored",
            extra={"stage": "lost", "task_id": attempt.task_id, "worker_id": attempt.worker_id},
        )
        return Outcome.SKIPPED

    def _skip(self, task_id: str, delivery: Delivery, record: TaskRecord | None) -> Outcome:
        status = record.status if record else "missing"
        self._delete(delivery, task_id=task_id)
        self._log("skipped", task_id, delivery, task_status=status)
        return Outcome.SKIPPED

    def _fail(
        self, task_id: str, delivery: Delivery, attempt: Attempt | None, reason: str
    ) -> Outcome:
        if not self._mark_failed(task_id, attempt, reason):
            return Outcome.SKIPPED
        self._delete(delivery, task_id=task_id)
        log.error("failed", extra={"stage": "failed", "task_id": task_id, "reason": reason})
        return Outcome.FAILED

    def _retry_later(
        self, task_id: str, delivery: Delivery, attempt: Attempt | None, reason: str
    ) -> Outcome:
        count, limit = delivery.receive_count, self._max_receive_count
        if limit is not None and count >= limit:
            # SQS moves the message to the dead-letter queue on its next receive; fail the task
            # first, so that it does not stay waiting forever.
            self._mark_failed(task_id, attempt, f"gave up after {count} attempts: {reason}")
            self._set_visibility(delivery, 0, task_id)
            log.error(
                "failed at the receive limit; the message goes to the dead-letter queue",
                extra={
                    "stage": "gave_up",
                    "task_id": task_id,
                    "receive_count": count,
                    "reason": reason,
                },
            )
            return Outcome.GAVE_UP
        if attempt is not None:
            with attempt.lock:
                if not attempt.closed:
                    attempt.closed = True
                    self._release_claim(attempt)
        delay = min(self._retry * 2 ** max(0, count - 1), MAX_RETRY_DELAY_SECONDS)
        self._set_visibility(delivery, delay, task_id)
        log.warning(
            "will retry",
            extra={
                "stage": "retry",
                "task_id": task_id,
                "receive_count": count,
                "delay_seconds": delay,
                "reason": reason,
            },
        )
        return Outcome.RETRY

    def _mark_failed(self, task_id: str, attempt: Attempt | None, reason: str) -> bool:
        """Fail the task; False when it moved on (finished, failed, held by another attempt)."""
        if attempt is not None:
            with attempt.lock:
                attempt.closed = True
        try:
            self._store.fail(
                task_id=task_id,
                reason=reason,
                worker_id=attempt.worker_id if attempt else None,
            )
        except ConditionFailed:
            log.warning(
                "task moved on before it could be marked failed",
                extra={"stage": "failed", "task_id": task_id, "reason": reason},
            )
            return False
        except AwsUnavailable as exc:
            log.error(
                "could not mark the task failed",
                extra={"stage": "failed", "task_id": task_id, "reason": str(exc)},
            )
            return False
        return True

    def _release_claim(self, attempt: Attempt) -> None:
        try:
            self._store.release(task_id=attempt.task_id, worker_id=attempt.worker_id)
        except (ConditionFailed, AwsUnavailable) as exc:
            log.warning(
                "could not release the claim",
                extra={"task_id": attempt.task_id, "reason": str(exc)},
            )

    def beat(self, attempt: Attempt) -> bool:
        """Extend an attempt's claim and its message's visibility; False once it is over."""
        with attempt.lock:
            if attempt.closed:
                return False
            try:
                self._queue.change_visibility(attempt.delivery.receipt_handle, self._visibility)
                self._store.extend_lease(
                    task_id=attempt.task_id,
                    worker_id=attempt.worker_id,
                    lease_seconds=self._visibility,
                )
            except ConditionFailed:
                # Another attempt owns the task: write nothing more for this one (see _run).
                attempt.closed = attempt.lost = True
                log.warning("lost the claim", extra={"stage": "lost", "task_id": attempt.task_id})
                return False
            except AwsUnavailable as exc:
                log.warning(
                    "heartbeat failed", extra={"task_id": attempt.task_id, "reason": str(exc)}
                )
        return True

    def _delete(self, delivery: Delivery, *, task_id: str | None) -> None:
        try:
            self._queue.delete(delivery.receipt_handle)
        except AwsUnavailable as exc:
            # The message comes back after its visibility timeout and is skipped then.
            log.warning(
                "could not delete the message", extra={"task_id": task_id, "reason": str(exc)}
            )

    def _set_visibility(self, delivery: Delivery, seconds: int, task_id: str) -> None:
        try:
            self._queue.change_visibility(delivery.receipt_handle, seconds)
        except AwsUnavailable as exc:
            log.warning(
                "could not change the message's visibility",
                extra={"task_id": task_id, "reason": str(exc)},
            )

    @property
    def heartbeat_seconds(self) -> float:
        """How often a running attempt is kept alive."""
        return self._heartbeat

    @staticmethod
    def _log(stage: str, task_id: str | None, delivery: Delivery, **fields: Any) -> None:
        log.info(
            stage,
            extra={"stage": stage, "task_id": task_id, "message_id": delivery.message_id, **fields},
        )


class _Heartbeat:
    """Keeps an attempt alive from a background thread while the block runs."""

    def __init__(self, processor: TaskProcessor, attempt: Attempt) -> None:
        self._processor = processor
        self._attempt = attempt
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{attempt.task_id[:8]}", daemon=True
        )

    def __enter__(self) -> None:
        self._thread.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self._processor.heartbeat_seconds):
            if not self._processor.beat(self._attempt):
                return
