"""`python -m service.worker` as a process against moto's HTTP server: SIGTERM stops it cleanly."""

from __future__ import annotations

import signal

from service.devtools.standin_webui import StandInWebUI
from service.queue import TaskQueue
from service.store import TaskStore
from tests.conftest import Stack
from tests.processes import wait_for
from tests.worker.conftest import queue_counts, status, worker_process

FAST_ENV = {
    "WORKER_POLL_SECONDS": "1",
    "WORKER_VISIBILITY_SECONDS": "30",
    "WORKER_RETRY_SECONDS": "0",
}


def submit(stack: Stack, task_id: str) -> None:
    """Store a waiting task and queue it, as the API does."""
    TaskStore(client=stack.clients.dynamodb, table_name=stack.resources.table_name).create(
        task_id=task_id,
        request_data='{"api":"/sdapi/v1/txt2img","payload":{"width":64,"height":64}}',
        submit_time="2026-12-04T19:22:29.263Z",
        expires_at=None,
    )
    TaskQueue(client=stack.clients.sqs, queue_url=stack.queue_url).send(task_id)


def test_sigterm_mid_task_releases_the_message_and_exits_0(
    server_stack: Stack, standin: StandInWebUI
) -> None:
    # Given a worker process rendering a task on a WebUI that takes a minute
    standin.set_behaviour(delay_seconds=60)
    task_id = "e1a0c7d4-2b3f-4c5e-9d6a-7b8c9d0e1f2a"
    submit(server_stack, task_id)
    env = {**server_stack.env, **FAST_ENV, "WEBUI_URL": standin.url}
    with worker_process({**env, "WORKER_STOP_GRACE_SECONDS": "1"}) as (process, log):
        wait_for(lambda: standin.total_calls() == 1, timeout=20, what="the render call")

        # When it is told to stop
        process.send_signal(signal.SIGTERM)

        # Then it exits 0 within its grace period
        assert process.wait(timeout=15) == 0, log.read_text()
        assert '"stage": "released"' in log.read_text()
    # And the message is visible again at once, its claim given up
    assert queue_counts(server_stack) == (1, 0)
    item = server_stack.item(task_id)
    assert item is not None
    assert item["leaseUntil"] == {"N": "0"}
    assert "workerId" not in item

    # And the next worker takes the task over and finishes it
    standin.set_behaviour()
    with worker_process(env) as (process, log):
        wait_for(
            lambda: status(server_stack, task_id) == "finished",
            timeout=20,
            what="the task finished by the next worker",
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, log.read_text()
    assert standin.total_calls() == 2


def test_sigterm_lets_a_short_task_finish_first(server_stack: Stack, standin: StandInWebUI) -> None:
    standin.set_behaviour(delay_seconds=1)
    task_id = "f2b1d8e5-3c4a-4d6f-8e7b-8c9d0e1f2a3b"
    submit(server_stack, task_id)
    env = {**server_stack.env, **FAST_ENV, "WEBUI_URL": standin.url}
    with worker_process({**env, "WORKER_STOP_GRACE_SECONDS": "20"}) as (process, log):
        wait_for(lambda: standin.total_calls() == 1, timeout=20, what="the render call")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=25) == 0, log.read_text()

    assert status(server_stack, task_id) == "finished"
    assert queue_counts(server_stack) == (0, 0)
