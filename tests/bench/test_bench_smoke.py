"""The benchmark harness runs end to end and produces every figure (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIGURES = {"requests", "errors", "requests_per_second", "cpu_ms_per_request", "p50", "p95", "p99"}


def test_a_tiny_run_produces_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--requests",
            "8",
            "--max-seconds",
            "20",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    results = json.loads(output.read_text())
    loads = {"POST c=1", "POST c=16", "GET c=1", "GET c=16"}
    for who in ("service", "bare_sdk"):
        assert set(results[who]) == loads
        for row in results[who].values():
            assert set(row) == FIGURES
            assert row["requests"] == 8
            assert row["errors"] == 0
    for ratio in results["ratios"].values():
        assert set(ratio) == {"cpu", "p50", "p99", "p99_added_ms"}
    assert results["cold_start_seconds"] > 0
    assert len(results["peak_rss_mb_per_worker"]) == 2
    assert "cold start" in finished.stdout
