"""The application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping

from flask import Flask
from werkzeug.exceptions import NotFound

from service import health
from service.aws import AwsClients, make_clients
from service.cors import install_cors
from service.http_errors import TaskApi, register_error_handlers
from service.logs import configure_logging
from service.queue import TaskQueue
from service.readiness import Readiness
from service.request_log import install_request_logging
from service.settings import settings_from_env
from service.store import TaskStore
from service.tasks import views as task_views
from service.tasks.logic import TaskService

BLUEPRINTS = (task_views.blp, health.blp)

SWAGGER_UI_URL = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/"


def create_app(
    overrides: Mapping[str, str] | None = None, *, clients: AwsClients | None = None
) -> Flask:
    """Build the app from the environment, with `overrides` layered over it (for tests).

    `clients` lets a caller share AWS clients it already made; by default they are made here, once
    for the process.
    """
    settings = settings_from_env({**os.environ, **(overrides or {})})
    configure_logging(settings.log_level)
    clients = clients or make_clients(settings.aws)
    store = TaskStore(client=clients.dynamodb, table_name=settings.table_name)
    queue = TaskQueue(client=clients.sqs, queue_url=settings.queue_url)

    app = Flask(__name__)
    app.config.update(
        MAX_BODY_BYTES=settings.max_body_bytes,
        # One byte more than allowed, so that a chunked body over the limit can be told apart.
        MAX_CONTENT_LENGTH=settings.max_body_bytes + 1,
        TASK_LIMITS=settings.limits,
        ALLOWED_APIS=settings.allowed_apis,
        API_TITLE="SD task service",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_URL,
    )
    app.extensions["tasks"] = TaskService(
        store=store,
        queue=queue,
        cloudfront_domain=settings.cloudfront_domain,
        ttl_days=settings.task_ttl_days,
    )
    app.extensions["readiness"] = Readiness(
        store=store, queue=queue, cache_seconds=settings.ready_cache_seconds
    )

    install_request_logging(app)
    api = TaskApi(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    register_error_handlers(app)
    install_cors(app, settings.cors_allow_origins)
    # Unknown paths answer JSON like every other error, not Werkzeug's HTML page.
    app.register_error_handler(NotFound, api.handle_http_exception)
    return app
