"""Marshmallow schemas: they validate POST /task and GET /task and document both in OpenAPI.

Numbers are checked as JSON gives them (no "20" for 20, no true for 1) and returned unchanged, so
the payload stored for the workers is the payload the client sent. Fields the WebUI reads but
these schemas do not name pass through untouched.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from flask import current_app
from marshmallow import (
    INCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from service.settings import TaskLimits

IMG2IMG = "/sdapi/v1/img2img"
DEFAULT_SIDE = 512  # what the WebUI renders when width or height is left out


def current_limits() -> TaskLimits:
    """Return the limits of the running app, set by create_app from the environment."""
    limits: TaskLimits = current_app.config["TASK_LIMITS"]
    return limits


class JsonInteger(fields.Integer):
    """A JSON integer: no strings, no booleans, no 20.0."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class JsonNumber(fields.Float):
    """A finite JSON number, returned as sent."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        if not math.isfinite(value):
            raise self.make_error("special")
        return value


class JsonBoolean(fields.Boolean):
    """A JSON true or false, not "yes" or 1."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Base64Image(fields.String):
    """A base64-encoded image, optionally as a data URL, as the WebUI accepts it."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        encoded = text
        if text.startswith("data:"):
            header, comma, encoded = text.partition(",")
            if not comma or not header.endswith(";base64"):
                raise ValidationError("Not a base64 data URL (data:image/png;base64,...).")
        try:
            decoded = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("Not a valid base64-encoded image.") from None
        if not decoded:
            raise ValidationError("The image is empty.")
        return text


class UpTo(validate.Validator):
    """Range check whose maximum is one of the operator's limits, read when validating."""

    def __init__(self, minimum: int | float, limit: str) -> None:
        self.minimum = minimum
        self.limit = limit

    def __call__(self, value: Any) -> Any:
        maximum = getattr(current_limits(), self.limit)
        if isinstance(value, str | list):
            if not self.minimum <= len(value) <= maximum:
                raise ValidationError(f"Length must be between {self.minimum} and {maximum}.")
        elif not self.minimum <= value <= maximum:
            raise ValidationError(f"Must be between {self.minimum} and {maximum}.")
        return value


def _allowed_api(value: str) -> str:
    """Allow only the listed WebUI paths: a worker POSTs wherever `api` points."""
    allowed: tuple[str, ...] = current_app.config["ALLOWED_APIS"]
    if value not in allowed:
        raise ValidationError(f"{value!r} is not allowed; use one of: {', '.join(allowed)}.")
    return value


def _multiple_of_8(value: int) -> int:
    if value % 8:
        raise ValidationError("Must be a multiple of 8.")
    return value


