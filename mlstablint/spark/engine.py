"""The audit of a Spark table: the local engine's statistics, computed where the rows are.

Pass 1 runs `Partial.update` (the local code) on each partition's Arrow batches through
`mapInArrow` (over the DataFrame's rows, or over the parquet row groups the executors read
themselves: `scan`). It sends back, per data row, the local engine's row hash and target key
(`hashes`: the same 64-bit values the local engine computes), and per partition one partial as bytes
(`codec`, without those arrays). In the same Spark job that output is shuffled by row hash: each
partition of the shuffle counts its duplicate groups with the local engine's code and merges the
partials it received (at most `FAN_IN` of them hold any), so the driver holds O(p²) numbers whatever
the row count, and the table is read once. When the Gram matrix cannot be trusted, the second pass is
TSQR: one R factor per partition, merged the same way. The findings then come from the local
engine's own analysis.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import numpy as np
import pyarrow as pa

from mlstablint.data import analyze
from mlstablint.data.analyze import RowCounts
from mlstablint.data.audit import (
    AuditOptions,
    conclude,
    pass_one_options,
    sample_rows_for,
    severity_lookup,
    test_layout,
    tsqr_block,
)
from mlstablint.data.partials import Layout, Options, Partial, RFactor, design_block, make_layout
from mlstablint.data.read import DataError
from mlstablint.spark import codec, hashes
from mlstablint.spark.scan import Scan

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

FAN_IN = 16  # partials merged on the driver at most: the executors merge the rest
BLOB = "blob binary"
COUNTED = hashes.count_fields()  # the Arrow fields of hashes.COUNT_SCHEMA


# ---- functions that run on the executors (module level, so that Spark can ship them)


def _partition_pass(layout: Layout, options: Options, batches: Iterator[pa.RecordBatch]
                    ) -> Iterator[pa.RecordBatch]:
    """Pass 1 over one partition: its rows' keys as they are computed, then its partial as one blob."""
    partial = Partial(layout, options)
    for batch in batches:
        partial.update(batch)
        keys = hashes.take_keys(partial)
        if keys.num_rows:
            yield keys
    if partial.rows:
        yield hashes.blob_row(layout, codec.encode_partial(partial), _partition_id() % FAN_IN)


def _partition_id() -> int:
    from pyspark import TaskContext

    context = TaskContext.get()
    return context.partitionId() if context is not None else 0


