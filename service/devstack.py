"""The local stack without Docker (`make run`): moto, the API, the stand-in WebUI and the worker.

A development tool: it serves the real app under gunicorn against moto's server on 127.0.0.1, the
port LocalStack uses, so the same AWS_ENDPOINT_URL serves both; the reference worker renders the
tasks with the stand-in WebUI, and image URLs point at the emulated bucket, so they open in a
browser. BUILTIN_WORKER=0 leaves the queue to workers of your own; STANDIN_WEBUI=0 with WEBUI_URL
points the built-in worker at a real WebUI. Stop it with Ctrl-C.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from moto.server import ThreadedMotoServer

from service.aws import make_clients
from service.bootstrap import Resources, ensure_resources
from service.errors import AwsUnavailable
from service.settings import ConfigError, aws_from_env, env_port, env_switch

HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 30
# The worker may finish the task in hand before it stops.
STOP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True, kw_only=True)
class Layout:
    """Which processes the local stack runs besides moto and the API."""

    builtin_worker: bool
    standin_webui: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Layout:
        """Read BUILTIN_WORKER (default 1) and STANDIN_WEBUI (default: as BUILTIN_WORKER)."""
        builtin_worker = env_switch(env, "BUILTIN_WORKER", True)
        return cls(
            builtin_worker=builtin_worker,
            standin_webui=env_switch(env, "STANDIN_WEBUI", builtin_worker),
        )


def stack_env(env: Mapping[str, str], *, moto_port: int) -> dict[str, str]:
    """The environment the local processes share: fake credentials, the emulator's endpoint."""
    endpoint = f"http://{HOST}:{moto_port}"
    resources = Resources.from_env(env)
    layout = Layout.from_env(env)
    standin_port = env_port(env, "STANDIN_PORT", 7860)
    shared = {
        **env,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": env.get("AWS_REGION", "us-east-1"),
        "AWS_ENDPOINT_URL": endpoint,
        "DYNAMODB_TABLE": resources.table_name,
        "IMAGES_BUCKET": resources.bucket_name,
        # The browser fetches images from the emulated bucket, which must then allow it.
        "CLOUDFRONT_DOMAIN": f"{endpoint}/{resources.bucket_name}",
        "IMAGES_PUBLIC_READ": "1",
        "HOST": HOST,
        "PORT": str(env_port(env, "PORT", 8000)),
        "STANDIN_HOST": HOST,
        "STANDIN_PORT": str(standin_port),
        # A render takes a moment, so a person polling sees the task go through its states.
        "STANDIN_DELAY_SECONDS": env.get("STANDIN_DELAY_SECONDS", "1"),
        # A shorter long poll than in production, so Ctrl-C stops the worker within seconds.
        "WORKER_POLL_SECONDS": env.get("WORKER_POLL_SECONDS", "5"),
    }
    if layout.standin_webui:
        shared["WEBUI_URL"] = f"http://{HOST}:{standin_port}"
    return shared