class PayloadSchema(Schema):
    """The WebUI's txt2img/img2img parameters that cost GPU time or break a render when wrong."""

    class Meta:
        unknown = INCLUDE

    error_messages = {"type": "Must be a JSON object."}  # noqa: RUF012 (marshmallow's own API)

    # null is accepted wherever the WebUI takes it to mean "the default", as generated clients
    # send it; validators do not run on null.
    prompt = fields.String(allow_none=True, validate=UpTo(0, "max_prompt_chars"))
    negative_prompt = fields.String(allow_none=True, validate=UpTo(0, "max_prompt_chars"))
    steps = JsonInteger(allow_none=True, validate=UpTo(1, "max_steps"), metadata={"example": 20})
    width = JsonInteger(
        allow_none=True, validate=[UpTo(64, "max_side"), _multiple_of_8], metadata={"example": 512}
    )
    height = JsonInteger(
        allow_none=True, validate=[UpTo(64, "max_side"), _multiple_of_8], metadata={"example": 512}
    )
    batch_size = JsonInteger(allow_none=True, validate=UpTo(1, "max_images"))
    n_iter = JsonInteger(allow_none=True, validate=UpTo(1, "max_images"))
    cfg_scale = JsonNumber(allow_none=True, validate=validate.Range(min=1, max=30))
    denoising_strength = JsonNumber(allow_none=True, validate=validate.Range(min=0, max=1))
    seed = JsonInteger(allow_none=True, validate=validate.Range(min=-1, max=2**32 - 1))
    subseed = JsonInteger(allow_none=True, validate=validate.Range(min=-1, max=2**32 - 1))
    sampler_name = fields.String(allow_none=True, validate=validate.Length(min=1, max=100))
    scheduler = fields.String(allow_none=True, validate=validate.Length(min=1, max=100))
    enable_hr = JsonBoolean(allow_none=True)
    hr_scale = JsonNumber(allow_none=True, validate=validate.Range(min=1, max=4))
    # 0 means "use hr_scale"; a size, when given, overrides it.
    hr_resize_x = JsonInteger(allow_none=True, validate=UpTo(0, "max_side"))
    hr_resize_y = JsonInteger(allow_none=True, validate=UpTo(0, "max_side"))
    # 0 means "as many as steps".
    hr_second_pass_steps = JsonInteger(allow_none=True, validate=UpTo(0, "max_steps"))
    init_images = fields.List(Base64Image(), allow_none=True, validate=UpTo(1, "max_init_images"))
    mask = Base64Image(allow_none=True)
    override_settings = fields.Dict(keys=fields.String(), allow_none=True)
    alwayson_scripts = fields.Dict(keys=fields.String(), allow_none=True)

    @post_load(pass_original=True)
    def _keep_the_clients_order(
        self, data: dict[str, Any], original: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        """Store the payload as sent: marshmallow puts named fields before the others."""
        return {key: data[key] for key in original}

    @validates_schema
    def _check_totals(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Check what no single field shows: pixels rendered and images made per task."""
        limits = current_limits()
        width, height = _output_size(data)
        if width * height > limits.max_pixels:
            raise ValidationError(
                f"Renders {width}x{height} = {width * height} pixels per image, over the limit "
                f"of {limits.max_pixels}.",
                "width",
            )
        images = (data.get("batch_size") or 1) * (data.get("n_iter") or 1)
        if images > limits.max_images:
            raise ValidationError(
                f"batch_size x n_iter asks for {images} images, over the limit of "
                f"{limits.max_images} per task.",
                "batch_size",
            )


def _output_size(data: dict[str, Any]) -> tuple[int, int]:
    """The size the WebUI renders at: width x height, or the hires fix's target when enabled."""
    width = data.get("width") or DEFAULT_SIDE
    height = data.get("height") or DEFAULT_SIDE
    if not data.get("enable_hr"):
        return width, height
    resize_x, resize_y = data.get("hr_resize_x") or 0, data.get("hr_resize_y") or 0
    if resize_x and resize_y:
        return resize_x, resize_y
    if resize_x:  # the WebUI keeps the aspect ratio when only one side is given
        return resize_x, round(resize_x * height / width)
    if resize_y:
        return round(resize_y * width / height), resize_y
    scale = data.get("hr_scale") or 2
    return int(width * scale), int(height * scale)


class TaskRequestSchema(Schema):
    """The body of POST /task."""

    error_messages = {"type": "The request body must be a JSON object."}  # noqa: RUF012

    api = fields.String(
        required=True,
        validate=_allowed_api,
        metadata={"description": "The WebUI endpoint to call; one of the allowed APIs."},
    )
    payload = fields.Nested(
        PayloadSchema,
        required=True,
        metadata={"description": "The WebUI request body; unnamed fields pass through."},
    )

    @validates_schema
    def _check_init_images(self, data: dict[str, Any], **kwargs: Any) -> None:
        """img2img renders from init_images; without them the WebUI fails after queueing."""
        if data["api"] == IMG2IMG and not data["payload"].get("init_images"):
            raise ValidationError({"payload": {"init_images": [f"Required for {IMG2IMG}."]}})


class SubmittedTaskSchema(Schema):
    """The answer to POST /task."""

    taskId = fields.String(required=True, attribute="task_id")
    taskStatus = fields.String(required=True, attribute="status")
    submitTime = fields.String(required=True, attribute="submit_time")


class TaskQuerySchema(Schema):
    """The query of GET /task."""

    taskId = fields.UUID(required=True, metadata={"description": "The id POST /task returned."})


class TaskSchema(Schema):
    """The answer to GET /task."""

    taskId = fields.String(required=True)
    taskStatus = fields.String(
        required=True,
        metadata={"enum": ["waiting", "processing", "finished", "failed", "cancelled"]},
    )
    submitTime = fields.String(required=True)
    processTime = fields.String(metadata={"description": "When the task ended; absent before."})
    images = fields.List(fields.String(), metadata={"description": "Absolute image URLs."})
    error = fields.String(metadata={"description": "Why the task failed; only when failed."})