def _partition_rfactor(names: list[str], batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    acc = RFactor(len(names) + 1)
    for batch in batches:
        x, _nulls = design_block(batch, names)
        acc.add(tsqr_block(x))
    if acc.rows:
        yield pa.RecordBatch.from_pydict({"blob": [codec.encode_rfactor(acc)]})


class _Mergeable(Protocol):
    rows: int

    def merge(self, other: Any) -> object: ...


A = TypeVar("A", bound=_Mergeable)


@dataclass(frozen=True)
class _Blobs(Generic[A]):
    """How one kind of accumulator (a Partial, an RFactor) is made empty, sent as bytes and read back."""

    empty: Callable[[], A]
    encode: Callable[[A], bytes]
    decode: Callable[[bytes], A]

    def merged(self, blobs: Iterator[bytes]) -> A:
        acc = self.empty()
        for blob in blobs:
            acc.merge(self.decode(blob))
        return acc


def _count_and_merge(layout: Layout, kind: _Blobs[Partial], batches: Iterator[pa.RecordBatch]
                     ) -> Iterator[pa.RecordBatch]:
    """One partition of pass 1's output shuffled by `h`: the counts of its data rows (whole duplicate groups)
    and the merge of the partials it received, as one row."""
    acc = kind.empty()
    fh: list[np.ndarray] = []
    tk: list[np.ndarray] = []
    for batch in batches:
        blobs = batch.column("blob")
        if blobs.null_count < len(blobs):  # rows that carry a partition's partial, not a data row
            for blob in blobs.drop_null().to_pylist():
                acc.merge(kind.decode(blob))
            batch = batch.filter(blobs.is_null())
        fh.append(batch.column("h").to_numpy().view(np.uint64))
        if layout.target is not None:
            tk.append(batch.column("k").to_numpy().view(np.uint64))
    row = hashes.count_row(layout, fh, tk)
    row["blob"] = [kind.encode(acc) if acc.rows else None]
    yield pa.RecordBatch.from_pydict(row, schema=pa.schema([*COUNTED, pa.field("blob", pa.binary())]))


def _merge_blobs(kind: _Blobs[A], batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    acc = kind.merged(blob for batch in batches for blob in batch.column(0).to_pylist())
    if acc.rows:
        yield pa.RecordBatch.from_pydict({"blob": [kind.encode(acc)]})


def _partials(layout: Layout, options: Options) -> _Blobs[Partial]:
    return _Blobs(functools.partial(Partial, layout, options), codec.encode_partial,
                  functools.partial(codec.decode_partial, layout=layout, options=options))


def _rfactors(columns: int) -> _Blobs[RFactor]:
    return _Blobs(functools.partial(RFactor, columns), codec.encode_rfactor,
                  functools.partial(codec.decode_rfactor, columns=columns))


# ---- the driver


def reduce_blobs(blobs: DataFrame, merge: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]
                 ) -> Iterator[bytes]:
    """The per-partition blobs merged into at most FAN_IN on the executors, then collected. They are shuffled:
    coalescing would also narrow the pass that computes them to FAN_IN tasks."""
    merged = blobs.repartition(FAN_IN).mapInArrow(merge, BLOB)
    for row in merged.collect():
        yield bytes(row["blob"])


def first_pass(scan: Scan, layout: Layout, options: Options, keep: bool = False
               ) -> tuple[Partial, RowCounts, DataFrame | None]:
    """Pass 1 and its aggregation in one Spark job: the merged partial and the duplicate and conflict counts.
    Pass 1's output (one row per data row: its hashes) is shuffled by feature hash, so that each duplicate group
    lies whole in one partition, which the local engine's `count_rows` counts; the partitions' partials travel
    in the same shuffle to at most FAN_IN of them, which merge them. With `keep`, pass 1's output is also
    persisted on the executors and returned (the caller unpersists it): `hashes.keys` reads the rows' keys."""
    options = replace(options, hashes=True)
    out = scan.map(layout.columns, functools.partial(_partition_pass, layout, options), hashes.key_schema(layout))
    if keep:
        out = out.persist()
    try:
        kind = _partials(layout, options)
        # By column only: adaptive execution sizes the shuffle's partitions to the hashes' bytes.
        counted = out.repartition("h").mapInArrow(functools.partial(_count_and_merge, layout, kind),
                                                  f"{hashes.COUNT_SCHEMA}, {BLOB}").collect()
        partial = kind.merged(bytes(row["blob"]) for row in counted if row["blob"] is not None)
        counts = hashes.total_counts(counted)
    except BaseException:
        if keep:
            out.unpersist()
        raise
    return partial, counts, out if keep else None


def r_factor(scan: Scan, layout: Layout, full_cols: list[int]) -> tuple[np.ndarray, int]:
    """TSQR of the complete rows of [1 | X][:, full_cols] (column 0 is the intercept)."""
    names = [layout.design[c - 1] for c in full_cols if c > 0]
    blobs = scan.map(names, functools.partial(_partition_rfactor, names), BLOB)
    kind = _rfactors(len(full_cols))
    acc = kind.merged(reduce_blobs(blobs, functools.partial(_merge_blobs, kind)))
    return acc.result(), acc.rows


def analyse_dataframe(scan: Scan, display: str, options: AuditOptions, test: Scan | None = None,
                      test_display: str = "") -> analyze.Context:
    """The local engine's analysis of a Spark table (and its test table): findings and notes."""
    layout = make_layout(scan.schema, options.target, options.features)
    persisted: list[DataFrame] = []
    try:
        partial, counts, out = first_pass(scan, layout, pass_one_options(options, layout, hashes=True,
                                                                       has_test=test is not None),
                                          keep=test is not None)
        if out is not None:
            persisted.append(out)
        if partial.rows == 0:
            raise DataError("the table has no rows")
        ctx = analyze.Context(dataset=display, partial=partial, thresholds=options.thresholds,
                              intercept=options.intercept, severity=severity_lookup(), row_counts=counts)

        def second_pass(full_cols: list[int]) -> tuple[np.ndarray, int]:
            return r_factor(scan, layout, full_cols)

        def test_pass(train: Layout) -> tuple[Partial, str]:
            assert test is not None
            try:
                test_lay = test_layout(test.schema, train)
                sample_rows = sample_rows_for(options, len(train.design))
                test_partial, _counts, test_out = first_pass(test, test_lay, Options(gram=False,
                                                                                      sample_rows=sample_rows),
                                                             keep=True)
                assert test_out is not None and out is not None
                persisted.append(test_out)
            except DataError as exc:
                raise DataError(str(exc), path=test_display) from None
            if test_partial.rows == 0:
                raise DataError("the test table has no rows", path=test_display)
            ctx.overlap_counts = hashes.overlap_counts(hashes.keys(out), hashes.keys(test_out), test_partial.rows)
            return test_partial, test_display

        return conclude(ctx, options, [], second_pass, test_pass if test is not None else None)
    finally:
        for frame in persisted:
            frame.unpersist()
