"""The audit of a Spark DataFrame: the local engine's statistics, computed where the rows are.

Pass 1 runs `Partial.update` (the local code) on each partition's Arrow batches through
`mapInArrow`; each partition sends back one partial as bytes (`codec`), the partials are merged in
at most `FAN_IN` groups on the executors and the rest on the driver, which so holds O(p²) numbers
whatever the row count. Duplicate, conflict and overlap counts are Spark aggregations on a row hash
(`hashes`). When the Gram matrix cannot be trusted, the second pass is TSQR: one R factor per
partition, merged the same way. The findings then come from the local engine's own analysis.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import numpy as np
import pyarrow as pa

from mlstablint.data import analyze
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

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

FAN_IN = 16  # partials merged on the driver at most: the executors merge the rest
BLOB = "blob binary"


def arrow_schema(df: DataFrame) -> pa.Schema:
    """The Arrow schema of the batches `mapInArrow` hands over, which the layout is decided from."""
    from pyspark.sql.pandas.types import to_arrow_schema

    try:
        return to_arrow_schema(df.schema)
    except Exception as exc:  # pyspark raises its own errors for types Arrow cannot carry
        raise DataError(f"the DataFrame's schema cannot be read through Arrow: {exc}") from None


# ---- functions that run on the executors (module level, so that Spark can ship them)


def _partition_partial(layout: Layout, options: Options, batches: Iterator[pa.RecordBatch]
                       ) -> Iterator[pa.RecordBatch]:
    partial = Partial(layout, options)
    for batch in hashes.renamed(batches, layout.columns):
        partial.update(batch)
    if partial.rows:
        yield pa.RecordBatch.from_pydict({"blob": [codec.encode_partial(partial)]})


def _partition_rfactor(names: list[str], batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    acc = RFactor(len(names) + 1)
    for batch in hashes.renamed(batches, names):
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
    """The per-partition blobs merged into at most FAN_IN on the executors, then collected."""
    merged = blobs.repartition(FAN_IN).mapInArrow(merge, BLOB)
    for row in merged.collect():
        yield bytes(row["blob"])


def merged_partial(df: DataFrame, layout: Layout, options: Options) -> Partial:
    blobs = hashes.columns(df, layout.columns).mapInArrow(functools.partial(_partition_partial, layout, options), BLOB)
    kind = _partials(layout, options)
    return kind.merged(reduce_blobs(blobs, functools.partial(_merge_blobs, kind)))


def r_factor(df: DataFrame, layout: Layout, full_cols: list[int]) -> tuple[np.ndarray, int]:
    """TSQR of the complete rows of [1 | X][:, full_cols] (column 0 is the intercept)."""
    names = [layout.design[c - 1] for c in full_cols if c > 0]
    blobs = hashes.columns(df, names).mapInArrow(functools.partial(_partition_rfactor, names), BLOB)
    kind = _rfactors(len(full_cols))
    acc = kind.merged(reduce_blobs(blobs, functools.partial(_merge_blobs, kind)))
    return acc.result(), acc.rows


def analyse_dataframe(df: DataFrame, display: str, options: AuditOptions, test: DataFrame | None = None,
                      test_display: str = "") -> analyze.Context:
    """The local engine's analysis of a Spark DataFrame (and its test DataFrame): findings and notes."""
    layout = make_layout(arrow_schema(df), options.target, options.features)
    partial = merged_partial(df, layout, pass_one_options(options, layout, hashes=False, has_test=test is not None))
    if partial.rows == 0:
        raise DataError("the table has no rows")
    ctx = analyze.Context(dataset=display, partial=partial, thresholds=options.thresholds,
                          intercept=options.intercept, severity=severity_lookup(),
                          row_counts=hashes.row_counts(df, layout))

    def second_pass(full_cols: list[int]) -> tuple[np.ndarray, int]:
        return r_factor(df, layout, full_cols)

    def test_pass(train: Layout) -> tuple[Partial, str]:
        assert test is not None
        try:
            test_lay = test_layout(arrow_schema(test), train)
            sample_rows = sample_rows_for(options, len(train.design))
            test_partial = merged_partial(test, test_lay, Options(gram=False, hashes=False, sample_rows=sample_rows))
        except DataError as exc:
            raise DataError(str(exc), path=test_display) from None
        if test_partial.rows == 0:
            raise DataError("the test table has no rows", path=test_display)
        ctx.overlap_counts = hashes.overlap_counts(df, test, train, test_partial.rows)
        return test_partial, test_display

    return conclude(ctx, options, [], second_pass, test_pass if test is not None else None)
