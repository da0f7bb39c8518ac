"""The audit of a Spark DataFrame: the local engine's statistics, computed where the rows are.

Pass 1 runs `Partial.update` (the local code) on each partition's Arrow batches through
`mapInArrow`. It sends back, per data row, the local engine's row hash and target key (`hashes`:
the same 64-bit values the local engine computes), and per partition one partial as bytes (`codec`,
without those arrays). The output is persisted on the executors: the partials are merged in at most
`FAN_IN` groups there and the rest on the driver, which so holds O(p²) numbers whatever the row
count; duplicate, conflict and overlap counts are Spark aggregations on the persisted hashes. When
the Gram matrix cannot be trusted, the second pass is TSQR: one R factor per partition, merged the
same way. The findings then come from the local engine's own analysis.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
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


def _partition_pass(layout: Layout, options: Options, batches: Iterator[pa.RecordBatch]
                    ) -> Iterator[pa.RecordBatch]:
    """Pass 1 over one partition: its rows' keys as they are computed, then its partial as one blob."""
    partial = Partial(layout, options)
    for batch in hashes.renamed(batches, layout.columns):
        partial.update(batch)
        keys = hashes.take_keys(partial)
        if keys.num_rows:
            yield keys
    if partial.rows:
        yield hashes.blob_row(layout, codec.encode_partial(partial))


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


def reduce_blobs(blobs: DataFrame, merge: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]],
                 persisted: bool = False) -> Iterator[bytes]:
    """The per-partition blobs merged into at most FAN_IN on the executors, then collected. Blobs read from a
    persisted output are `coalesce`d (no shuffle); others are shuffled, since coalescing would also narrow the
    pass that computes them to FAN_IN tasks."""
    grouped = blobs.coalesce(FAN_IN) if persisted else blobs.repartition(FAN_IN)
    merged = grouped.mapInArrow(merge, BLOB)
    for row in merged.collect():
        yield bytes(row["blob"])


def first_pass(df: DataFrame, layout: Layout, options: Options) -> tuple[Partial, DataFrame]:
    """The merged partial of pass 1, and pass 1's output persisted on the executors (the caller unpersists
    it): `hashes.keys` reads the rows' keys from it."""
    from pyspark.sql import functions as F

    options = replace(options, hashes=True)
    out = hashes.columns(df, layout.columns).mapInArrow(functools.partial(_partition_pass, layout, options),
                                                         hashes.key_schema(layout)).persist()
    try:
        kind = _partials(layout, options)
        blobs = out.where(F.col("blob").isNotNull()).select("blob")
        partial = kind.merged(reduce_blobs(blobs, functools.partial(_merge_blobs, kind), persisted=True))
    except BaseException:
        out.unpersist()
        raise
    return partial, out


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
    persisted: list[DataFrame] = []
    try:
        partial, out = first_pass(df, layout, pass_one_options(options, layout, hashes=True,
                                                               has_test=test is not None))
        persisted.append(out)
        keys = hashes.keys(out)
        if partial.rows == 0:
            raise DataError("the table has no rows")
        ctx = analyze.Context(dataset=display, partial=partial, thresholds=options.thresholds,
                              intercept=options.intercept, severity=severity_lookup(),
                              row_counts=hashes.row_counts(keys, layout, floor=not analyze.is_classification(
                                  partial, options.thresholds)))

        def second_pass(full_cols: list[int]) -> tuple[np.ndarray, int]:
            return r_factor(df, layout, full_cols)

        def test_pass(train: Layout) -> tuple[Partial, str]:
            assert test is not None
            try:
                test_lay = test_layout(arrow_schema(test), train)
                sample_rows = sample_rows_for(options, len(train.design))
                test_partial, test_out = first_pass(test, test_lay, Options(gram=False, sample_rows=sample_rows))
                persisted.append(test_out)
            except DataError as exc:
                raise DataError(str(exc), path=test_display) from None
            if test_partial.rows == 0:
                raise DataError("the test table has no rows", path=test_display)
            ctx.overlap_counts = hashes.overlap_counts(keys, hashes.keys(test_out), test_partial.rows)
            return test_partial, test_display

        return conclude(ctx, options, [], second_pass, test_pass if test is not None else None)
    finally:
        for frame in persisted:
            frame.unpersist()
