"""The Spark engine next to the local engine on the benchmark table at scale, and its driver memory.

    python bench/bench_spark.py [--rows 250000 1000000] [--repeat 3] [--read executors|spark]
                                [--table bench|incident] [--master local[2]] [--partitions 8]

For each row count the table — `bench/make_table.py`'s benchmark table (30 one-hot groups, 60 numeric
columns, 30 % repeated rows) by default, or the incident table (`fixtures/exploding_infinities/make_data.py`)
— is generated deterministically and written once as parquet. Then, `--repeat` times, each engine audits it
in a fresh child process, local then Spark, alternating, so that a load spike from other users of a shared
machine weighs on both alike; the ratio is the median of the per-repetition ratios. Per run: wall time, the
rules found (they must agree) and the peak RSS of the Python driver, where the partials are merged (VmHWM of
the child's own address space: ru_maxrss would carry over the parent's peak, which holds the generated table,
across exec); for Spark also the peak RSS of the JVM (driver and, in local mode, the executors too), read
from /proc before the session stops.

Spark's time excludes the session's start-up (`getOrCreate`) but not the first job's JVM warm-up (class
loading, code generation): the `cold` audit is the first in a fresh session, as on the command line; the
`warm` one repeats it in the same session, as in a notebook whose session has run jobs before.
`--read spark` hands the engine `spark.read.parquet(path).select("*")`, a DataFrame that is not a plain scan,
so that Spark's reader turns its rows into Arrow batches; by default (`executors`) the engine recognises the
plain scan and the executors read the row groups. The point of Spark is scale-out, not beating the local
engine on one machine; the point of the driver figure is that it does not grow with the rows. Run on demand,
never as a test.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, sys, time
engine, path, master, partitions, read = sys.argv[1:6]
import mlstablint
def hwm(pid):
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
jvm_mb = None
if engine == "local":
    t0 = time.perf_counter()
    report = mlstablint.audit(path, target="y", confirm=False)
    times = [time.perf_counter() - t0]
else:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master(master).config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", partitions)
             .config("spark.sql.files.maxPartitionBytes", str(1 << 24)).getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    times = []
    for _ in range(2):  # cold (the session's first jobs), then warm
        t0 = time.perf_counter()
        df = spark.read.parquet(path)
        report = mlstablint.audit(df if read == "executors" else df.select("*"), target="y", confirm=False)
        times.append(time.perf_counter() - t0)
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
print(json.dumps({"times": times, "driver_rss_mb": hwm("self") / 1024, "jvm_rss_mb": jvm_mb,
                  "rules": sorted(f.rule for f in report.findings)}))
"""


def run(engine: str, path: Path, master: str, partitions: int, read: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CHILD, engine, str(path), master, str(partitions), read],
                         capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each engine (default 3)")
    parser.add_argument("--read", choices=["executors", "spark"], default="executors",
                        help="a plain parquet scan read by the executors (default), or a DataFrame Spark reads")
    parser.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    parser.add_argument("--partitions", type=int, default=8, help="spark.sql.shuffle.partitions (default 8)")
    parser.add_argument("--table", choices=["bench", "incident"], default="bench",
                        help="bench/make_table.py's table (default) or the incident fixture's generator")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench" if args.table == "bench" else ROOT / "fixtures" / "exploding_infinities"))
    write = importlib.import_module("make_table" if args.table == "bench" else "make_data").write

    print(f"Spark engine read by: {args.read}; master {args.master}; a machine shared with other jobs: "
          f"the load average is printed with each run")
    print(f"{'rows':>9} {'run':>3} {'local s':>8} {'spark s cold':>12} {'warm':>6} {'cold/local':>10} "
          f"{'warm/local':>10} {'driver MB':>9} {'JVM MB':>7} {'load':>5}  same rules")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            path = write(Path(tmp) / f"{args.table}_{rows}.parquet", rows=rows, seed=0)
            cold_ratios, warm_ratios, drivers = [], [], []
            for rep in range(args.repeat):
                local = run("local", path, args.master, args.partitions, args.read)
                spark = run("spark", path, args.master, args.partitions, args.read)
                local_s = float(local["times"][0])  # type: ignore[index]
                cold, warm = (float(t) for t in spark["times"])  # type: ignore[attr-defined]
                cold_ratios.append(cold / local_s)
                warm_ratios.append(warm / local_s)
                drivers.append(float(spark["driver_rss_mb"]))  # type: ignore[arg-type]
                jvm = f"{spark['jvm_rss_mb']:.0f}" if spark["jvm_rss_mb"] is not None else "-"
                print(f"{rows:>9} {rep + 1:>3} {local_s:>8.1f} {cold:>12.1f} {warm:>6.1f} {cold_ratios[-1]:>9.2f}x "
                      f"{warm_ratios[-1]:>9.2f}x {drivers[-1]:>9.0f} {jvm:>7} {os.getloadavg()[0]:>5.1f}  "
                      f"{local['rules'] == spark['rules']} ({','.join(spark['rules'])})",  # type: ignore[arg-type]
                      flush=True)
            print(f"{rows:>9} median spark/local: cold {statistics.median(cold_ratios):.2f}x, "
                  f"warm {statistics.median(warm_ratios):.2f}x; driver peak RSS median "
                  f"{statistics.median(drivers):.0f} MB", flush=True)


if __name__ == "__main__":
    main()
