"""Probes for the load balancer and the OpenAPI document."""

from __future__ import annotations

from flask.testing import FlaskClient

from service.app import create_app
from tests.conftest import Stack


def test_healthz_answers_without_aws(aws_stack: Stack) -> None:
    app = create_app({**aws_stack.env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ready_when_table_and_queue_answer(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready"}


def test_readyz_is_503_when_the_queue_is_gone(aws_stack: Stack) -> None:
    app = create_app(
        {**aws_stack.env, "READY_CACHE_SECONDS": "0.000001"}, clients=aws_stack.clients
    )
    aws_stack.clients.sqs.delete_queue(QueueUrl=aws_stack.queue_url)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "error" in response.get_json()


def test_readyz_answers_from_its_cache_between_checks(aws_stack: Stack) -> None:
    app = create_app({**aws_stack.env, "READY_CACHE_SECONDS": "60"}, clients=aws_stack.clients)
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    aws_stack.clients.dynamodb.delete_table(TableName=aws_stack.resources.table_name)
    # Within the cache period the probe does not call AWS again.
    assert client.get("/readyz").status_code == 200


def test_openapi_documents_both_methods_with_examples(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    task = spec["paths"]["/task"]
    post_body = task["post"]["requestBody"]["content"]["application/json"]
    assert post_body["example"]["api"] == "/sdapi/v1/txt2img"
    assert "example" in task["post"]["responses"]["202"]["content"]["application/json"]
    assert "Location" in task["post"]["responses"]["202"]["headers"]
    assert "example" in task["get"]["responses"]["200"]["content"]["application/json"]
    assert {"400", "413", "415", "503"} <= set(task["post"]["responses"])
    assert {"400", "404", "503"} <= set(task["get"]["responses"])
    payload_schema = spec["components"]["schemas"]["Payload"]["properties"]
    assert {"prompt", "steps", "width", "height", "init_images"} <= set(payload_schema)


def test_the_docs_ui_is_served(client: FlaskClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert b"/openapi.json" in response.data
