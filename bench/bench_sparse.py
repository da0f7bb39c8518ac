"""Peak memory of the audit's one-hot and rank checks: the dense Gram path at ~300 columns against the
sparse Gram path at ~5,000 columns, same row count.

    python bench/bench_sparse.py [--rows 200000] [--wide-levels 2000 1500 1000 490] [--no-confirm]

The dense table is `bench/make_table.py`'s (60 numeric columns, 30 one-hot groups: 298 design
columns); the wide one is written here: one-hot groups of the given sizes (5,000 dummies by default,
every level occurring), 4 copied dummies, 3 numeric columns and one exact combination of columns, so
the audit must find the groups (MSL603) and 5 more dependencies (MSL604). Each audit runs in a fresh
child process, with the confirmation experiments unless `--no-confirm`; the figure is its peak RSS (VmHWM of
its own address space) and its wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

CHILD = r"""
import json, sys, time
import mlstablint
t0 = time.perf_counter()
report = mlstablint.audit(sys.argv[1], target="y", confirm=sys.argv[2] == "confirm")
elapsed = time.perf_counter() - t0
with open("/proc/self/status") as fh:
    hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
ev = {f.rule: f.evidence for f in report.findings}
print(json.dumps({"seconds": elapsed, "peak_rss_mb": hwm / 1024, "rules": sorted(ev),
                  "groups": ev.get("MSL603", {}).get("group_count"),
                  "null_directions": ev.get("MSL604", {}).get("null_directions"), "notes": report.notes}))
"""


def write_wide(path: Path, rows: int, levels: list[int], copies: int = 4, seed: int = 0) -> int:
    """The wide one-hot table, one row group at a time; returns its number of design columns."""
    rng = np.random.default_rng(seed)
    codes = []
    for k in levels:
        code = rng.integers(0, k, rows).astype(np.int32)
        code[:k] = rng.permutation(k)
        codes.append(code)
    copied = [(int(g), int(rng.integers(0, levels[g]))) for g in rng.integers(0, len(levels), copies)]
    numeric = rng.normal(0.0, 1.0, (rows, 3)) * np.array([1.0, 10.0, 1e3])
    names = ([f"v{g}_{level}" for g, k in enumerate(levels) for level in range(k)]
             + [f"copy{c}" for c in range(copies)] + ["x0", "x1", "x2", "mix", "y"])
    schema = pa.schema([pa.field(n, pa.uint8()) for n in names[:-5]] + [pa.field(n, pa.float64()) for n in names[-5:]])
    block = 1 << 15
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, block):
            stop = min(rows, start + block)
            arrays: list[pa.Array] = []
            for g, k in enumerate(levels):
                here = codes[g][start:stop]
                arrays.extend(pa.array((here == level).view(np.uint8)) for level in range(k))
            arrays.extend(pa.array((codes[g][start:stop] == level).view(np.uint8)) for g, level in copied)
            x = numeric[start:stop]
            arrays.extend(pa.array(x[:, j]) for j in range(3))
            mix = 2.0 * (codes[0][start:stop] == 0) - 3.0 * (codes[1][start:stop] == 1) + 0.5 * x[:, 0]
            arrays.append(pa.array(mix))
            arrays.append(pa.array(rng.normal(0.0, 1.0, stop - start)))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
    return len(names) - 1


def run(path: Path, confirm: bool) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), "confirm" if confirm else "no-confirm"],
                         capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--wide-levels", type=int, nargs="+", default=[2000, 1500, 1000, 490])
    parser.add_argument("--no-confirm", action="store_true",
                        help="the audit alone, without the confirmation experiments (their sample's memory)")
    args = parser.parse_args()
    import make_table

    with tempfile.TemporaryDirectory() as tmp:
        dense = make_table.write(Path(tmp) / "dense.parquet", rows=args.rows, seed=0)
        wide = Path(tmp) / "wide.parquet"
        width = write_wide(wide, args.rows, args.wide_levels)
        print(f"{'table':>28} {'columns':>8} {'seconds':>8} {'peak RSS MB':>12}  MSL603 groups / MSL604 directions")
        results = {}
        for label, path, columns in (("dense Gram (make_table)", dense, len(make_table.column_names()) - 1),
                                     ("sparse Gram (wide one-hot)", wide, width)):
            r = results[label] = run(path, not args.no_confirm)
            print(f"{label:>28} {columns:>8} {r['seconds']:>8.1f} {r['peak_rss_mb']:>12.0f}  "
                  f"{r['groups']} / {r['null_directions']}")
        ratio = float(results["sparse Gram (wide one-hot)"]["peak_rss_mb"]) / float(  # type: ignore[arg-type]
            results["dense Gram (make_table)"]["peak_rss_mb"])  # type: ignore[arg-type]
        print(f"rows {args.rows}: sparse path at {width} columns uses {ratio:.2f}x the dense path's peak RSS")


if __name__ == "__main__":
    main()
