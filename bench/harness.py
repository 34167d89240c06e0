"""One benchmark run: moto's server, the service under gunicorn, load, the bare SDK, figures."""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import procstat
from service.aws import AwsClients, make_clients
from service.bootstrap import Resources, ensure_resources
from service.settings import aws_from_env

HOST = "127.0.0.1"
BODY = {"api": "/sdapi/v1/txt2img", "payload": {"prompt": "a lighthouse", "steps": 20}}
OPERATIONS = {"POST": "post", "GET": "get"}  # service method -> bare SDK operation
SEEDED_TASKS = 200


@dataclass(frozen=True, kw_only=True)
class Plan:
    """How much load to send: bounded in requests and in time."""

    requests: int = 2000
    max_seconds: float = 60.0
    concurrencies: tuple[int, ...] = (1, 16)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _wait_until(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> float:
    """Poll `url` until it answers 200; return the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        if _answers(url):
            return time.monotonic() - started
        time.sleep(0.005)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextmanager
def _process(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _percentiles(latencies: list[float]) -> dict[str, float]:
    if len(latencies) < 2:
        value = latencies[0] if latencies else 0.0
        return {"p50": value, "p95": value, "p99": value}
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


def _run_json(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(finished.stdout)
    return result


def _seed_tasks(api_url: str, count: int) -> list[str]:
    """Submit tasks through the API (this also warms it) and return their ids."""
    host, port = api_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    ids = []
    for _ in range(count):
        connection.request(
            "POST", "/task", body=json.dumps(BODY), headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        ids.append(json.loads(response.read())["taskId"])
    connection.close()
    return ids


def run(plan: Plan) -> dict[str, Any]:
    """Measure the service and the bare SDK in one run; return every figure and the ratios."""
    python = sys.executable
    moto_port, api_port = _free_port(), _free_port()
    endpoint = f"http://{HOST}:{moto_port}"
    # The harness and its processes share one environment: boto3 reads credentials there.
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "CLOUDFRONT_DOMAIN": "d111111abcdef8.cloudfront.net",
            "DYNAMODB_TABLE": Resources().table_name,
            "HOST": HOST,
            "PORT": str(api_port),
        }
    )
    env = dict(os.environ)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cores": os.cpu_count(),
        "plan": {"requests": plan.requests, "max_seconds": plan.max_seconds},
        "service": {},
        "bare_sdk": {},
    }
    with (
        tempfile.TemporaryDirectory() as folder,
        _process([python, "-m", "moto.server", "-H", HOST, "-p", str(moto_port)], env) as moto,
    ):
        _wait_until(f"{endpoint}/moto-api/", moto)
        clients = make_clients(aws_from_env(env))
        env["QUEUE_URL"] = ensure_resources(clients, Resources())
        api_url = f"http://{HOST}:{api_port}"
        with _process(
            [python, "-m", "gunicorn", "-c", "python:service.gunicorn_conf", "service.wsgi:app"],
            env,
        ) as api:
            results["cold_start_seconds"] = _wait_until(f"{api_url}/healthz", api)
            ids_file = Path(folder, "ids")
            ids_file.write_text("\n".join(_seed_tasks(api_url, SEEDED_TASKS)))
            body_file = Path(folder, "body")
            body_file.write_text(json.dumps(BODY))
            for method, operation in OPERATIONS.items():
                data_file = body_file if method == "POST" else ids_file
                for concurrency in plan.concurrencies:
                    key = f"{method} c={concurrency}"
                    _empty_queue(clients, env["QUEUE_URL"])
                    cpu_before = procstat.tree_cpu_seconds(api.pid)
                    load = _run_json(
                        [
                            python,
                            "-m",
                            "bench.load",
                            f"{api_url}/task",
                            method,
                            str(concurrency),
                            str(plan.requests),
                            str(plan.max_seconds),
                            str(data_file),
                        ],
                        env,
                    )
                    cpu = procstat.tree_cpu_seconds(api.pid) - cpu_before
                    results["service"][key] = _summary(load, cpu)
                    _empty_queue(clients, env["QUEUE_URL"])
                    bare = _run_json(
                        [
                            python,
                            "-m",
                            "bench.bare",
                            operation,
                            str(concurrency),
                            str(plan.requests),
                            str(plan.max_seconds),
                            str(ids_file),
                        ],
                        env,
                    )
                    results["bare_sdk"][key] = _summary(bare, bare["cpu_seconds"])
            results["peak_rss_mb_per_worker"] = [
                round(procstat.peak_rss_mb(worker), 1) for worker in procstat.children(api.pid)
            ]
    results["ratios"] = _ratios(results)
    return results


def _empty_queue(clients: AwsClients, queue_url: str) -> None:
    """Start a phase on an empty queue: moto's SendMessage slows with every message queued.

    The queue is deleted and made again under the same URL, which moto allows at once (SQS
    itself would make us wait a minute, and PurgeQueue is limited to once a minute).
    """
    clients.sqs.delete_queue(QueueUrl=queue_url)
    ensure_resources(clients, Resources())


def _summary(load: dict[str, Any], cpu_seconds: float) -> dict[str, Any]:
    done = max(load["requests"], 1)
    return {
        "requests": load["requests"],
        "errors": load["errors"],
        "requests_per_second": round(load["requests"] / load["seconds"], 1),
        "cpu_ms_per_request": round(cpu_seconds * 1000 / done, 3),
        **{name: round(value, 2) for name, value in _percentiles(load["latencies_ms"]).items()},
    }


def _ratios(results: dict[str, Any]) -> dict[str, Any]:
    ratios = {}
    for key, service in results["service"].items():
        bare = results["bare_sdk"][key]
        ratios[key] = {
            "cpu": round(service["cpu_ms_per_request"] / bare["cpu_ms_per_request"], 2),
            "p50": round(service["p50"] / bare["p50"], 2),
            "p99": round(service["p99"] / bare["p99"], 2),
            "p99_added_ms": round(service["p99"] - bare["p99"], 2),
        }
    return ratios


def table(results: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    lines = [
        f"{'load':<10} {'who':<8} {'req/s':>8} {'cpu ms/req':>11} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'errors':>7}"
    ]
    for key in results["service"]:
        for who in ("service", "bare_sdk"):
            row = results[who][key]
            lines.append(
                f"{key:<10} {who.replace('_sdk', ''):<8} {row['requests_per_second']:>8} "
                f"{row['cpu_ms_per_request']:>11} {row['p50']:>8} {row['p95']:>8} "
                f"{row['p99']:>8} {row['errors']:>7}"
            )
        ratio = results["ratios"][key]
        lines.append(
            f"{key:<10} {'ratio':<8} {'':>8} {ratio['cpu']:>11} {ratio['p50']:>8} {'':>8} "
            f"{ratio['p99']:>8}   (p99 added {ratio['p99_added_ms']} ms)"
        )
    lines.append(
        f"cold start: {results['cold_start_seconds']:.3f} s; peak RSS per worker (MB): "
        f"{results['peak_rss_mb_per_worker']}"
    )
    return "\n".join(lines)
