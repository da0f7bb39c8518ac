"""Wall time of the stability lab: the default sweep (built-in table) and a --data sweep on the incident table.

    python bench/bench_sweep.py [--repeat 3]

Each measurement runs in a fresh child process: the whole command line as a user runs it
(`mlstablint sweep ...`, imports included), and the same sweep in-process split into its stages
(import, reading the table, training every arm, rendering). Figures only, no assertions; run on demand,
never as a test.
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
INCIDENT = ROOT / "fixtures" / "exploding_infinities" / "train.parquet"

CHILD = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from mlstablint.sweep import lab, report
t1 = time.perf_counter()
task, data, target = sys.argv[1], sys.argv[2], sys.argv[3]
if data == "-":
    from mlstablint.sweep.synthetic import make_problem
    problem = make_problem(task)
else:
    from mlstablint.sweep.table import read_table
    problem = read_table(Path(data), target, task)
t2 = time.perf_counter()
result = lab.sweep(problem)
t3 = time.perf_counter()
report.render_text(result)
t4 = time.perf_counter()
statuses = {}
for run in result.runs:
    statuses[run.verdict.status] = statuses.get(run.verdict.status, 0) + 1
print(json.dumps({"import_s": t1 - t0, "read_s": t2 - t1, "sweep_s": t3 - t2, "render_s": t4 - t3,
                  "runs": len(result.runs), "rows": result.rows, "features": result.features,
                  "statuses": statuses, "recommendation": result.recommendation.text}))
"""

CASES = [
    ("default sweep (built-in table, logistic_regression)", "logistic_regression", "-", "-",
     ["sweep"]),
    ("--data incident table (linear_regression, target y)", "linear_regression", str(INCIDENT), "y",
     ["sweep", "--task", "linear_regression", "--data", str(INCIDENT), "--target", "y"]),
]


def cli_seconds(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mlstablint", *args], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t0


def stages(task: str, data: str, target: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", CHILD, task, data, target], cwd=ROOT, check=True,
                         capture_output=True, text=True)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (the median is reported)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, median of {args.repeat}")
    for title, task, data, target, cli_args in CASES:
        walls = [cli_seconds(cli_args) for _ in range(args.repeat)]
        parts = [stages(task, data, target) for _ in range(args.repeat)]
        med = {key: statistics.median(float(p[key]) for p in parts)  # type: ignore[arg-type]
               for key in ("import_s", "read_s", "sweep_s", "render_s")}
        first = parts[0]
        print(f"\n{title}")
        print(f"  command line (mlstablint {' '.join(cli_args[:1])} ...): {statistics.median(walls):6.2f} s wall")
        print(f"  in-process: import {med['import_s']:.2f} s, data {med['read_s']:.2f} s, "
              f"{first['runs']} runs {med['sweep_s']:.2f} s, render {med['render_s']:.3f} s")
        print(f"  trained on {first['rows']} rows x {first['features']} features; outcomes {first['statuses']}")
        print(f"  recommendation: {first['recommendation']}")


if __name__ == "__main__":
    main()