def wait_until_healthy(
    url: str, process: subprocess.Popen[bytes], *, name: str = "the API"
) -> None:
    """Poll a URL until it answers 200, or fail if the process exits or time runs out."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with code {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{name} did not answer {url} within {READY_TIMEOUT_SECONDS} s")


def _start(module: str, *args: str, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", module, *args], env=dict(env))  # noqa: S603


def _stop(processes: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    """Stop the processes in order: the worker first, so it can hand back the task in hand."""
    for _, process in processes:
        if process.poll() is None:
            process.terminate()
    for name, process in processes:
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop in {STOP_TIMEOUT_SECONDS} s; killing it", file=sys.stderr)
            process.kill()
            process.wait()


def _banner(env: Mapping[str, str], layout: Layout) -> str:
    base = f"http://{HOST}:{env['PORT']}"
    if layout.builtin_worker:
        webui = env.get("WEBUI_URL", "http://127.0.0.1:7860")
        kind = "the stand-in WebUI" if layout.standin_webui else "the WebUI"
        worker = (
            f"Worker: built in, rendering with {kind} on {webui} (BUILTIN_WORKER=0 to run yours)."
        )
    else:
        worker = (
            "Worker: none (BUILTIN_WORKER=0). Point yours at:\n"
            f"  AWS_ENDPOINT_URL={env['AWS_ENDPOINT_URL']} AWS_REGION={env['AWS_REGION']} "
            f"QUEUE_URL={env['QUEUE_URL']}\n"
            f"  DYNAMODB_TABLE={env['DYNAMODB_TABLE']} IMAGES_BUCKET={env['IMAGES_BUCKET']}"
        )
        if layout.standin_webui:
            worker += f"\nStand-in WebUI on http://{HOST}:{env['STANDIN_PORT']}."
    return (
        f"\nSD task service on {base} (AWS emulated by moto on {env['AWS_ENDPOINT_URL']}).\n"
        f"{worker}\n"
        "Try:\n"
        f"  curl -s -X POST {base}/task -H 'Content-Type: application/json' \\\n"
        '    -d \'{"api": "/sdapi/v1/txt2img", "payload": {"prompt": "a lighthouse", '
        '"steps": 20, "width": 512, "height": 512}}\'\n'
        f"  curl -s '{base}/task?taskId=<taskId from the answer above>'\n"
        f"Images open in a browser from {env['CLOUDFRONT_DOMAIN']}/sd/out/<taskId>-1.png\n"
        f"API docs: {base}/docs   Stop: Ctrl-C\n"
    )


def main() -> None:
    """Start moto, create the resources, run the processes; stop them all on Ctrl-C or SIGTERM."""
    try:
        moto_port = env_port(os.environ, "MOTO_PORT", 4566)
        # This process and the ones it starts share one environment: boto3 reads credentials there.
        os.environ.update(stack_env(os.environ, moto_port=moto_port))
        resources = Resources.from_env(os.environ)
        layout = Layout.from_env(os.environ)
        aws = aws_from_env(os.environ)
    except ConfigError as exc:
        sys.exit(f"configuration error: {exc}")
    # moto's Werkzeug server logs every emulated call; the API's own log says what matters.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto = ThreadedMotoServer(ip_address=HOST, port=moto_port)
    moto.start()
    try:
        os.environ["QUEUE_URL"] = ensure_resources(make_clients(aws), resources)
    except AwsUnavailable as exc:
        moto.stop()
        sys.exit(f"could not create the local resources: {exc}")
    env = dict(os.environ)
    # Stopped in this order: the worker first, so it hands back the task in hand.
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    exit_message = ""
    try:
        if layout.standin_webui:
            standin = _start("service.devtools.standin_webui", env=env)
            processes.append(("the stand-in WebUI", standin))
            wait_until_healthy(
                f"http://{HOST}:{env['STANDIN_PORT']}/sdapi/v1/progress",
                standin,
                name=f"the stand-in WebUI (is port {env['STANDIN_PORT']} free? STANDIN_PORT "
                "moves it)",
            )
        if layout.builtin_worker:
            processes.insert(0, ("the worker", _start("service.worker", env=env)))
        api = _start("gunicorn", "-c", "python:service.gunicorn_conf", "service.wsgi:app", env=env)
        processes.append(("the API", api))
        wait_until_healthy(f"http://{HOST}:{env['PORT']}/healthz", api)
        print(_banner(env, layout), flush=True)
        while not exit_message:
            for name, process in processes:
                if process.poll() is not None:
                    exit_message = f"{name} exited with code {process.returncode}; stopping"
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        # A terminal's Ctrl-C reaches every process of the group, often more than once: let the
        # children stop in their order, without a second interrupt cutting the wait short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _stop(processes)
        moto.stop()
    if exit_message:
        sys.exit(exit_message)


if __name__ == "__main__":
    main()
