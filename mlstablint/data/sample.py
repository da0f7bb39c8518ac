"""A seeded, bounded row sample of a table's design and target, for the confirmation experiments.

Rows are chosen by their 64-bit feature-row hash (the auditor's `row_hashes`), mixed with the seed:
the sample keeps the rows whose key is below a cut-off, lowered while streaming so that at most
`max_rows` rows are kept (bottom-k). Rows with identical features have identical keys, so a
duplicate group is either wholly in the sample or wholly out of it, and the sample does not depend
on how the table is split into batches. Memory is bounded by `max_rows` rows plus one batch.

The design is the auditor's: the numeric and boolean feature columns (nulls as NaN), in table
order, with the intercept added by `Sample.design()` when the audit used one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from mlstablint.data.partials import Layout, block_rows, design_block, make_layout, mix64, row_hashes
from mlstablint.data.read import ColumnRetype, DataError, Source, TableRef, open_source

F64 = NDArray[np.float64]
U64 = NDArray[np.uint64]
I64 = NDArray[np.int64]

MAX_ROWS = 20_000
# Cells (rows x design columns) of the sample: 8M float64 cells are 64 MB.
MAX_CELLS = 8_000_000
_SEED_SALT = np.uint64(0xC0F1_4A7E_5A3B_1E00)


class SampleTimeout(Exception):
    """The deadline passed while the table was being streamed."""


@dataclass
class Sample:
    """Sampled rows of one table (in table order)."""

    dataset: str  # display path of the table
    X: F64  # rows x design columns, float64, nulls as NaN (no intercept column)
    columns: tuple[str, ...]  # design column names
    intercept: bool
    hashes: U64  # feature-row hash of each row
    keys: U64  # the seeded sampling key of each row (a function of the hash)
    groups: I64  # duplicate-group id of each row (equal features, equal id), 0..n_groups-1
    table_rows: int  # rows in the whole table
    target: str | None = None
    y: F64 | None = None  # numeric target (float64, NaN for nulls)
    labels: I64 | None = None  # class codes of a discrete target (-1 for nulls)
    classes: list[Any] = field(default_factory=list)  # the class values, by code
    target_discrete: bool = False

    @property
    def rows(self) -> int:
        return int(self.X.shape[0])

    def design(self) -> F64:
        """[1 | X] when the audit uses an intercept, else X (a new array)."""
        if not self.intercept:
            return np.array(self.X)
        out = np.empty((self.X.shape[0], self.X.shape[1] + 1))
        out[:, 0] = 1.0
        out[:, 1:] = self.X
        return out

    @property
    def design_columns(self) -> list[str]:
        return (["(intercept)"] if self.intercept else []) + list(self.columns)

    def subsample(self, max_rows: int) -> Sample:
        """The rows with the smallest keys, at most `max_rows` of them, duplicate groups kept whole
        (the same bottom-k rule as the sample itself, so it is also a sample of the table)."""
        if self.rows <= max_rows:
            return self
        cutoff = np.partition(self.keys, max_rows)[max_rows]
        keep = self.keys < cutoff
        _, groups = np.unique(self.hashes[keep], return_inverse=True)
        return replace(self, X=np.ascontiguousarray(self.X[keep]), hashes=self.hashes[keep], keys=self.keys[keep],
                       groups=groups.astype(np.int64).reshape(-1),
                       y=self.y[keep] if self.y is not None else None,
                       labels=self.labels[keep] if self.labels is not None else None)

    def is_classification(self, max_classes: int = 50) -> bool:
        """The auditor's rule, on the sample: a discrete target with 2..max_classes values."""
        return self.target_discrete and self.labels is not None and 2 <= len(self.classes) <= max_classes


def sample_design(path: TableRef, target: str | None = None, features: list[str] | None = None,
                  intercept: bool = True, max_rows: int = MAX_ROWS, seed: int = 0,
                  deadline: float | None = None) -> Sample:
    """Stream the table once and keep a bottom-k sample of its rows by seeded feature-row hash.

    `max_rows` is lowered for wide tables so that the sample holds at most MAX_CELLS values.
    Raises DataError (unreadable table) or SampleTimeout (`deadline`, a `time.monotonic()` value).
    """
    source = open_source(path)
    for _attempt in range(64):
        schema = source.effective_schema
        layout = make_layout(schema, target, features)
        try:
            return _sample(source, layout, intercept, max_rows, seed, deadline)
        except ColumnRetype as retype:
            source.column_types[retype.column] = retype.new_type
    raise DataError("too many columns change type within the file")


