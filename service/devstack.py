"""The local stack without Docker (`make run`): moto's server in-process, resources, the API.

A development tool: it serves the real app under gunicorn against moto on 127.0.0.1, the port
LocalStack uses, so the same AWS_ENDPOINT_URL serves both. Stop it with Ctrl-C.
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

from moto.server import ThreadedMotoServer

from service.aws import make_clients
from service.bootstrap import Resources, ensure_resources
from service.errors import AwsUnavailable
from service.settings import ConfigError, aws_from_env

HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 30


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"{name} must be a TCP port number, got {raw!r}")
    return int(raw)


def stack_env(env: Mapping[str, str], *, moto_port: int) -> dict[str, str]:
    """The environment the local processes share: fake credentials, the emulator's endpoint."""
    endpoint = f"http://{HOST}:{moto_port}"
    resources = Resources.from_env(env)
    return {
        **env,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": env.get("AWS_REGION", "us-east-1"),
        "AWS_ENDPOINT_URL": endpoint,
        "DYNAMODB_TABLE": resources.table_name,
        "IMAGES_BUCKET": resources.bucket_name,
        "CLOUDFRONT_DOMAIN": f"{endpoint}/{resources.bucket_name}",
        "HOST": HOST,
        "PORT": str(_port(env, "PORT", 8000)),
    }


def wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    """Poll a /healthz URL until it answers 200, or fail if the process exits or time runs out."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the API exited with code {process.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the API did not answer {url} within {READY_TIMEOUT_SECONDS} s")


def main() -> None:
    """Start moto, create the resources, serve the API; stop everything on Ctrl-C or SIGTERM."""
    try:
        moto_port = _port(os.environ, "MOTO_PORT", 4566)
        # This process and the ones it starts share one environment: boto3 reads credentials there.
        os.environ.update(stack_env(os.environ, moto_port=moto_port))
        resources = Resources.from_env(os.environ)
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
    api = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:service.gunicorn_conf",
            "service.wsgi:app",
        ],
        env=env,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        base = f"http://{HOST}:{env['PORT']}"
        wait_until_healthy(f"{base}/healthz", api)
        print(
            f"\nSD task service on {base} (AWS emulated by moto on {env['AWS_ENDPOINT_URL']}).\n"
            "Try:\n"
            f"  curl -s -X POST {base}/task -H 'Content-Type: application/json' \\\n"
            '    -d \'{"api": "/sdapi/v1/txt2img", "payload": {"prompt": "a lighthouse", '
            '"steps": 20}}\'\n'
            f"  curl -s '{base}/task?taskId=<taskId from the answer above>'\n"
            f"API docs: {base}/docs   Stop: Ctrl-C\n",
            flush=True,
        )
        api.wait()
    except KeyboardInterrupt:
        pass
    finally:
        api.terminate()
        api.wait(timeout=30)
        moto.stop()


if __name__ == "__main__":
    main()
