"""Health endpoints: /healthz for the load balancer, /readyz for AWS reachability."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from service.http_errors import ErrorSchema

blp = Blueprint("health", __name__, description="Liveness and readiness probes.")


class StatusSchema(ma.Schema):
    """A probe's answer."""

    status = ma.fields.String(required=True, metadata={"example": "ok"})


@blp.route("/healthz")
class Health(MethodView):
    """Liveness."""

    @blp.response(200, StatusSchema)
    def get(self) -> dict[str, Any]:
        """Say the process is up, without calling AWS."""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    """Readiness."""

    @blp.response(200, StatusSchema)
    @blp.alt_response(503, schema=ErrorSchema, description="The table or the queue is unreachable.")
    def get(self) -> dict[str, Any]:
        """Say whether the table and the queue answer (cached for a few seconds)."""
        current_app.extensions["readiness"].check()
        return {"status": "ready"}
