"""Mergeable partial statistics of a table: computed per record batch, merged at the end.

A `Partial` is what one batch (or one partition of a distributed engine) contributes; `merge`
combines two of them, in any grouping, into the statistics of their union. Everything is plain
numpy, and nothing grows with the number of rows except the row-hash arrays (8 bytes a row for the
features, 8 more for the target's key when there is a target).

- per design column: rows, nulls, NaN, ±inf, finite min/max, mean and M2 (sum of squared
  deviations) combined by Chan, Golub & LeVeque's pairwise update, zeros, values outside {0, 1},
  values above exp's overflow thresholds, and the distinct values up to a cap;
- per left-out (text, categorical, date) column: nulls and distinct values up to a cap;
- the Gram matrix of [1 | X] with non-finite entries read as 0 (float64 `Xb.T @ Xb` per batch);
- 64-bit hashes of each feature row and a 64-bit key of each row's target;
- the target's moments and, for a discrete target, its class counts;
- optionally a bottom-k sample of rows by row hash (mergeable and independent of batching), for
  two-sample tests.

`RFactor` accumulates the R factor of a tall matrix by TSQR (stack the running R on the next
block and re-factor), for when the Gram matrix squares away the digits that matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from mlstablint.data.read import DataError

F64 = NDArray[np.float64]
U64 = NDArray[np.uint64]
I64 = NDArray[np.int64]

# exp(x) overflows when x > log(largest finite number) of the dtype (computed, not remembered).
EXP_LIMIT_F64 = float(np.log(np.finfo(np.float64).max))  # 709.782712893384
EXP_LIMIT_F32 = float(np.log(np.float64(np.finfo(np.float32).max)))  # 88.72283905206835

DISTINCT_CAP = 64  # numeric columns: distinct values tracked up to this many
TEXT_DISTINCT_CAP = 1000  # left-out columns: cardinality tracked up to this many
SAMPLE_SEED = np.uint64(0x5EED_0F_D41A_A0D1)

_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def mix64(x: U64) -> U64:
    """splitmix64's finaliser, element-wise (uint64 arithmetic wraps)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _C1
    x = x ^ (x >> np.uint64(27))
    x = x * _C2
    out: U64 = x ^ (x >> np.uint64(31))
    return out


def column_salts(count: int) -> U64:
    """One constant per feature position: the row hash depends on which column holds which value."""
    return mix64((np.arange(count, dtype=np.uint64) + np.uint64(1)) * _GOLDEN)


def float_keys(values: F64) -> U64:
    """Bit patterns of float64 values with -0.0 → 0.0 and every NaN (and null) → one NaN."""
    v = values + 0.0
    v[np.isnan(v)] = np.nan
    return v.view(np.uint64)


def text_keys(column: pa.Array | pa.ChunkedArray) -> U64:
    """Value hashes of a non-numeric column (pandas' stable hashing: same value, same hash)."""
    import pandas as pd

    series = column.to_pandas()
    hashed = pd.util.hash_pandas_object(series, index=False, categorize=True).to_numpy()
    out: U64 = np.ascontiguousarray(hashed, dtype=np.uint64)
    return out


# --------------------------------------------------------------------------------------------
# Which column plays which role


def is_design_type(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
                or pa.types.is_decimal(t) or pa.types.is_null(t))


def is_discrete_type(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_string(t)
                or pa.types.is_large_string(t) or pa.types.is_dictionary(t))


@dataclass(frozen=True)
class Layout:
    """The roles of a table's columns, decided from its schema (and the user's choices)."""

    features: tuple[str, ...]  # every feature column, in table order: the row hash covers these
    design: tuple[str, ...]  # numeric and boolean features: the design matrix after the intercept
    other: tuple[str, ...]  # features left out of the design (text, categorical, dates...)
    other_types: tuple[str, ...]
    target: str | None
    target_numeric: bool
    target_discrete: bool  # integer, boolean, text or categorical: may be a class label

    @property
    def columns(self) -> list[str]:
        return [*self.features, *([self.target] if self.target is not None else [])]


