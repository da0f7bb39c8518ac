"""Write the audit benchmark's table: N rows × 301 columns, deterministic (same --rows, --seed: same bytes).

    python bench/make_table.py --rows 1000000 --out /tmp/bench_1m.parquet [--seed 0]

- 30 categorical variables one-hot encoded into their FULL dummy groups (5 to 11 levels each, 240
  uint8 columns; every group sums to 1 on every row: the dummy-variable trap with an intercept),
  with skewed level frequencies;
- 60 float64 numeric columns on scales from 1e-3 to 1e6 (a few above exp's float64 overflow point);
- 30 % of the rows repeat the features of another row, and half of those repeats carry the other
  class (conflicting labels);
- `y`: a 0/1 class label (int8) from a logistic model of a few columns.

Row groups of 131,072 rows, snappy compression (pyarrow's default codec). Written one row group at
a time, so the generator holds the unique rows' codes and numbers (~0.4 GB at 1M rows), not the table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

GROUPS = 30
LEVELS = [5 + (3 * i) % 7 for i in range(GROUPS)]  # 5..11 levels, 240 dummies
NUMERIC = 60
DUPLICATE_SHARE = 0.30
CONFLICT_SHARE = 0.50
ROW_GROUP = 1 << 17


def _levels(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** 1.2
    p = p[rng.permutation(k)]
    codes = rng.choice(k, size=n, p=p / p.sum()).astype(np.int8)
    codes[:k] = np.arange(k, dtype=np.int8)  # every level occurs: no all-zero dummy column
    return codes


def _numeric(n: int, j: int, rng: np.random.Generator) -> np.ndarray:
    scale = 10.0 ** (j % 10 - 3)  # 1e-3 .. 1e6
    kind = j % 3
    if kind == 0:
        values = rng.normal(0.0, scale, size=n)
    elif kind == 1:
        values = rng.gamma(2.0, scale, size=n)
    else:
        values = np.round(rng.uniform(0.0, 10.0, size=n) * scale, 3)
    return values


def column_names() -> list[str]:
    return ([f"num{j:02d}" for j in range(NUMERIC)]
            + [f"cat{g:02d}_{level}" for g, k in enumerate(LEVELS) for level in range(k)] + ["y"])


def write(path: Path, rows: int, seed: int = 0) -> Path:
    if rows < 1000:
        raise ValueError("rows must be at least 1000")
    rng = np.random.default_rng(seed)
    unique = rows - int(rows * DUPLICATE_SHARE)
    codes = np.column_stack([_levels(unique, k, rng) for k in LEVELS])
    numbers = np.column_stack([_numeric(unique, j, rng) for j in range(NUMERIC)])
    logit = 0.8 * (codes[:, 0] == 1) - 0.5 * (codes[:, 1] == 2) + 0.3 * numbers[:, 0] / numbers[:, 0].std()
    y_unique = (rng.random(unique) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    source = rng.integers(0, unique, size=rows - unique)
    y_repeat = np.where(rng.random(rows - unique) < CONFLICT_SHARE, 1 - y_unique[source], y_unique[source])
    take = np.concatenate([np.arange(unique), source])
    labels = np.concatenate([y_unique, y_repeat]).astype(np.int8)
    order = rng.permutation(rows)
    take, labels = take[order], labels[order]

    names = column_names()
    schema = pa.schema([pa.field(n, pa.float64()) for n in names[:NUMERIC]]
                       + [pa.field(n, pa.uint8()) for n in names[NUMERIC:-1]] + [pa.field("y", pa.int8())])
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, schema, compression="snappy", version="2.6", data_page_version="1.0") as writer:
        for start in range(0, rows, ROW_GROUP):
            rows_here = take[start:start + ROW_GROUP]
            arrays: list[pa.Array] = [pa.array(numbers[rows_here, j]) for j in range(NUMERIC)]
            for g, k in enumerate(LEVELS):
                group = codes[rows_here, g]
                arrays.extend(pa.array((group == level).view(np.uint8)) for level in range(k))
            arrays.append(pa.array(labels[start:start + ROW_GROUP]))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema), row_group_size=ROW_GROUP)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    out = write(args.out, args.rows, args.seed)
    print(f"wrote {out}: {args.rows} rows × {len(column_names())} columns, {out.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
