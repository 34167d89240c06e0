"""CORS as the Lambda answered it: `Access-Control-Allow-Origin: *` by default, configurable.

A few header writes per response. flask-cors did the same job at a quarter of a GET's overhead
(measured with `make bench`), inspecting every response against rules this service does not need.
"""

from __future__ import annotations

from flask import Flask, Response, request

ALLOWED_METHODS = "GET, POST"
ALLOWED_HEADERS = "Content-Type, X-Request-Id"
EXPOSED_HEADERS = "Location, X-Request-Id"
PREFLIGHT_MAX_AGE_SECONDS = "600"


def install_cors(app: Flask, origins: tuple[str, ...]) -> None:
    """Answer cross-origin requests from `origins` ("*" for any); no origins turns CORS off."""
    if not origins:
        return
    any_origin = "*" in origins
    allowed = frozenset(origins)

    @app.after_request
    def _cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if any_origin:
            response.headers["Access-Control-Allow-Origin"] = "*"
        elif origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers.add("Vary", "Origin")
        else:
            return response
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE_SECONDS
        return response
