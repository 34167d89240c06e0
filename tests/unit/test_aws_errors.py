"""botocore's errors become the project's, except the ones that mean a bug of ours."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from service.aws import aws_call
from service.errors import AwsUnavailable, ConditionFailed


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "PutItem")


def test_throttling_is_unavailability() -> None:
    with (
        pytest.raises(AwsUnavailable, match="PutItem failed: ThrottlingException"),
        aws_call("PutItem"),
    ):
        raise client_error("ThrottlingException")


def test_an_unreachable_endpoint_is_unavailability() -> None:
    with pytest.raises(AwsUnavailable, match="PutItem failed"), aws_call("PutItem"):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")


def test_a_failed_condition_is_its_own_error() -> None:
    with pytest.raises(ConditionFailed), aws_call("UpdateItem"):
        raise client_error("ConditionalCheckFailedException")


def test_a_request_aws_refuses_as_invalid_is_not_dressed_as_an_outage() -> None:
    with pytest.raises(ClientError, match="ValidationException"), aws_call("PutItem"):
        raise client_error("ValidationException")
