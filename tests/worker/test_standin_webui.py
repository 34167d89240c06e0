"""The stand-in WebUI answers like the WebUI: real PNGs per seed, progress, and told failures."""

from __future__ import annotations

import base64
import json

import requests

from service.devtools.png import png_size
from service.devtools.standin_webui import StandInWebUI


def test_it_draws_the_requested_pictures_the_same_for_the_same_seed(
    standin: StandInWebUI,
) -> None:
    payload = {"prompt": "a lighthouse", "width": 72, "height": 40, "batch_size": 2, "n_iter": 3}
    txt2img, img2img = f"{standin.url}/sdapi/v1/txt2img", f"{standin.url}/sdapi/v1/img2img"
    first = requests.post(txt2img, json={**payload, "seed": 9}, timeout=10)
    again = requests.post(img2img, json={**payload, "seed": 9}, timeout=10)
    other = requests.post(txt2img, json={**payload, "seed": 10}, timeout=10)

    assert first.status_code == 200
    images = [base64.b64decode(image) for image in first.json()["images"]]
    assert len(images) == 6
    assert {png_size(image) for image in images} == {(72, 40)}
    assert len(set(images)) == 6  # seeds 9..14, one picture each
    assert again.json()["images"] == first.json()["images"]
    assert other.json()["images"][0] == first.json()["images"][1]  # seed 10 both
    assert json.loads(first.json()["info"])["all_seeds"] == list(range(9, 15))
    assert first.json()["parameters"]["prompt"] == "a lighthouse"
    stats = requests.get(f"{standin.url}/standin/stats", timeout=10).json()
    assert stats == {"calls": {"/sdapi/v1/txt2img": 2, "/sdapi/v1/img2img": 1}, "total": 3}


def test_it_refuses_what_the_webui_refuses(standin: StandInWebUI) -> None:
    answer = requests.post(f"{standin.url}/sdapi/v1/txt2img", json={"width": "wide"}, timeout=10)
    assert answer.status_code == 422
    assert answer.json() == {"detail": "width must be an integer"}


def test_it_can_be_told_to_fail(standin: StandInWebUI) -> None:
    told = requests.post(f"{standin.url}/standin/behaviour", json={"fail_status": 500}, timeout=10)
    assert told.json() == {"delay_seconds": 0.0, "fail_status": 500}
    answer = requests.post(f"{standin.url}/sdapi/v1/txt2img", json={}, timeout=10)
    assert answer.status_code == 500


def test_it_answers_progress(standin: StandInWebUI) -> None:
    answer = requests.get(f"{standin.url}/sdapi/v1/progress", timeout=10)
    assert answer.status_code == 200
    assert answer.json()["progress"] == 0.0
    assert set(answer.json()) >= {"progress", "eta_relative", "state", "current_image"}