def _shorten(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")


def make_layout(schema: pa.Schema, target: str | None, features: list[str] | None) -> Layout:
    names = list(schema.names)
    from collections import Counter

    dupes = sorted(n for n, c in Counter(names).items() if c > 1)
    if dupes:
        raise DataError(f"duplicate column names: {_shorten(dupes)}")
    if target is not None and target not in names:
        raise DataError(f"target column {target!r} not found (columns: {_shorten(names)})")
    if features is not None:
        missing = [f for f in features if f not in names]
        if missing:
            raise DataError(f"feature column(s) not found: {_shorten(missing)}")
        wanted = set(features)
        chosen = [n for n in names if n in wanted and n != target]
    else:
        chosen = [n for n in names if n != target]
    if not chosen:
        raise DataError("no feature columns")
    design = [n for n in chosen if is_design_type(schema.field(n).type)]
    in_design = set(design)
    other = [n for n in chosen if n not in in_design]
    if not design:
        raise DataError("no numeric or boolean feature column to audit "
                        "(text and categorical columns are only profiled)")
    ttype = schema.field(target).type if target is not None else None
    return Layout(
        features=tuple(chosen), design=tuple(design), other=tuple(other),
        other_types=tuple(str(schema.field(n).type) for n in other), target=target,
        target_numeric=ttype is not None and is_design_type(ttype),
        target_discrete=ttype is not None and is_discrete_type(ttype),
    )


def design_block(batch: pa.RecordBatch, names: tuple[str, ...] | list[str]) -> tuple[F64, I64]:
    """The batch's design columns as a float64 (rows × columns) matrix, nulls as NaN, and null counts."""
    rows = batch.num_rows
    out = np.empty((rows, len(names)), dtype=np.float64, order="F")
    nulls = np.zeros(len(names), dtype=np.int64)
    for j, name in enumerate(names):
        column = batch.column(name)
        nulls[j] = column.null_count
        if pa.types.is_null(column.type):
            out[:, j] = np.nan
            continue
        t = column.type
        if pa.types.is_floating(t) or (pa.types.is_integer(t) and column.null_count == 0):
            # pyarrow hands integers with nulls over as float64 with NaN; without nulls, numpy casts.
            out[:, j] = column.to_numpy(zero_copy_only=False)
            continue
        try:
            values = pc.cast(column, pa.float64(), safe=False)
        except pa.ArrowException as exc:
            raise DataError(f"column {name!r} cannot be read as numbers: {exc}") from None
        out[:, j] = values.to_numpy(zero_copy_only=False)
    return out, nulls


# --------------------------------------------------------------------------------------------
# Moments


def chan_merge(n_a: I64, mean_a: F64, m2_a: F64, n_b: I64, mean_b: F64, m2_b: F64) -> tuple[I64, F64, F64]:
    """Chan, Golub & LeVeque (1983): moments of the union of two samples, element-wise."""
    n = n_a + n_b
    safe = np.maximum(n, 1)
    delta = mean_b - mean_a
    with np.errstate(invalid="ignore", over="ignore"):
        mean = np.where(n_b == 0, mean_a, np.where(n_a == 0, mean_b, mean_a + delta * (n_b / safe)))
        m2 = m2_a + m2_b + np.where((n_a == 0) | (n_b == 0), 0.0, delta * delta * (n_a * (n_b / safe)))
    return n, mean, m2


def block_moments(x: F64, finite: NDArray[np.bool_]) -> tuple[I64, F64, F64]:
    """Count, mean and M2 of each column's finite values: a corrected two-pass within the block."""
    count = finite.sum(axis=0).astype(np.int64)
    safe = np.maximum(count, 1)
    with np.errstate(invalid="ignore", over="ignore"):
        mean = np.where(finite, x, 0.0).sum(axis=0) / safe
        dev = np.where(finite, x - mean, 0.0)
        mean = mean + dev.sum(axis=0) / safe
        dev = np.where(finite, x - mean, 0.0)
        m2 = (dev * dev).sum(axis=0)
    return count, mean, m2


@dataclass
class Moments:
    """Scalar moments of one series (the target), with the same merge."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float = float("inf")
    max: float = float("-inf")

    def update(self, values: F64) -> None:
        finite = np.isfinite(values)
        c, m, s = block_moments(values[:, None], finite[:, None])
        self.merge(Moments(int(c[0]), float(m[0]), float(s[0]),
                           float(values[finite].min()) if c[0] else float("inf"),
                           float(values[finite].max()) if c[0] else float("-inf")))

    def merge(self, other: Moments) -> None:
        n, mean, m2 = chan_merge(np.array([self.count]), np.array([self.mean]), np.array([self.m2]),
                                 np.array([other.count]), np.array([other.mean]), np.array([other.m2]))
        self.count, self.mean, self.m2 = int(n[0]), float(mean[0]), float(m2[0])
        self.min, self.max = min(self.min, other.min), max(self.max, other.max)


# --------------------------------------------------------------------------------------------
# The partial statistics


@dataclass
class Options:
    gram: bool = True
    hashes: bool = True
    sample_rows: int = 0
    class_cap: int = 51


@dataclass
class Partial:
    layout: Layout
    options: Options = field(default_factory=Options)
    rows: int = 0
    incomplete_rows: int = 0  # rows with a null / NaN / inf in some design column
    # per design column
    nulls: I64 = field(init=False)
    nans: I64 = field(init=False)
    posinf: I64 = field(init=False)
    neginf: I64 = field(init=False)
    count: I64 = field(init=False)  # finite values
    mean: F64 = field(init=False)
    m2: F64 = field(init=False)
    min: F64 = field(init=False)
    max: F64 = field(init=False)
    zeros: I64 = field(init=False)
    nonbinary: I64 = field(init=False)  # finite values other than 0 and 1
    above_f32: I64 = field(init=False)
    above_f64: I64 = field(init=False)
    distinct: list[F64 | None] = field(init=False)
    # per left-out column
    other_nulls: I64 = field(init=False)
    other_distinct: list[set[Any] | None] = field(init=False)
    # design
    gram: F64 | None = field(init=False)
    # rows
    feature_hashes: list[U64] = field(init=False)
    target_keys: list[U64] = field(init=False)
    # target
    target_nulls: int = 0
    target_nans: int = 0
    target_moments: Moments = field(default_factory=Moments)
    class_counts: dict[Any, int] | None = field(init=False)
    # bottom-k sample of design rows by row hash
    sample_keys: U64 = field(init=False)
    sample_values: F64 = field(init=False)

    def __post_init__(self) -> None:
        p, q = len(self.layout.design), len(self.layout.other)

        def zeros_i(k: int) -> I64:
            return np.zeros(k, dtype=np.int64)

        self.nulls, self.nans, self.posinf, self.neginf = zeros_i(p), zeros_i(p), zeros_i(p), zeros_i(p)
        self.count, self.zeros, self.nonbinary = zeros_i(p), zeros_i(p), zeros_i(p)
        self.above_f32, self.above_f64 = zeros_i(p), zeros_i(p)
        self.mean, self.m2 = np.zeros(p), np.zeros(p)
        self.min, self.max = np.full(p, np.inf), np.full(p, -np.inf)
        self.distinct = [np.empty(0) for _ in range(p)]
        self.other_nulls = zeros_i(q)
        self.other_distinct = [set() for _ in range(q)]
        self.gram = np.zeros((p + 1, p + 1)) if self.options.gram else None
        self.feature_hashes, self.target_keys = [], []
        self.class_counts = {} if self.layout.target_discrete else None
        self.sample_keys = np.empty(0, dtype=np.uint64)
        self.sample_values = np.empty((0, p))

    # ---- one batch

    def update(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        layout = self.layout
        x, nulls = design_block(batch, layout.design)
        other = Partial(layout, self.options)
        other._fill(batch, x, nulls)
        self.merge(other)

    def _fill(self, batch: pa.RecordBatch, x: F64, nulls: I64) -> None:
        """Statistics of one batch into this (empty) partial."""
        layout = self.layout
        b = x.shape[0]
        self.rows = b
        finite = np.isfinite(x)
        self.incomplete_rows = int(b - np.count_nonzero(finite.all(axis=1)))
        self.nulls = nulls
        self.nans = np.isnan(x).sum(axis=0) - nulls
        self.posinf = (x == np.inf).sum(axis=0)
        self.neginf = (x == -np.inf).sum(axis=0)
        self.count, self.mean, self.m2 = block_moments(x, finite)
        xz = np.where(finite, x, 0.0)
        any_finite = self.count > 0
        self.min = np.where(any_finite, np.where(finite, x, np.inf).min(axis=0), np.inf)
        self.max = np.where(any_finite, np.where(finite, x, -np.inf).max(axis=0), -np.inf)
        self.zeros = (finite & (x == 0)).sum(axis=0)
        ones = (finite & (x == 1)).sum(axis=0)
        self.nonbinary = self.count - self.zeros - ones
        self.above_f32 = (finite & (x > EXP_LIMIT_F32)).sum(axis=0)
        self.above_f64 = (finite & (x > EXP_LIMIT_F64)).sum(axis=0)
        self.distinct = []
        for j in range(x.shape[1]):
            if self.nonbinary[j] == 0:
                self.distinct.append(np.array([v for v, c in ((0.0, self.zeros[j]), (1.0, ones[j])) if c]))
            else:
                u = np.unique(x[finite[:, j], j])
                self.distinct.append(u if u.size <= DISTINCT_CAP else None)
        for j, name in enumerate(layout.other):
            column = batch.column(name)
            self.other_nulls[j] = column.null_count
            try:
                values = set(pc.unique(column).drop_null().to_pylist())
            except pa.ArrowException:
                values = set()
            self.other_distinct[j] = values if len(values) <= TEXT_DISTINCT_CAP else None
        if self.gram is not None:
            xb = np.empty((b, x.shape[1] + 1))
            xb[:, 0] = 1.0
            xb[:, 1:] = xz
            with np.errstate(over="ignore", invalid="ignore"):
                self.gram = xb.T @ xb
        if not (self.options.hashes or self.options.sample_rows):
            self._fill_target(batch)
            return
        fh = row_hashes(layout, batch, x)
        if self.options.hashes:
            self.feature_hashes = [fh]
        self._fill_target(batch)
        if self.options.sample_rows:
            keys = mix64(fh ^ SAMPLE_SEED)
            self.sample_keys, self.sample_values = _bottom_k(keys, x, self.options.sample_rows)

    def _fill_target(self, batch: pa.RecordBatch) -> None:
        name = self.layout.target
        if name is None:
            return
        column = batch.column(name)
        self.target_nulls = column.null_count
        if self.layout.target_numeric:
            values = design_block(batch, [name])[0][:, 0]
            self.target_nans = int(np.isnan(values).sum()) - column.null_count
            self.target_moments = Moments()
            self.target_moments.update(values)
            if self.options.hashes:
                self.target_keys = [float_keys(values)]
        elif self.options.hashes:
            self.target_keys = [text_keys(column)]
        if self.class_counts is not None:
            counts: dict[Any, int] = {}
            for item in pc.value_counts(column.drop_null()).to_pylist():
                counts[item["values"]] = int(item["counts"])
            self.class_counts = counts if len(counts) <= self.options.class_cap else None

    # ---- merging

    def merge(self, other: Partial) -> Partial:
        """Fold `other` (same layout) into this partial; returns self."""
        if other.rows == 0:
            return self
        if self.rows == 0:
            self.__dict__.update(other.__dict__)
            return self
        self.rows += other.rows
        self.incomplete_rows += other.incomplete_rows
        for name in ("nulls", "nans", "posinf", "neginf", "zeros", "nonbinary", "above_f32", "above_f64",
                     "other_nulls"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.count, self.mean, self.m2 = chan_merge(self.count, self.mean, self.m2, other.count, other.mean, other.m2)
        self.min = np.minimum(self.min, other.min)
        self.max = np.maximum(self.max, other.max)
        self.distinct = [_union(a, b, DISTINCT_CAP) for a, b in zip(self.distinct, other.distinct, strict=True)]
        self.other_distinct = [_union_set(a, b, TEXT_DISTINCT_CAP) for a, b in zip(self.other_distinct,
                                                                                    other.other_distinct, strict=True)]
        if self.gram is not None and other.gram is not None:
            self.gram = self.gram + other.gram
        self.feature_hashes.extend(other.feature_hashes)
        self.target_keys.extend(other.target_keys)
        self.target_nulls += other.target_nulls
        self.target_nans += other.target_nans
        self.target_moments.merge(other.target_moments)
        if self.class_counts is not None and other.class_counts is not None:
            merged = dict(self.class_counts)
            for key, value in other.class_counts.items():
                merged[key] = merged.get(key, 0) + value
            self.class_counts = merged if len(merged) <= self.options.class_cap else None
        else:
            self.class_counts = None
        if self.options.sample_rows:
            keys = np.concatenate([self.sample_keys, other.sample_keys])
            values = np.concatenate([self.sample_values, other.sample_values])
            self.sample_keys, self.sample_values = _bottom_k(keys, values, self.options.sample_rows)
        return self

    # ---- results

    def hashes(self) -> U64:
        return np.concatenate(self.feature_hashes) if self.feature_hashes else np.empty(0, dtype=np.uint64)

    def targets(self) -> U64:
        return np.concatenate(self.target_keys) if self.target_keys else np.empty(0, dtype=np.uint64)

    @property
    def variance(self) -> F64:
        """Sample variance (denominator n - 1) of each design column's finite values."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 1, self.m2 / np.maximum(self.count - 1, 1), np.nan)

    def compact(self) -> None:
        """Concatenate the per-batch hash arrays now and then (keeps the list short in long runs)."""
        if len(self.feature_hashes) > 1024:
            self.feature_hashes = [self.hashes()]
        if len(self.target_keys) > 1024:
            self.target_keys = [self.targets()]


def _union(a: F64 | None, b: F64 | None, cap: int) -> F64 | None:
    if a is None or b is None:
        return None
    if a.shape == b.shape and bool((a == b).all()):
        return a
    u = np.union1d(a, b)
    return u if u.size <= cap else None


def _union_set(a: set[Any] | None, b: set[Any] | None, cap: int) -> set[Any] | None:
    if a is None or b is None:
        return None
    u = a | b
    return u if len(u) <= cap else None


def _bottom_k(keys: U64, values: F64, k: int) -> tuple[U64, F64]:
    if keys.size <= k:
        return keys, values
    keep = np.argsort(keys, kind="stable")[:k]
    keep.sort()
    return keys[keep], values[keep]


def row_hashes(layout: Layout, batch: pa.RecordBatch, x: F64) -> U64:
    """64-bit hash of each row's features (design values as float64 bits, other columns by value)."""
    salts = column_salts(len(layout.features))
    position = {name: i for i, name in enumerate(layout.features)}
    design_salts = salts[[position[n] for n in layout.design]]
    acc = mix64(float_keys(np.ascontiguousarray(x)) ^ design_salts[None, :]).sum(axis=1, dtype=np.uint64)
    for name in layout.other:
        acc = acc + mix64(text_keys(batch.column(name)) ^ salts[position[name]])
    return mix64(acc)


# --------------------------------------------------------------------------------------------
# TSQR


def r_factor(a: F64) -> F64:
    """The (n × n) upper-triangular R of a's QR factorisation (rows < n are padded with zeros)."""
    import scipy.linalg

    m, n = a.shape
    out = np.zeros((n, n))
    if m == 0:
        return out
    (h, _tau), _r = scipy.linalg.qr(a, mode="raw", check_finite=False, overwrite_a=True)
    k = min(m, n)
    out[:k] = np.triu(h[:k])
    return out


@dataclass
class RFactor:
    """TSQR (Demmel et al. 2012): the R factor of a tall matrix fed in row blocks; mergeable."""

    columns: int
    r: F64 | None = None
    rows: int = 0
    _buffer: list[F64] = field(default_factory=list)
    _buffered: int = 0

    def add(self, block: F64) -> None:
        if block.shape[0] == 0:
            return
        self._buffer.append(block)
        self._buffered += block.shape[0]
        self.rows += block.shape[0]
        if self._buffered >= max(2 * self.columns, 4096):
            self._fold()

    def _fold(self) -> None:
        if not self._buffer:
            return
        parts = ([self.r] if self.r is not None else []) + self._buffer
        self._buffer, self._buffered = [], 0
        self.r = r_factor(np.vstack(parts))

    def merge(self, other: RFactor) -> RFactor:
        other._fold()
        if other.r is not None:
            self._buffer.append(other.r)
            self._buffered += other.r.shape[0]
            self.rows += other.rows
        return self

    def result(self) -> F64:
        self._fold()
        return self.r if self.r is not None else np.zeros((self.columns, self.columns))
