"""CLI start-up: `atoll --help` and `atoll version --client` against a bare `python3 -c pass`,
measured side by side in the same run (issue #20: at most 2x the bare interpreter).

Run: python -m tests.bench.cli_startup [--runs 30]

Each round runs the three commands once, in turn, as fresh processes (the `atoll` console script
of this environment, as a user runs it); the figures are medians and 90th percentiles of wall time
over the rounds, and each command's median over the bare interpreter's. Hermetic
(tests/support/hermetic.py). Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.support.hermetic import isolate_environment

LIMIT = 2.0  # the bound: at most 2x the bare interpreter


def commands() -> dict[str, list[str]]:
    script = Path(sys.executable).parent / "atoll"
    atoll = [str(script)] if script.exists() else [sys.executable, "-m", "allinone"]
    return {
        "python3 -c pass": [sys.executable, "-c", "pass"],
        "atoll --help": [*atoll, "--help"],
        "atoll version --client": [*atoll, "version", "--client"],
    }


def wall_time(argv: list[str]) -> float:
    started = time.perf_counter()
    finished = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ, check=False)
    elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({finished.returncode}): {finished.stderr.decode()[-300:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="rounds (default 30)")
    args = parser.parse_args()
    isolate_environment()
    argvs = commands()
    for argv in argvs.values():  # warm the page cache and .pyc files, unmeasured
        wall_time(argv)
    times: dict[str, list[float]] = {name: [] for name in argvs}
    for _ in range(args.runs):
        for name, argv in argvs.items():
            times[name].append(wall_time(argv))
    bare = statistics.median(times["python3 -c pass"])
    result: dict[str, float] = {"runs": args.runs}
    print(f"{'command':<26}{'median ms':>10}{'p90 ms':>9}{'x bare':>8}")
    for name, samples in times.items():
        median = statistics.median(samples)
        p90 = sorted(samples)[int(0.9 * (len(samples) - 1))]
        ratio = median / bare
        print(f"{name:<26}{median * 1000:>10.1f}{p90 * 1000:>9.1f}{ratio:>8.2f}")
        key = name.replace("python3 -c pass", "bare").replace("atoll ", "").replace(" --", "_").replace("--", "")
        key = key.replace(" ", "_")
        result[f"{key}_median_ms"] = round(median * 1000, 2)
        result[f"{key}_x_bare"] = round(ratio, 3)
    within = all(result[key] <= LIMIT for key in result if key.endswith("_x_bare"))
    print(json.dumps({**result, "limit_x_bare": LIMIT, "within_limit": within}))
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