def sample_size(max_rows: int, design_columns: int) -> int:
    """Rows a sample keeps at most: `max_rows`, lowered for wide tables to hold at most MAX_CELLS values."""
    return max(1, min(max_rows, max(500, MAX_CELLS // max(1, design_columns))))


def seed_key(seed: int) -> U64:
    """The seed's salt, a 1-element array (xor-ed into every row hash)."""
    return mix64(np.array([_SEED_SALT ^ np.uint64(seed & 0xFFFF_FFFF_FFFF_FFFF)], dtype=np.uint64))


def _sample(source: Source, layout: Layout, intercept: bool, max_rows: int, seed: int,
            deadline: float | None) -> Sample:
    p = len(layout.design)
    k = sample_size(max_rows, p)
    salt = seed_key(seed)
    keys: list[U64] = []
    xs: list[F64] = []
    fhs: list[U64] = []
    targets: list[Any] = []
    kept = 0
    cutoff: np.uint64 | None = None  # keep keys strictly below (None: keep everything so far)
    rows = 0
    for batch in source.batches(layout.columns, block_rows(p + 1)):
        if deadline is not None and time.monotonic() > deadline:
            raise SampleTimeout()
        rows += batch.num_rows
        x, _nulls = design_block(batch, layout.design)
        fh = row_hashes(layout, batch, x)
        key = mix64(fh ^ salt)
        mask = key < cutoff if cutoff is not None else np.ones(key.size, dtype=bool)
        if not mask.any():
            continue
        index = np.flatnonzero(mask)
        keys.append(key[index])
        xs.append(x[index])
        fhs.append(fh[index])
        if layout.target is not None:
            targets.append(batch.column(layout.target).take(pa.array(index)))
        kept += index.size
        if kept > 2 * k:  # compact now and then (amortised: each compaction at least halves the rows)
            cutoff, keys, xs, fhs, targets, kept = _compact(k, keys, xs, fhs, targets)
    if kept > k:
        cutoff, keys, xs, fhs, targets, kept = _compact(k, keys, xs, fhs, targets)
    X = np.concatenate(xs) if xs else np.empty((0, p))
    hashes = np.concatenate(fhs) if fhs else np.empty(0, dtype=np.uint64)
    all_keys = np.concatenate(keys) if keys else np.empty(0, dtype=np.uint64)
    column = pa.chunked_array(targets).combine_chunks() if targets else None
    return assemble(source.display, layout, intercept, X, hashes, all_keys, rows, column)


def assemble(display: str, layout: Layout, intercept: bool, X: F64, hashes: U64, keys: U64, table_rows: int,
             target: pa.Array | None) -> Sample:
    """The `Sample` of the kept rows (design values, feature-row hashes, sampling keys and target values),
    with the duplicate groups numbered from the hashes."""
    _, groups = np.unique(hashes, return_inverse=True)
    sample = Sample(dataset=display, X=np.ascontiguousarray(X), columns=layout.design, intercept=intercept,
                    hashes=hashes, keys=keys, groups=groups.astype(np.int64).reshape(-1), table_rows=table_rows,
                    target=layout.target, target_discrete=layout.target_discrete)
    if layout.target is not None:
        _fill_target(sample, layout, target)
    return sample


def _compact(k: int, keys: list[U64], xs: list[F64], fhs: list[U64], targets: list[Any]
             ) -> tuple[np.uint64, list[U64], list[F64], list[U64], list[Any], int]:
    """Keep the rows whose key is below the (k+1)-th smallest key, which becomes the new cut-off: rows
    with that key (a whole duplicate group) and above leave, so at most k rows stay and groups stay whole."""
    all_keys = np.concatenate(keys)
    cutoff = np.partition(all_keys, k)[k]
    keep = all_keys < cutoff
    if targets:
        chunked = pa.chunked_array(targets).combine_chunks()
        targets = [chunked.filter(pa.array(keep))]
    return (cutoff, [all_keys[keep]], [np.concatenate(xs)[keep]], [np.concatenate(fhs)[keep]], targets,
            int(keep.sum()))


def _fill_target(sample: Sample, layout: Layout, column: pa.Array | None) -> None:
    n = sample.rows
    if column is None or len(column) == 0:
        sample.y = np.empty(0) if layout.target_numeric else None
        sample.labels = np.empty(0, dtype=np.int64) if layout.target_discrete else None
        return
    batch = pa.RecordBatch.from_arrays([column], names=["y"])
    if layout.target_numeric:
        sample.y = design_block(batch, ["y"])[0][:, 0]
    if layout.target_discrete:
        if layout.target_numeric:
            values = sample.y if sample.y is not None else np.zeros(n)
            finite = np.isfinite(values)
            uniq = np.unique(values[finite])
            codes = np.full(n, -1, dtype=np.int64)
            codes[finite] = np.searchsorted(uniq, values[finite])
            sample.labels = codes
            sample.classes = [v.item() for v in uniq]
        else:
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            encoded = pc.dictionary_encode(column)
            dictionary = encoded.dictionary.to_pylist()
            raw = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            # Codes in sorted order of the values (as text), not in order of first appearance.
            order = sorted(range(len(dictionary)), key=lambda i: str(dictionary[i]))
            remap = np.empty(len(dictionary) + 1, dtype=np.int64)
            remap[order] = np.arange(len(dictionary))
            remap[-1] = -1
            sample.labels = remap[raw]
            sample.classes = [dictionary[i] for i in order]


__all__ = ["MAX_ROWS", "Sample", "SampleTimeout", "sample_design"]
