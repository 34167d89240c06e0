"""`python -m bench [--requests N] [--max-seconds S] [--output FILE]` (what `make bench` runs)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.harness import Plan, run, table


def main() -> None:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=Plan.requests, help="per load phase")
    parser.add_argument("--max-seconds", type=float, default=Plan.max_seconds, help="per phase")
    parser.add_argument("--output", type=Path, default=Path("bench/results/latest.json"))
    args = parser.parse_args()
    results = run(Plan(requests=args.requests, max_seconds=args.max_seconds))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"JSON written to {args.output}")


if __name__ == "__main__":
    main()
