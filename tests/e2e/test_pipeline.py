"""The whole path over real HTTP: gunicorn, moto's server, the worker, the stand-in WebUI."""

from __future__ import annotations

import signal
from typing import Any

import requests

from service.devtools.png import png_size
from service.devtools.standin_webui import StandInWebUI
from tests.builders import task_request
from tests.conftest import Stack
from tests.processes import gunicorn_api, wait_for
from tests.worker.conftest import worker_process


def test_a_submitted_task_finishes_with_images_a_browser_can_open(
    public_stack: Stack, standin: StandInWebUI
) -> None:
    # Given the API, a worker and a WebUI, with image URLs on the emulated bucket
    env = {
        **public_stack.env,
        "CLOUDFRONT_DOMAIN": f"{public_stack.endpoint_url}/{public_stack.resources.bucket_name}",
        "WEB_CONCURRENCY": "1",
        "WEBUI_URL": standin.url,
        "WORKER_POLL_SECONDS": "1",
    }
    with gunicorn_api(env) as api, worker_process(env) as (worker, log):
        # When a client submits two tasks
        sizes = {(128, 64): 3, (64, 96): 1}
        task_ids = {}
        for (width, height), count in sizes.items():
            body = task_request(width=width, height=height, batch_size=count, seed=3)
            posted = requests.post(f"{api.url}/task", json=body, timeout=10)
            assert posted.status_code == 202, posted.text
            task_ids[(width, height)] = posted.json()["taskId"]

        # Then polling GET /task shows each finished
        answers: dict[tuple[int, int], dict[str, Any]] = {}

        def finished() -> bool:
            for size, task_id in task_ids.items():
                answer = requests.get(f"{api.url}/task", params={"taskId": task_id}, timeout=10)
                answers[size] = answer.json()
            return all(answer["taskStatus"] == "finished" for answer in answers.values())

        wait_for(finished, timeout=30, what="both tasks finished")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0, log.read_text()

    # And every URL answers a PNG of the requested size to an unsigned GET
    for size, answer in answers.items():
        assert len(answer["images"]) == sizes[size]
        for url in answer["images"]:
            assert url.startswith(f"{public_stack.endpoint_url}/")
            image = requests.get(url, timeout=10)
            assert image.status_code == 200
            assert image.headers["Content-Type"] == "image/png"
            assert png_size(image.content) == size
    assert standin.total_calls() == 2


def test_a_task_the_webui_refuses_shows_failed_with_its_error(
    public_stack: Stack, standin: StandInWebUI
) -> None:
    fail_status = 422
    standin.set_behaviour(fail_status=fail_status)
    env = {**public_stack.env, "WEBUI_URL": standin.url, "WORKER_POLL_SECONDS": "1"}
    with gunicorn_api(env) as api, worker_process(env) as (worker, log):
        posted = requests.post(f"{api.url}/task", json=task_request(), timeout=10)
        task_id = posted.json()["taskId"]

        def answer() -> dict[str, Any]:
            got = requests.get(f"{api.url}/task", params={"taskId": task_id}, timeout=10)
            return dict(got.json())

        wait_for(lambda: answer()["taskStatus"] == "failed", timeout=30, what="failed")
        assert answer()["error"].startswith(f"WebUI answered {fail_status}:")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0, log.read_text()
