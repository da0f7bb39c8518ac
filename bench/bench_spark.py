"""The Spark engine next to the local engine on the benchmark table at scale, and its driver memory.

    python bench/bench_spark.py [--rows 250000 1000000] [--table bench|incident] [--master local[2]] [--partitions 8]

For each row count the table — `bench/make_table.py`'s 1M-row benchmark table (30 one-hot groups, 60
numeric columns, 30 % repeated rows) by default, or the incident table
(`fixtures/exploding_infinities/make_data.py`) — is generated deterministically and written once as
parquet, then audited by each engine in a fresh child process: wall time, the
rules found (they must agree), and the peak RSS of the Python driver, where the partials are
merged (VmHWM of the child's own address space: ru_maxrss would carry over the parent's peak,
which holds the generated table, across exec); for Spark also the peak RSS of the JVM (driver
and, in local mode, the executors too), read from /proc before the session stops. The point of Spark is scale-out, not
beating the local engine on one machine; the point of the driver figure is that it does not grow
with the rows. Run on demand, never as a test.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, sys, time
from pathlib import Path
engine, path, master, partitions = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
import mlstablint
def hwm(pid):
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
t0 = time.perf_counter()
jvm_mb = None
if engine == "local":
    report = mlstablint.audit(path, target="y", confirm=False)
    t1 = t0
else:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master(master).config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", str(partitions))
             .config("spark.sql.files.maxPartitionBytes", str(1 << 24)).getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    t1 = time.perf_counter()
    report = mlstablint.audit(spark.read.parquet(path), target="y", confirm=False)
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == os.getpid() and "java" in open(f"/proc/{entry}/cmdline").read():
                    children.append(hwm(entry))
            except OSError:
                pass
    jvm_mb = max(children) / 1024 if children else None
t2 = time.perf_counter()
print(json.dumps({"start_s": t1 - t0, "audit_s": t2 - t1, "driver_rss_mb": hwm("self") / 1024, "jvm_rss_mb": jvm_mb,
                  "rules": sorted(f.rule for f in report.findings)}))
"""


def run(engine: str, path: Path, master: str, partitions: int) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CHILD, engine, str(path), master, str(partitions)],
                         capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    parser.add_argument("--partitions", type=int, default=8, help="spark.sql.shuffle.partitions (default 8)")
    parser.add_argument("--table", choices=["bench", "incident"], default="bench",
                        help="bench/make_table.py's table (default) or the incident fixture's generator")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench" if args.table == "bench" else ROOT / "fixtures" / "exploding_infinities"))
    write = importlib.import_module("make_table" if args.table == "bench" else "make_data").write

    print(f"{'rows':>9} {'engine':>6} {'audit s':>8} {'start s':>8} {'driver RSS MB':>14} {'JVM RSS MB':>11}  rules")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            path = write(Path(tmp) / f"{args.table}_{rows}.parquet", rows=rows, seed=0)
            results = {engine: run(engine, path, args.master, args.partitions) for engine in ("local", "spark")}
            for engine, r in results.items():
                jvm = f"{r['jvm_rss_mb']:.0f}" if r["jvm_rss_mb"] is not None else "-"
                print(f"{rows:>9} {engine:>6} {r['audit_s']:>8.1f} {r['start_s']:>8.1f} {r['driver_rss_mb']:>14.0f} "
                      f"{jvm:>11}  {','.join(r['rules'])}")  # type: ignore[arg-type]
            same = results["local"]["rules"] == results["spark"]["rules"]
            ratio = float(results["spark"]["audit_s"]) / float(results["local"]["audit_s"])  # type: ignore[arg-type]
            print(f"{rows:>9} spark/local time {ratio:.2f}x; same rules: {same}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
