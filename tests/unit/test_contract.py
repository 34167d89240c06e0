"""The wire contract's formats, byte for byte."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from service import contract

SUBMIT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_timestamps_are_utc_with_milliseconds_and_z() -> None:
    moment = datetime(2026, 12, 4, 19, 22, 29, 263_999, tzinfo=UTC)
    assert contract.utc_timestamp(moment) == "2026-12-04T19:22:29.263Z"
    assert SUBMIT_TIME.match(contract.utc_timestamp())


def test_legacy_worker_times_without_zone_are_read_as_utc() -> None:
    assert contract.normalise_timestamp("2026-12-04T19:22:41.008123") == "2026-12-04T19:22:41.008Z"


def test_zoned_times_are_converted_to_utc() -> None:
    assert contract.normalise_timestamp("2026-12-04T20:22:41.008+01:00") == (
        "2026-12-04T19:22:41.008Z"
    )


def test_text_that_is_not_a_time_passes_through() -> None:
    assert contract.normalise_timestamp("yesterday") == "yesterday"


def test_message_body_names_the_task_and_where_its_request_is() -> None:
    assert json.loads(contract.message_body("abc")) == {"taskId": "abc", "storage": "dynamodb"}


def test_request_data_is_what_existing_workers_read() -> None:
    payload = {"prompt": "café", "steps": 20, "cfg_scale": 7, "custom": [1, {"a": None}]}
    data = json.loads(contract.request_data("/sdapi/v1/txt2img", payload))
    assert data == {"api": "/sdapi/v1/txt2img", "payload": payload}


def test_image_keys_count_from_one() -> None:
    assert contract.image_key("abc", 1) == "sd/out/abc-1.png"


def test_process_result_round_trips() -> None:
    result = contract.ProcessResult(images=("sd/out/a-1.png", "sd/out/a-2.png"))
    assert json.loads(result.to_json()) == {
        "cnt": 2,
        "images": ["sd/out/a-1.png", "sd/out/a-2.png"],
        "error": "",
    }
    assert contract.ProcessResult.from_json(result.to_json()) == result


def test_unreadable_process_results_do_not_break_reads() -> None:
    assert contract.ProcessResult.from_json("not json").error == "unreadable processRes"
    assert contract.ProcessResult.from_json('{"images": "x"}').images == ()
