"""The confirmation sample of a Spark DataFrame: the local sampler's rows, chosen on the executors.

The local sampler (`mlstablint.data.sample`) keeps the rows whose seeded row-hash key is below the
(k+1)-th smallest key of the table, so duplicate groups stay whole and at most k rows are kept. That
rule is mergeable: each partition keeps its rows below its own (k+1)-th smallest key (its cut-off),
and the union of two such parts, restricted to keys below the smaller cut-off and then to its own
(k+1)-th smallest, holds exactly the rows the rule keeps for both together. So the executors reduce
the partitions to at most `FAN_IN` parts of at most k rows, and the driver, which never holds more
than a few times k rows, finishes. The rows are the local sampler's; their order is the partitions'
(partition, then row), which for a file scan need not be the file's order.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from mlstablint.data.partials import Layout, design_block, make_layout, mix64, row_hashes
from mlstablint.data.sample import Sample, assemble, sample_size, seed_key
from mlstablint.spark.engine import BLOB, reduce_blobs
from mlstablint.spark.scan import Scan

_NO_CUTOFF = np.iinfo(np.uint64).max  # every key is below it: "kept every row so far"


def _bounded(k: int, part: pa.Table, cutoff: int) -> tuple[pa.Table, int]:
    """The rows of `part` below `cutoff`, then below their own (k+1)-th smallest key when over k."""
    keys = part.column("key").to_numpy()
    keep = keys < np.uint64(cutoff) if cutoff != _NO_CUTOFF else np.ones(keys.size, dtype=bool)
    if int(keep.sum()) > k:
        new_cut = np.partition(keys[keep], k)[k]
        keep &= keys < new_cut
        cutoff = int(new_cut)
    return part.filter(pa.array(keep)), cutoff


def _to_blob(part: pa.Table, cutoff: int, rows: int) -> pa.RecordBatch:
    sink = pa.BufferOutputStream()
    schema = part.schema.with_metadata({"cutoff": str(cutoff), "rows": str(rows)})
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(part.replace_schema_metadata(schema.metadata))
    return pa.RecordBatch.from_pydict({"blob": [sink.getvalue().to_pybytes()]})


def _from_blob(blob: bytes) -> tuple[pa.Table, int, int]:
    table = pa.ipc.open_stream(pa.py_buffer(blob)).read_all()
    meta = table.schema.metadata or {}
    return table.replace_schema_metadata(None), int(meta[b"cutoff"]), int(meta[b"rows"])


def _partition_sample(layout: Layout, k: int, seed: int, batches: Iterator[pa.RecordBatch]
                      ) -> Iterator[pa.RecordBatch]:
    """This partition's bottom-k rows: key, row hash, position, design values and target."""
    from pyspark import TaskContext

    context = TaskContext.get()
    partition = context.partitionId() if context is not None else 0
    salt = seed_key(seed)
    kept: pa.Table | None = None
    cutoff, rows = int(_NO_CUTOFF), 0
    for batch in batches:
        x, _nulls = design_block(batch, layout.design)
        fh = row_hashes(layout, batch, x)
        columns: dict[str, pa.Array] = {
            "key": pa.array(mix64(fh ^ salt)), "hash": pa.array(fh),
            "partition": pa.array(np.full(batch.num_rows, partition, dtype=np.int64)),
            "row": pa.array(np.arange(rows, rows + batch.num_rows, dtype=np.int64)),
        }
        columns.update({f"x{j}": pa.array(x[:, j]) for j in range(x.shape[1])})
        if layout.target is not None:
            columns["target"] = batch.column(layout.target)
        rows += batch.num_rows
        part = pa.table(columns)
        kept, cutoff = _bounded(k, part if kept is None else pa.concat_tables([kept, part]), cutoff)
    if kept is not None:
        yield _to_blob(kept, cutoff, rows)


def _merge(k: int, parts: Iterator[tuple[pa.Table, int, int]]) -> tuple[pa.Table | None, int, int]:
    kept: pa.Table | None = None
    cutoff, rows = int(_NO_CUTOFF), 0
    for part, part_cutoff, part_rows in parts:
        rows += part_rows
        cutoff = min(cutoff, part_cutoff)
        kept, cutoff = _bounded(k, part if kept is None else pa.concat_tables([kept, part]), cutoff)
    return kept, cutoff, rows


def _merge_samples(k: int, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    kept, cutoff, rows = _merge(k, (_from_blob(blob) for batch in batches for blob in batch.column(0).to_pylist()))
    if kept is not None:
        yield _to_blob(kept, cutoff, rows)


def spark_sample(scan: Scan, display: str, target: str | None, features: list[str] | None, intercept: bool,
                 max_rows: int, seed: int) -> Sample:
    """What `mlstablint.data.sample.sample_design` returns for the same table, computed by Spark."""
    layout = make_layout(scan.schema, target, features)
    p = len(layout.design)
    k = sample_size(max_rows, p)
    blobs = scan.map(layout.columns, functools.partial(_partition_sample, layout, k, seed), BLOB)
    kept, _cutoff, rows = _merge(k, (_from_blob(blob) for blob in
                                     reduce_blobs(blobs, functools.partial(_merge_samples, k))))
    if kept is not None:
        kept = kept.sort_by([("partition", "ascending"), ("row", "ascending")])
    n = kept.num_rows if kept is not None else 0
    X = np.empty((n, p))
    for j in range(p):
        X[:, j] = kept.column(f"x{j}").to_numpy() if kept is not None else []
    hashes = kept.column("hash").to_numpy() if kept is not None else np.empty(0, dtype=np.uint64)
    keys = kept.column("key").to_numpy() if kept is not None else np.empty(0, dtype=np.uint64)
    column = kept.column("target").combine_chunks() if kept is not None and layout.target is not None else None
    return assemble(display, layout, intercept, X, hashes, keys, rows, column)
