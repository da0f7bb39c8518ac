"""The same table audited from where tables live: a parquet file, a Delta table (deltalake), a `file://`
URI, and through fsspec's filesystem layer (`memory://`, the path every fsspec object store takes).

    python bench/bench_sources.py [--rows 250000] [--repeat 3]

bench/make_table.py's table is written once as parquet and once as a Delta table of the same row groups;
each source is audited in a fresh child process, alternately, --repeat times; the figures are medians of
the audit's seconds (imports excluded) and peak RSS, with the ratio to the parquet file in the same run.
The findings must agree (the script says so when they do not). Figures only: nothing is asserted.
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
from mlstablint.data.audit import AuditOptions, audit
from mlstablint.sources import parse_source
source = sys.argv[1]
if source.startswith("memory://"):  # load the parquet bytes into fsspec's memory filesystem first
    import fsspec
    with fsspec.filesystem("memory").open(source[len("memory://"):], "wb") as fh, open(sys.argv[2], "rb") as src:
        fh.write(src.read())
start = time.perf_counter()
report = audit([parse_source(source)], AuditOptions(target="y"))
seconds = time.perf_counter() - start
table = report.dataset.tables[0] if report.dataset else None
print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rules": sorted({f.rule for f in report.findings}), "errors": [e.message for e in report.errors],
                  "statistics": table.statistics if table else None}))
"""


def child(args: list[str]) -> dict[str, object]:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True, cwd=ROOT,
                         env=dict(os.environ))
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import deltalake
    import pyarrow as pa
    import pyarrow.parquet as pq
    from make_table import write

    with tempfile.TemporaryDirectory(prefix="mlstablint-bench-") as tmp:
        parquet = write(Path(tmp) / "train.parquet", args.rows)
        delta = Path(tmp) / "train_delta"
        schema = pq.read_schema(parquet)
        batches = pq.ParquetFile(parquet).iter_batches(batch_size=1 << 17)
        deltalake.write_deltalake(str(delta), pa.RecordBatchReader.from_batches(schema, batches))
        sources = {"parquet file": [str(parquet)], "delta (deltalake)": [str(delta)],
                   "file:// URI": [parquet.as_uri()], "memory:// (fsspec)": ["memory://bench/train.parquet",
                                                                              str(parquet)]}
        runs: dict[str, list[dict[str, object]]] = {name: [] for name in sources}
        for _ in range(args.repeat):
            for name, argv in sources.items():
                runs[name].append(child(["-c", AUDIT, *argv]))
        base = statistics.median(float(r["seconds"]) for r in runs["parquet file"])  # type: ignore[arg-type]
        reference = runs["parquet file"][0]
        print(f"{args.rows:,} rows x {len(pq.read_schema(parquet))} columns; load average {os.getloadavg()[0]:.1f}")
        for name, results in runs.items():
            seconds = statistics.median(float(r["seconds"]) for r in results)  # type: ignore[arg-type]
            rss = statistics.median(float(r["peak_rss_mb"]) for r in results)  # type: ignore[arg-type]
            same = all(r["rules"] == reference["rules"] and r["statistics"] == reference["statistics"] and
                       not r["errors"] for r in results)
            print(f"  {name:<20} {seconds:7.2f} s  ({seconds / base:4.2f}x parquet)  peak RSS {rss:7.0f} MB  "
                  f"{'same findings and statistics' if same else 'DIFFERENT: ' + json.dumps(results[0])}")


if __name__ == "__main__":
    main()
