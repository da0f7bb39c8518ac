"""Audit time and peak memory against the floor (bench/floor.py), on bench/make_table.py's table.

    python bench/bench_audit.py [--rows 250000 500000 1000000] [--repeat 3] [--tables DIR]

For each row count the table (rows × 298: 30 full one-hot groups, 60 numeric columns, 30 % repeated
rows) is generated once (or reused from --tables), then the floor script and `audit()` run alternately,
each in a fresh child process, --repeat times: the figures are medians and the ratio is audit / floor
in the same run, so a load spike from other users of the machine weighs on both alike. Seconds exclude
interpreter start-up and imports; peak RSS (ru_maxrss of the child) includes them. The floor runs
twice per round: as written (numpy's BLAS on all cores) and with BLAS on one thread, because on a
shared 2-core machine OpenBLAS's threads can slow the Gram product several-fold (the audit computes
its per-batch Gram on one thread); both ratios are shown. `--incident` audits
the incident fixture's generator (fixtures/exploding_infinities/make_data.py, 336 columns) instead.
The load average is printed with each figure. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent

AUDIT = r"""
import json, resource, sys, time
from pathlib import Path
from mlstablint.data.audit import AuditOptions, audit
start = time.perf_counter()
report = audit([Path(sys.argv[1])], AuditOptions(target="y"))
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rules": sorted({f.rule for f in report.findings}), "errors": [e.message for e in report.errors]}))
"""


ONE_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def child(args: list[str], env: dict[str, str] | None = None) -> dict[str, object]:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True, cwd=ROOT,
                         env={**os.environ, **(env or {})})
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def make(rows: int, folder: Path, incident: bool) -> Path:
    path = folder / f"{'incident' if incident else 'table'}_{rows}.parquet"
    if not path.exists():
        if incident:
            sys.path.insert(0, str(ROOT / "fixtures" / "exploding_infinities"))
            import make_data

            make_data.write(path, rows, 0)
        else:
            sys.path.insert(0, str(HERE))
            import make_table

            make_table.write(path, rows)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[250_000, 500_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tables", type=Path, default=None, help="folder to keep the generated tables in")
    parser.add_argument("--incident", action="store_true", help="the incident fixture's table instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_audit_") as tmp:
        folder = args.tables or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print("| rows | floor s | floor, 1 BLAS thread s | audit s | audit / floor | audit / floor (1 thread) "
              "| floor peak RSS MB | audit peak RSS MB | load |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for rows in args.rows:
            table = make(rows, folder, args.incident)
            floors, singles, audits, loads = [], [], [], []
            for _ in range(max(1, args.repeat)):
                loads.append(os.getloadavg()[0])
                floors.append(child([str(HERE / "floor.py"), str(table)]))
                singles.append(child([str(HERE / "floor.py"), str(table)], ONE_THREAD))
                audits.append(child(["-c", AUDIT, str(table)]))
            floor_s = statistics.median(float(r["seconds"]) for r in floors)  # type: ignore[arg-type]
            single_s = statistics.median(float(r["seconds"]) for r in singles)  # type: ignore[arg-type]
            audit_s = statistics.median(float(r["seconds"]) for r in audits)  # type: ignore[arg-type]
            floor_mb = statistics.median(float(r["peak_rss_mb"]) for r in floors)  # type: ignore[arg-type]
            audit_mb = statistics.median(float(r["peak_rss_mb"]) for r in audits)  # type: ignore[arg-type]
            runs = ", ".join(f"{float(f['seconds']):.1f}/{float(o['seconds']):.1f}/{float(a['seconds']):.1f}"
                             for f, o, a in zip(floors, singles, audits, strict=True))  # type: ignore[arg-type]
            load = ", ".join(f"{v:.1f}" for v in loads)
            print(f"| {rows:,} | {floor_s:.1f} | {single_s:.1f} | {audit_s:.1f} | {audit_s / floor_s:.2f} | "
                  f"{audit_s / single_s:.2f} | {floor_mb:.0f} | {audit_mb:.0f} | {load} |", flush=True)
            print(f"  runs (floor/floor 1 thread/audit s): {runs}; findings {', '.join(audits[-1]['rules'])}"  # type: ignore[arg-type]
                  f"{'; errors ' + str(audits[-1]['errors']) if audits[-1]['errors'] else ''}", flush=True)


if __name__ == "__main__":
    main()
