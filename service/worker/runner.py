"""The worker process: threads that long-poll the queue, and a clean stop on SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

from service.aws import AwsClients, make_clients
from service.errors import AwsUnavailable
from service.images import ImageStore
from service.logs import configure_logging
from service.queue import TaskQueue
from service.settings import ConfigError
from service.store import TaskStore
from service.worker.processor import TaskProcessor
from service.worker.settings import WorkerSettings, worker_settings_from_env
from service.worker.webui import WebUIClient

log = logging.getLogger("service.worker")

# How long to wait before polling again when SQS cannot be reached.
RECEIVE_RETRY_SECONDS = 5.0


class Worker:
    """`concurrency` threads, each taking one task at a time from the queue to the WebUI."""

    def __init__(self, *, settings: WorkerSettings, clients: AwsClients) -> None:
        """Wire the adapters; raises AwsUnavailable when the queue cannot be read."""
        self._settings = settings
        self._queue = TaskQueue(client=clients.sqs, queue_url=settings.queue_url)
        self.stopping = threading.Event()
        self.max_receive_count = self._queue.max_receive_count()
        self.processor = TaskProcessor(
            store=TaskStore(client=clients.dynamodb, table_name=settings.table_name),
            queue=self._queue,
            images=ImageStore(client=clients.s3, bucket=settings.bucket),
            webui=WebUIClient(base_url=settings.webui_url, timeout=settings.webui_timeout_seconds),
            allowed_apis=settings.allowed_apis,
            visibility_seconds=settings.visibility_seconds,
            heartbeat_seconds=settings.heartbeat_seconds,
            retry_seconds=settings.retry_seconds,
            max_receive_count=self.max_receive_count,
            stopping=self.stopping,
        )

    def stop(self) -> None:
        """Ask the worker to stop: no new receives; the tasks in hand finish or are released."""
        self.stopping.set()

    def run(self) -> None:
        """Work until stop() is called, then wait up to the grace period and release the rest."""
        threads = [
            threading.Thread(target=self._loop, name=f"worker-{number}", daemon=True)
            for number in range(1, self._settings.concurrency + 1)
        ]
        for thread in threads:
            thread.start()
        self.stopping.wait()
        log.info(
            "stopping",
            extra={"stage": "stopping", "grace_seconds": self._settings.stop_grace_seconds},
        )
        deadline = time.monotonic() + self._settings.stop_grace_seconds
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.processor.release_in_flight()
        log.info("stopped", extra={"stage": "stopped"})

    def _loop(self) -> None:
        settings = self._settings
        while not self.stopping.is_set():
            try:
                deliveries = self._queue.receive(
                    wait_seconds=settings.poll_seconds,
                    visibility_seconds=settings.visibility_seconds,
                )
            except AwsUnavailable as exc:
                log.warning("could not receive", extra={"stage": "receive", "reason": str(exc)})
                self.stopping.wait(RECEIVE_RETRY_SECONDS)
                continue
            for delivery in deliveries:
                if self.stopping.is_set():
                    self.processor.release(delivery, task_id=None)
                    continue
                try:
                    self.processor.handle(delivery)
                except Exception:
                    # A bug, not a task's failure: keep serving; the message comes back later.
                    log.exception(
                        "unexpected error",
                        extra={"stage": "error", "message_id": delivery.message_id},
                    )


def main() -> None:
    """Run the worker from the environment until SIGTERM or Ctrl-C; exit 0 when stopped."""
    try:
        settings = worker_settings_from_env()
    except ConfigError as exc:
        sys.exit(f"configuration error: {exc}")
    configure_logging(settings.log_level)
    try:
        worker = Worker(settings=settings, clients=make_clients(settings.aws))
    except AwsUnavailable as exc:
        sys.exit(f"cannot read the queue {settings.queue_url}: {exc}")
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    log.info(
        "worker started",
        extra={
            "stage": "started",
            "webui_url": settings.webui_url,
            "concurrency": settings.concurrency,
            "queue_url": settings.queue_url,
            "max_receive_count": worker.max_receive_count,
        },
    )
    worker.run()
