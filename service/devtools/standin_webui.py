"""A stand-in for Stable Diffusion WebUI on machines without a GPU. Development and tests only.

`python -m service.devtools.standin_webui` serves, on $STANDIN_HOST:$STANDIN_PORT (default
127.0.0.1:7860):

- `POST /sdapi/v1/txt2img` and `/sdapi/v1/img2img`: `{"images": [base64 PNG...], "parameters",
  "info"}` like the WebUI, `batch_size * n_iter` pictures of `width` x `height`, each drawn from its
  seed (`seed`, `seed + 1`, ...; -1 picks one), so the same request gives the same pictures;
- `GET /sdapi/v1/progress`: the WebUI's progress answer for the render in hand;
- `GET /standin/stats`: how many render calls each path received;
- `GET` / `POST /standin/behaviour` `{"delay_seconds": 2, "fail_status": 500}`: be slow, or fail
  with a status, from now on (STANDIN_DELAY_SECONDS and STANDIN_FAIL_STATUS set the start values).

Nothing in the API or the worker imports this module.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from service.devtools.png import landscape
from service.logs import configure_logging
from service.settings import ConfigError, env_port, log_level_from_env

log = logging.getLogger("service.devtools.standin_webui")

RENDER_PATHS = ("/sdapi/v1/txt2img", "/sdapi/v1/img2img")
MAX_SIDE = 4096
MAX_IMAGES = 64
MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass(kw_only=True)
class Behaviour:
    """How the stand-in answers render calls: after `delay_seconds`, and failing if told to."""

    delay_seconds: float = 0.0
    fail_status: int | None = None


class RequestError(Exception):
    """A render request the WebUI would refuse (it answers 422)."""


def _int_field(payload: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = payload.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise RequestError(f"{name} must be an integer")
    if not low <= int(value) <= high:
        raise RequestError(f"{name} must be between {low} and {high}")
    return int(value)


def render(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Answer a txt2img/img2img payload as the WebUI does, with deterministic pictures."""
    width = _int_field(payload, "width", 512, 8, MAX_SIDE)
    height = _int_field(payload, "height", 512, 8, MAX_SIDE)
    batch_size = _int_field(payload, "batch_size", 1, 1, MAX_IMAGES)
    n_iter = _int_field(payload, "n_iter", 1, 1, MAX_IMAGES)
    if batch_size * n_iter > MAX_IMAGES:
        raise RequestError(f"batch_size * n_iter must be at most {MAX_IMAGES}")
    seed = _int_field(payload, "seed", -1, -1, 2**32 - 1)
    if seed == -1:
        seed = random.randrange(2**32)  # noqa: S311 (a picture's seed, not a secret)
    seeds = [seed + number for number in range(batch_size * n_iter)]
    images = [base64.b64encode(landscape(width, height, each)).decode() for each in seeds]
    info = {
        "prompt": payload.get("prompt", ""),
        "seed": seed,
        "all_seeds": seeds,
        "width": width,
        "height": height,
        "sd_model_name": "stand-in",
    }
    return {"images": images, "parameters": dict(payload), "info": json.dumps(info)}


class StandInWebUI:
    """The server, its behaviour and its counters; start() serves from a background thread."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, behaviour: Behaviour | None = None
    ) -> None:
        self.behaviour = behaviour or Behaviour()
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.job_started: float | None = None
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL a worker's WEBUI_URL names."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def total_calls(self) -> int:
        """How many render calls arrived, on every path."""
        with self.lock:
            return sum(self.calls.values())

    def set_behaviour(self, *, delay_seconds: float = 0.0, fail_status: int | None = None) -> None:
        """Change how the following render calls are answered."""
        with self.lock:
            self.behaviour = Behaviour(delay_seconds=delay_seconds, fail_status=fail_status)

    def start(self) -> StandInWebUI:
        """Serve from a daemon thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="standin", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve until stop()."""
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop serving from the background thread; slow renders in progress return at once."""
        self.stopping.set()
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self.close()

    def close(self) -> None:
        """Close the listening socket."""
        self.stopping.set()
        self._server.server_close()


