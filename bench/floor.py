"""The floor an audit is measured against: what any audit of the table must at least do, done plainly.

    python bench/floor.py TABLE.parquet [--target y] [--batch-size 65536]

Only three things, streaming: a pyarrow batch read of the feature columns, a pandas row hash of each
batch (`pd.util.hash_pandas_object`, kept: 8 bytes a row) and a dense numpy Gram matrix of [1 | X]
in float64. Prints one JSON line: seconds (imports excluded), peak RSS in MB (imports included) and
a checksum, so the work cannot be skipped.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("table")
    parser.add_argument("--target", default="y")
    parser.add_argument("--batch-size", type=int, default=1 << 16)
    args = parser.parse_args()
    start = time.perf_counter()
    file = pq.ParquetFile(args.table)
    features = [name for name in file.schema_arrow.names if name != args.target]
    gram = np.zeros((len(features) + 1, len(features) + 1))
    hashes = []
    for batch in file.iter_batches(batch_size=args.batch_size, columns=features):
        frame = batch.to_pandas()
        hashes.append(pd.util.hash_pandas_object(frame, index=False).to_numpy())
        xb = np.empty((batch.num_rows, len(features) + 1))
        xb[:, 0] = 1.0
        xb[:, 1:] = frame.to_numpy(dtype=np.float64)
        gram += xb.T @ xb
    row_hashes = np.concatenate(hashes)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    checksum = [float(gram.sum()), int(row_hashes.sum(dtype=np.uint64))]
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak, "rows": int(row_hashes.size), "checksum": checksum}))


if __name__ == "__main__":
    main()
