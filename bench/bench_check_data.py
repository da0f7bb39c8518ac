"""Wall time of a whole `mlstablint check --data` on the incident fixture, with the confirmation
experiments and without them (`--no-confirm`), and the time of each experiment.

    python bench/bench_check_data.py [--repeat 3] [--budget SECONDS]

Each run is a fresh child process running the real command line (imports included); the figure is the
median of the repeats. The per-experiment times come from a separate run of the same command in a child
that records what `mlstablint.sweep.confirm.confirm` measures. Figures only: no assertions.
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

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "exploding_infinities"
COMMAND = ["check", str(FIXTURE.relative_to(ROOT)), "--data", str((FIXTURE / "train.parquet").relative_to(ROOT)),
           "--target", "y", "--format", "json"]

TIMED_CHILD = r"""
import json, sys, time
import mlstablint.sweep.confirm as confirm_module

timings = {}
original = confirm_module.confirm

def recording(report, tables=(), budget_s=confirm_module.DEFAULT_BUDGET_S, seed=0, timings_out=None, **kw):
    t0 = time.perf_counter()
    original(report, tables, budget_s, seed, timings=timings, **kw)
    timings["(all experiments)"] = time.perf_counter() - t0

confirm_module.confirm = recording
from mlstablint.cli import app

try:
    app(sys.argv[1:])
except SystemExit:
    pass
sys.stderr.write("TIMINGS " + json.dumps(timings) + "\n")
"""


def run_cli(extra: list[str]) -> float:
    """Wall seconds of one `python -m mlstablint check ...` child."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "mlstablint", *COMMAND, *extra], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "NO_COLOR": "1"})
    elapsed = time.perf_counter() - t0
    if out.returncode not in (0, 1):
        raise SystemExit(f"mlstablint failed ({out.returncode}): {out.stderr.strip()}")
    return elapsed


def experiment_times(extra: list[str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", TIMED_CHILD, *COMMAND, *extra], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "NO_COLOR": "1"})
    for line in out.stderr.splitlines():
        if line.startswith("TIMINGS "):
            result: dict[str, float] = json.loads(line[len("TIMINGS "):])
            return result
    raise SystemExit(f"no timings recorded: {out.stderr.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=None, help="--sweep-budget for the confirmed runs")
    args = parser.parse_args()
    extra = ["--sweep-budget", str(args.budget)] if args.budget is not None else []
    print(f"mlstablint {' '.join(COMMAND)}  (cores: {os.cpu_count()}, load average: "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())})")
    for label, flags in (("with confirmation", extra), ("--no-confirm", ["--no-confirm"])):
        times = [run_cli(flags) for _ in range(args.repeat)]
        print(f"  {label:<18} median {statistics.median(times):6.2f} s  "
              f"(runs: {', '.join(f'{t:.2f}' for t in times)})")
    timings = experiment_times(extra)
    print("  per experiment (one run; an experiment shared by several findings counts once; 'sample' is the "
          "second pass over the table, also inside the first data experiment's time):")
    for name, seconds in sorted(timings.items(), key=lambda kv: -kv[1]):
        print(f"    {name:<22} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