def _handler(standin: StandInWebUI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "StandInWebUI/1"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                # The caller gave up (a timeout, a worker that stopped): as the WebUI, carry on.
                log.info("the caller left before the answer")

        def _json_body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                raise RequestError("body too large")
            try:
                return json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                raise RequestError("body is not JSON") from None

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/sdapi/v1/progress":
                self._answer(HTTPStatus.OK, _progress(standin))
            elif path == "/standin/stats":
                with standin.lock:
                    calls = dict(standin.calls)
                self._answer(HTTPStatus.OK, {"calls": calls, "total": sum(calls.values())})
            elif path == "/standin/behaviour":
                with standin.lock:
                    self._answer(HTTPStatus.OK, asdict(standin.behaviour))
            else:
                self._answer(HTTPStatus.NOT_FOUND, {"detail": "Not Found"})

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            try:
                body = self._json_body()
                if path == "/standin/behaviour":
                    self._set_behaviour(body)
                elif path in RENDER_PATHS:
                    self._render(path, body)
                else:
                    self._answer(HTTPStatus.NOT_FOUND, {"detail": "Not Found"})
            except RequestError as exc:
                self._answer(HTTPStatus.UNPROCESSABLE_ENTITY, {"detail": str(exc)})

        def _set_behaviour(self, body: Any) -> None:
            if not isinstance(body, dict):
                raise RequestError("behaviour must be a JSON object")
            delay = body.get("delay_seconds", 0) or 0
            status = body.get("fail_status")
            if not isinstance(delay, int | float) or delay < 0:
                raise RequestError("delay_seconds must be a number of seconds")
            if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
                raise RequestError("fail_status must be an HTTP error status or null")
            standin.set_behaviour(delay_seconds=float(delay), fail_status=status)
            self._answer(HTTPStatus.OK, asdict(standin.behaviour))

        def _render(self, path: str, payload: Any) -> None:
            with standin.lock:
                standin.calls[path] += 1
                behaviour = Behaviour(**asdict(standin.behaviour))
                standin.job_started = time.monotonic()
            log.info("render", extra={"path": path, **asdict(behaviour)})
            try:
                if behaviour.delay_seconds:
                    standin.stopping.wait(behaviour.delay_seconds)
                if behaviour.fail_status is not None:
                    self._answer(behaviour.fail_status, {"detail": "the stand-in was told to fail"})
                    return
                if not isinstance(payload, dict):
                    raise RequestError("the payload must be a JSON object")
                self._answer(HTTPStatus.OK, render(payload))
            finally:
                with standin.lock:
                    standin.job_started = None

    return Handler


def _progress(standin: StandInWebUI) -> dict[str, Any]:
    with standin.lock:
        started, delay = standin.job_started, standin.behaviour.delay_seconds
    if started is None:
        fraction, eta = 0.0, 0.0
    else:
        elapsed = time.monotonic() - started
        fraction = min(0.99, elapsed / delay) if delay else 0.99
        eta = max(0.0, delay - elapsed)
    return {
        "progress": round(fraction, 3),
        "eta_relative": round(eta, 3),
        "state": {"job_count": int(started is not None), "sampling_step": 0, "sampling_steps": 0},
        "current_image": None,
        "textinfo": None,
    }


def _behaviour_from_env(env: Mapping[str, str]) -> Behaviour:
    delay = env.get("STANDIN_DELAY_SECONDS", "").strip()
    status = env.get("STANDIN_FAIL_STATUS", "").strip()
    try:
        return Behaviour(
            delay_seconds=float(delay) if delay else 0.0,
            fail_status=int(status) if status else None,
        )
    except ValueError:
        raise SystemExit(
            "configuration error: STANDIN_DELAY_SECONDS must be a number and "
            "STANDIN_FAIL_STATUS an HTTP status"
        ) from None


def main() -> None:
    """Serve until SIGTERM or Ctrl-C."""
    env = os.environ
    host = env.get("STANDIN_HOST", "").strip() or "127.0.0.1"
    try:
        port = env_port(env, "STANDIN_PORT", 7860)
        configure_logging(log_level_from_env(env))
    except ConfigError as exc:
        sys.exit(f"configuration error: {exc}")
    standin = StandInWebUI(host=host, port=port, behaviour=_behaviour_from_env(env))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("stand-in WebUI serving", extra={"url": standin.url, **asdict(standin.behaviour)})
    try:
        standin.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        standin.close()


if __name__ == "__main__":
    main()
