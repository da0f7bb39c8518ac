"""Audit time and peak memory (RSS) on the incident table and larger generated versions of it.

    python bench/bench_audit.py [--rows 20000 200000] [--batch-size 65536]

Each audit runs in a fresh child process, so the peak RSS (ru_maxrss) is that audit's alone,
imports included (the baseline line shows what the imports alone cost). Run on demand, never as a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from mlstablint.data.audit import AuditOptions, audit
t1 = time.perf_counter()
path = sys.argv[1]
if path != "-":
    report = audit([Path(path)], AuditOptions(target="y", batch_size=int(sys.argv[2])))
    rules = sorted(f.rule for f in report.findings)
else:
    rules = []
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "audit_s": t2 - t1, "peak_rss_mb": resource.getrusage(
    resource.RUSAGE_SELF).ru_maxrss / 1024, "rules": rules}))
"""


def run(path: str, batch_size: int) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", CHILD, path, str(batch_size)], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20000, 200000])
    parser.add_argument("--batch-size", type=int, default=1 << 16)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "fixtures" / "exploding_infinities"))
    import make_data

    base = run("-", args.batch_size)
    print(f"baseline (imports only): peak RSS {base['peak_rss_mb']:.0f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            path = Path(tmp) / f"incident_{rows}.parquet"
            make_data.write(path, rows, 0)
            r = run(str(path), args.batch_size)
            print(f"{rows:>9} rows × 336 columns: audit {r['audit_s']:.2f} s, peak RSS {r['peak_rss_mb']:.0f} MB, "
                  f"file {path.stat().st_size / 1e6:.1f} MB, findings {', '.join(r['rules'])}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
