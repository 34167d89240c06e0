"""The project's own exceptions: adapters raise them from botocore errors, http_errors maps them."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the errors the service knows how to answer."""


class AwsUnavailable(ServiceError):
    """An AWS call failed for a reason the caller cannot fix: unreachable, throttled, refused."""


class ConditionFailed(ServiceError):
    """A conditional write found the item in another state than the one it required."""


class TaskNotFound(ServiceError):
    """No task has the requested id."""


class TaskNotQueued(ServiceError):
    """The task was stored but could not be queued; it has been marked failed."""


class TaskRejected(ServiceError):
    """The request passed the schemas but cannot be stored as the contract requires."""


class TaskTooLarge(ServiceError):
    """The request, as stored, would not fit in a DynamoDB item."""
