"""mlstablint's audit against ydata-profiling's default profile, on the same table, in the same run.

    python bench/bench_ydata.py [--rows 200000] [--python PATH] [--timeout 1200]

The table is bench/make_table.py's (rows × 298, 30 one-hot groups, 30 % duplicated rows). ydata-profiling
runs in `--python` (an interpreter that can import ydata_profiling; default: this one), as a user would
run it: `pd.read_parquet`, `ProfileReport(df)` with its defaults, `to_file("report.html")`. Each side runs
in a fresh child process; wall time includes reading the table, not interpreter start-up or imports.
Peak memory is the child's VmHWM, polled from /proc (so it is known for a child killed at the timeout).
If ydata-profiling does not finish within --timeout seconds, the figure is "did not finish" and the
ratio a lower bound. Figures only: no assertions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_table  # noqa: E402

YDATA = r"""
import sys, tempfile, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from ydata_profiling import ProfileReport
start = time.perf_counter()
df = pd.read_parquet(sys.argv[1])
with tempfile.TemporaryDirectory() as out:
    ProfileReport(df, progress_bar=False).to_file(out + "/report.html")
print(time.perf_counter() - start)
"""

AUDIT = r"""
import sys, time
from pathlib import Path
from mlstablint.data.audit import AuditOptions, audit
start = time.perf_counter()
report = audit([Path(sys.argv[1])], AuditOptions(target="y"))
print(time.perf_counter() - start)
print(" ".join(sorted({f.rule for f in report.findings})))
"""


def peak_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run(python: str, code: str, table: Path, timeout: float) -> tuple[float | None, float, str]:
    """(seconds reported by the child or None at the timeout, peak RSS in MB, its output)."""
    start = time.perf_counter()
    child = subprocess.Popen([python, "-c", code, str(table)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    peak = 0.0
    while child.poll() is None:
        peak = max(peak, peak_mb(child.pid))
        if time.perf_counter() - start > timeout:
            child.kill()
            child.communicate()
            return None, peak, ""
        time.sleep(0.5)
    out, err = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"child failed ({python}):\n{err[-2000:]}")
    lines = out.strip().splitlines()
    return float(lines[0]), peak, " ".join(lines[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--python", default=sys.executable, help="interpreter with ydata-profiling installed")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds before ydata-profiling is stopped")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_ydata_") as tmp:
        table = make_table.write(Path(tmp) / "table.parquet", args.rows)
        columns = len(make_table.column_names())
        print(f"table: {args.rows} rows × {columns} columns ({table.stat().st_size / 1e6:.0f} MB)", flush=True)
        ours, our_peak, rules = run(sys.executable, AUDIT, table, args.timeout)
        assert ours is not None, "the audit itself timed out"
        print(f"mlstablint audit: {ours:.1f} s, peak RSS {our_peak:.0f} MB, findings {rules}", flush=True)
        theirs, their_peak, _ = run(args.python, YDATA, table, args.timeout)
        if theirs is None:
            print(f"ydata-profiling default profile: did not finish in {args.timeout / 60:.0f} min "
                  f"(peak RSS so far {their_peak:.0f} MB); ratio ≥ {args.timeout / ours:.0f}×")
        else:
            print(f"ydata-profiling default profile: {theirs:.1f} s, peak RSS {their_peak:.0f} MB; "
                  f"ratio {theirs / ours:.1f}× (target ≥ 20×)")
        print(json.dumps({"rows": args.rows, "audit_s": ours, "audit_peak_mb": our_peak, "ydata_s": theirs,
                          "ydata_peak_mb": their_peak, "timeout_s": args.timeout}))


if __name__ == "__main__":
    main()
