"""`make run`: the local stack gives a person a finished task whose URLs open as PNGs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests

from service.devstack import Layout, stack_env
from service.devtools.png import png_size
from service.settings import ConfigError
from tests.builders import task_request
from tests.conftest import free_port
from tests.processes import wait_for


def test_make_run_serves_the_whole_pipeline() -> None:
    ports = {"MOTO_PORT": free_port(), "PORT": free_port(), "STANDIN_PORT": free_port()}
    env = {**os.environ, **{name: str(port) for name, port in ports.items()}}
    env["STANDIN_DELAY_SECONDS"] = "0"
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder, "output")
        with output.open("wb") as out:
            stack = subprocess.Popen(
                [sys.executable, "-m", "service.devstack"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for(
                lambda: "Stop: Ctrl-C" in output.read_text() or stack.poll() is not None,
                timeout=60,
                what="the stack's banner",
            )
            banner = output.read_text()
            assert stack.poll() is None, banner
            assert "Worker: built in, rendering with the stand-in WebUI" in banner
            base = f"http://127.0.0.1:{ports['PORT']}"

            # When a person runs the README's curl lines
            body = task_request(width=64, height=64)
            task_id = requests.post(f"{base}/task", json=body, timeout=10).json()["taskId"]

            def answer() -> dict[str, object]:
                got = requests.get(f"{base}/task", params={"taskId": task_id}, timeout=10)
                return dict(got.json())

            wait_for(lambda: answer()["taskStatus"] == "finished", timeout=30, what="finished")

            # Then the URL opens as a PNG from the emulated bucket
            [url] = answer()["images"]  # type: ignore[misc]
            assert str(url).startswith(f"http://127.0.0.1:{ports['MOTO_PORT']}/sd-images/")
            image = requests.get(str(url), timeout=10)
            assert image.headers["Content-Type"] == "image/png"
            assert png_size(image.content) == (64, 64)
        finally:
            stack.send_signal(signal.SIGTERM)
            code = stack.wait(timeout=60)
        # And SIGTERM stops every process it started
        assert code == 0, output.read_text()
    for port in ports.values():
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/", timeout=2)


@pytest.mark.parametrize(
    ("env", "layout"),
    [
        ({}, (True, True)),
        ({"BUILTIN_WORKER": "0"}, (False, False)),
        ({"BUILTIN_WORKER": "0", "STANDIN_WEBUI": "1"}, (False, True)),
        ({"STANDIN_WEBUI": "0"}, (True, False)),
    ],
)
def test_the_switches_choose_the_processes(env: dict[str, str], layout: tuple[bool, bool]) -> None:
    worker, standin = layout
    assert Layout.from_env(env) == Layout(builtin_worker=worker, standin_webui=standin)


def test_a_real_webui_replaces_the_stand_in() -> None:
    env = stack_env({"STANDIN_WEBUI": "0", "WEBUI_URL": "http://gpu:7860"}, moto_port=4566)
    assert env["WEBUI_URL"] == "http://gpu:7860"
    assert env["CLOUDFRONT_DOMAIN"] == "http://127.0.0.1:4566/sd-images"
    assert stack_env({}, moto_port=4566)["WEBUI_URL"] == "http://127.0.0.1:7860"


def test_a_bad_switch_is_refused() -> None:
    with pytest.raises(ConfigError, match="BUILTIN_WORKER must be 0 or 1"):
        Layout.from_env({"BUILTIN_WORKER": "no"})
