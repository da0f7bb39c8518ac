"""Mergeable partial statistics of a table: computed per record batch, merged at the end.

A `Partial` is what one batch (or one partition of a distributed engine) contributes; `merge`
combines two of them, in any grouping, into the statistics of their union. Everything is plain
numpy, and nothing grows with the number of rows except the row-hash arrays (8 bytes a row for the
features, 8 more for the target's key when there is a target).

- per design column: rows, nulls, NaN, ±inf, finite min/max, mean and M2 (sum of squared
  deviations) combined by Chan, Golub & LeVeque's pairwise update, zeros, values outside {0, 1},
  values above exp's overflow thresholds, and the distinct values up to a cap;
- per left-out (text, categorical, date) column: nulls and distinct values up to a cap;
- the Gram matrix of [1 | X] with non-finite entries read as 0 (float64 `Xb.T @ Xb` per batch), or for
  a design too wide for a dense one, a sparse Gram matrix (`SparseGram`: one-hot designs are sparse);
- 64-bit hashes of each feature row and a 64-bit key of each row's target;
- the target's moments and, for a discrete target, its class counts;
- optionally a bottom-k sample of rows by row hash (mergeable and independent of batching), for
  two-sample tests.

`RFactor` accumulates the R factor of a tall matrix by TSQR (stack the running R on the next
block and re-factor), for when the Gram matrix squares away the digits that matter.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from mlstablint.data.read import DataError

F64 = NDArray[np.float64]
U64 = NDArray[np.uint64]
I64 = NDArray[np.int64]
P = ParamSpec("P")
R = TypeVar("R")

# exp(x) overflows when x > log(largest finite number) of the dtype (computed, not remembered).
EXP_LIMIT_F64 = float(np.log(np.finfo(np.float64).max))  # 709.782712893384
EXP_LIMIT_F32 = float(np.log(np.float64(np.finfo(np.float32).max)))  # 88.72283905206835

DISTINCT_CAP = 64  # numeric columns: distinct values tracked up to this many
TEXT_DISTINCT_CAP = 1000  # left-out columns: cardinality tracked up to this many
SAMPLE_SEED = np.uint64(0x5EED_0F_D41A_A0D1)
# Cells of one block's design matrix (float64: 16 MB), which bounds a block's memory whatever the
# column count, and rows of one block at most (narrow tables).
BLOCK_CELLS = 1 << 21
BLOCK_ROWS = 1 << 16
# Cells of the work arrays the per-column statistics and row hashes use (2 MB of float64): a block is cut into
# chunks of columns for them.
CHUNK_CELLS = 1 << 18

_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def mix64(x: U64) -> U64:
    """splitmix64's finaliser, element-wise (uint64 arithmetic wraps), into a new array."""
    out: U64 = np.array(x, dtype=np.uint64)
    return mix64_inplace(out, np.empty_like(out))


class _Scratch(threading.local):
    def __init__(self) -> None:
        self.buffers: dict[str, NDArray[Any]] = {}


_SCRATCH = _Scratch()


def scratch(name: str, shape: tuple[int, int], dtype: type) -> NDArray[Any]:
    """A work array reused from batch to batch (per thread, one per `name`), Fortran-ordered.

    Fresh memory is expensive: every first touch of a page is a fault, and on the 2-core VMs measured
    here a new 16 MB temporary cost 5-50 ms against ~1 ms to compute into a warm one. The contents are
    overwritten by the next caller with the same name: copy what must outlive the batch.
    """
    size = shape[0] * shape[1]
    kind = np.dtype(dtype)
    buffer = _SCRATCH.buffers.get(name)
    if buffer is None or buffer.dtype != kind or buffer.size < size:
        buffer = _SCRATCH.buffers[name] = np.empty(size, dtype=kind)
    return buffer[:size].reshape(shape, order="F")


def release_scratch() -> None:
    """Give back what pass 1 no longer needs before the linear algebra that follows it: this thread's work
    arrays, Arrow's pooled buffers, and (glibc) the freed heap the allocator keeps. On a wide design the
    three hold ~150 MB that the sparse path's factorisation would otherwise add to."""
    _SCRATCH.buffers.clear()
    pa.default_memory_pool().release_unused()
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        libc = None
    trim = getattr(libc, "malloc_trim", None)  # glibc's; musl has none
    if trim is not None:
        trim(0)


_BLAS: list[Any] = []  # the process's threadpoolctl controller, made on first use


def one_blas_thread() -> Any:
    """A context in which BLAS runs on one thread.

    A batch's Gram product is small (~7,000 × 300): measured on the 2-core VMs, with other processes
    running, OpenBLAS's two threads took 5-10x longer than one (they wait on each other), while one
    thread reached ~28 GFlop/s. The limit is set and lifted per batch (~0.06 ms).
    """
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def on_one_blas_thread(fn: Callable[P, R]) -> Callable[P, R]:
    """`fn` run under `one_blas_thread()`: for LAPACK on matrices of a few hundred columns, where
    threads cost more than they bring (measured: eigvalsh of a 299 × 299 matrix 4.6 s on two threads
    of a loaded VM)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with one_blas_thread():
            return fn(*args, **kwargs)

    return wrapper


def mix64_inplace(x: U64, work: U64) -> U64:
    """`mix64(x)` computed in x, with `work` (same shape) as the one temporary."""
    for shift, factor in ((30, _C1), (27, _C2), (31, None)):
        np.right_shift(x, np.uint64(shift), out=work)
        np.bitwise_xor(x, work, out=x)
        if factor is not None:
            np.multiply(x, factor, out=x)
    return x


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
    out = np.empty((batch.num_rows, len(names)), dtype=np.float64, order="F")
    return out, design_into(batch, names, out)


def design_into(batch: pa.RecordBatch, names: tuple[str, ...] | list[str], out: F64) -> I64:
    """Write the batch's design columns into `out` (rows × columns), nulls as NaN; the null counts."""
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
    return nulls



def column_chunks(rows: int, columns: int) -> list[slice]:
    """Slices of a block's columns holding at most CHUNK_CELLS cells each (one column at least): the work
    arrays of column-wise statistics are a chunk's size, not the block's (per-column results are the same)."""
    width = max(1, CHUNK_CELLS // max(1, rows))
    return [slice(start, min(columns, start + width)) for start in range(0, columns, width)]


def block_rows(width: int) -> int:
    """Rows of one block of a table whose design matrix has `width` columns (intercept included)."""
    return max(1, min(BLOCK_ROWS, BLOCK_CELLS // max(1, width)))


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


# Nonzeros of a sparse Gram matrix at most (~50 MB with its work arrays): past it the design is not sparse
# enough to be worth it, and the checks that need the Gram matrix are skipped.
SPARSE_GRAM_NONZEROS = 1 << 22
# Nonzeros of the batches' pending products at least before they are folded into the total.
SPARSE_FOLD_NONZEROS = 1 << 18


class SparseGram:
    """The Gram matrix of [1 | X] (non-finite entries read as 0) as a scipy.sparse CSR matrix, summed over
    batches: a wide one-hot design has few nonzeros in XᵀX (two dummies of one group never share a row).

    Batches' products are summed among themselves first, as a binary counter does (a partial sum is added to
    the one below it when that one is not twice its size: every product takes part in O(log) sums of its
    own size), and into the total when they hold an eighth of its nonzeros. A sparse sum allocates room for
    both operands' nonzeros: folding in small steps keeps that transient near the total's size, where adding
    as many nonzeros as the total held (or each batch's product to the total in turn) needed three times it
    (measured at 200,000 rows of a 5,000-column one-hot design: 2.2M nonzeros, 26 MB). Past
    `SPARSE_GRAM_NONZEROS` nonzeros the sum is dropped and `too_dense` says so.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.total: Any = None
        self.pending: list[Any] = []
        self.pending_nonzeros = 0
        self.too_dense = False

    def add_block(self, ones_x: F64) -> None:
        """Add Bᵀ B for a block B = [1 | x] of finite values."""
        import scipy.sparse

        # B's nonzeros found in column order over its Fortran-ordered memory: numpy's nonzero of a 2-D array walks
        # it in C order, across the columns (measured: 120 ms for a 419 × 5,004 block against ~5 ms).
        b, width = ones_x.shape
        flat = ones_x.ravel(order="K" if ones_x.flags.f_contiguous else "F")
        where = np.flatnonzero(flat)
        indptr = np.zeros(width + 1, dtype=np.int64)
        np.cumsum(np.bincount(where // b, minlength=width), out=indptr[1:])
        block = scipy.sparse.csc_matrix((flat[where], where % b, indptr), shape=(b, width))
        self.add((block.T @ block).tocsr())

    def add(self, product: Any) -> None:
        if self.too_dense:
            return
        self.pending.append(product)
        self.pending_nonzeros += product.nnz
        while len(self.pending) > 1 and self.pending[-2].nnz <= 2 * self.pending[-1].nnz:
            top = self.pending.pop()
            self.pending[-1] = self.pending[-1] + top
        if self.pending_nonzeros >= max(self.nonzeros // 8, SPARSE_FOLD_NONZEROS):
            self._fold()

    @property
    def nonzeros(self) -> int:
        return int(self.total.nnz) if self.total is not None else 0

    def _fold(self) -> None:
        if not self.pending or self.too_dense:
            return
        pending, self.pending, self.pending_nonzeros = self.pending, [], 0
        total = pending.pop()
        while pending:  # the smaller sums first
            total = pending.pop() + total
        if self.total is not None:
            total = self.total + total
            self.total = None
        # The sum's arrays have room for both operands' nonzeros: keep only what it holds.
        if total.indices.size > total.nnz:
            total.indices, total.data = total.indices[:total.nnz].copy(), total.data[:total.nnz].copy()
        self.total = total
        if self.nonzeros > SPARSE_GRAM_NONZEROS:
            self.total, self.too_dense = None, True

    def merge(self, other: SparseGram) -> SparseGram:
        if other.too_dense:
            self.total, self.pending, self.too_dense = None, [], True
            return self
        other._fold()
        if other.total is not None:
            self.add(other.total)
        return self

    def result(self) -> Any:
        """The summed matrix (CSR, size × size), or None when it grew too dense."""
        import scipy.sparse

        self._fold()
        if self.too_dense:
            return None
        return self.total if self.total is not None else scipy.sparse.csr_matrix((self.size, self.size))


@dataclass
class Options:
    gram: bool = True
    sparse_gram: bool = False  # the Gram matrix as a SparseGram (for designs too wide for a dense one)
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
    sparse_gram: SparseGram | None = field(init=False)
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
        self.sparse_gram = SparseGram(p + 1) if self.options.sparse_gram and not self.options.gram else None
        self.feature_hashes, self.target_keys = [], []
        self.class_counts = {} if self.layout.target_discrete else None
        self.sample_keys = np.empty(0, dtype=np.uint64)
        self.sample_values = np.empty((0, p))

    # ---- one batch

    def update(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        layout = self.layout
        # [1 | X] in one warm buffer: X is a view of it, and the Gram matrix needs no copy.
        ones_x = scratch("design", (batch.num_rows, len(layout.design) + 1), np.float64)
        ones_x[:, 0] = 1.0
        x = ones_x[:, 1:]
        nulls = design_into(batch, layout.design, x)
        other = Partial(layout, self.options)
        # Columns past the distinct cap stay there: no need to collect their values again.
        settled = [d is None for d in self.distinct] if self.rows else None
        other._fill(batch, x, nulls, ones_x=ones_x, settled=settled)
        self.merge(other)

    def _fill(self, batch: pa.RecordBatch, x: F64, nulls: I64, ones_x: F64 | None = None,
              settled: list[bool] | None = None) -> None:
        """Statistics of one batch into this (empty) partial. `ones_x`, when given, is [1 | x] with x a
        view of it; `settled[j]` says column j's distinct values need not be collected."""
        layout = self.layout
        b = x.shape[0]
        self.rows = b
        self.nulls = nulls
        with np.errstate(over="ignore", invalid="ignore"):
            sums = x.sum(axis=0)
        # A NaN or ±inf anywhere in a column makes its sum non-finite (an overflowing sum of finite values
        # only sends the batch down the general path).
        clean = bool(np.isfinite(sums).all())
        if clean:
            ones = self._fill_finite(x, sums)
        else:
            ones = self._fill_general(x)
        self.distinct = []
        for j in range(x.shape[1]):
            if settled is not None and settled[j]:
                self.distinct.append(None)
            elif self.nonbinary[j] == 0:
                self.distinct.append(np.array([v for v, c in ((0.0, self.zeros[j]), (1.0, ones[j])) if c]))
            else:
                u = np.unique(x[:, j] if clean else x[np.isfinite(x[:, j]), j])
                self.distinct.append(u if u.size <= DISTINCT_CAP else None)
        for j, name in enumerate(layout.other):
            column = batch.column(name)
            self.other_nulls[j] = column.null_count
            try:
                values = set(pc.unique(column).drop_null().to_pylist())
            except pa.ArrowException:
                values = set()
            self.other_distinct[j] = values if len(values) <= TEXT_DISTINCT_CAP else None
        if self.gram is not None or self.sparse_gram is not None:
            if not clean or ones_x is None:
                ones_x = scratch("gram", (b, x.shape[1] + 1), np.float64)
                ones_x[:, 0] = 1.0
                np.copyto(ones_x[:, 1:], x)
                if not clean:
                    ones_x[:, 1:][~np.isfinite(x)] = 0.0
            if self.sparse_gram is not None:
                self.sparse_gram.add_block(ones_x)
            else:
                with np.errstate(over="ignore", invalid="ignore"), one_blas_thread():
                    self.gram = ones_x.T @ ones_x
        if not (self.options.hashes or self.options.sample_rows):
            self._fill_target(batch)
            return
        fh = row_hashes(layout, batch, x)
        if self.options.hashes:
            self.feature_hashes = [fh]
        self._fill_target(batch)
        if self.options.sample_rows:
            keys = mix64(fh ^ SAMPLE_SEED)
            self.sample_keys, sample = _bottom_k(keys, x, self.options.sample_rows)
            self.sample_values = sample.copy() if sample is x else sample  # x may be a reused buffer

    def _fill_finite(self, x: F64, sums: F64) -> I64:
        """Counts and moments of a batch with no null, NaN or inf: no masks, and work arrays reused. The
        same operations on the same values as `_fill_general`, so the figures are the same to the bit."""
        b, p = x.shape
        self.incomplete_rows = 0
        self.nans, self.posinf, self.neginf = (np.zeros(p, dtype=np.int64) for _ in range(3))
        self.count = np.full(p, b, dtype=np.int64)
        mean, m2 = sums / b, np.empty(p)
        for cols in column_chunks(b, p):
            dev = scratch("deviations", (b, cols.stop - cols.start), np.float64)
            np.subtract(x[:, cols], mean[cols], out=dev)
            mean[cols] = mean[cols] + dev.sum(axis=0) / b
            np.subtract(x[:, cols], mean[cols], out=dev)
            np.multiply(dev, dev, out=dev)
            m2[cols] = dev.sum(axis=0)
        self.mean, self.m2 = mean, m2
        self.min, self.max = x.min(axis=0), x.max(axis=0)
        flags = scratch("flags", (b, p), np.bool_)

        def count(compare: Any, value: float, where: NDArray[np.bool_]) -> I64:
            """Values of each column `compare` value, counted only in the columns `where` can have some."""
            out = np.zeros(p, dtype=np.int64)
            if where.any():
                compare(x, value, out=flags)
                out[where] = flags[:, where].sum(axis=0)
            return out

        self.zeros = count(np.equal, 0.0, (self.min <= 0) & (self.max >= 0))
        ones = count(np.equal, 1.0, (self.min <= 1) & (self.max >= 1))
        self.nonbinary = self.count - self.zeros - ones
        self.above_f32 = count(np.greater, EXP_LIMIT_F32, self.max > EXP_LIMIT_F32)
        self.above_f64 = count(np.greater, EXP_LIMIT_F64, self.max > EXP_LIMIT_F64)
        return ones

    def _fill_general(self, x: F64) -> I64:
        """Counts and moments of a batch that has missing or infinite values somewhere."""
        b = x.shape[0]
        finite = np.isfinite(x)
        self.incomplete_rows = int(b - np.count_nonzero(finite.all(axis=1)))
        self.nans = np.isnan(x).sum(axis=0) - self.nulls
        self.posinf = (x == np.inf).sum(axis=0)
        self.neginf = (x == -np.inf).sum(axis=0)
        self.count, self.mean, self.m2 = block_moments(x, finite)
        any_finite = self.count > 0
        self.min = np.where(any_finite, np.where(finite, x, np.inf).min(axis=0), np.inf)
        self.max = np.where(any_finite, np.where(finite, x, -np.inf).max(axis=0), -np.inf)
        self.zeros = (finite & (x == 0)).sum(axis=0)
        ones: I64 = (finite & (x == 1)).sum(axis=0)
        self.nonbinary = self.count - self.zeros - ones
        self.above_f32 = (finite & (x > EXP_LIMIT_F32)).sum(axis=0)
        self.above_f64 = (finite & (x > EXP_LIMIT_F64)).sum(axis=0)
        return ones

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
        if self.sparse_gram is not None and other.sparse_gram is not None:
            self.sparse_gram.merge(other.sparse_gram)
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
    # mix64(float_keys(x) ^ salt) summed over the row, computed in two reused work arrays (the same values), a
    # chunk of columns at a time (uint64 sums wrap: the order does not change them).
    b, p = x.shape
    acc = np.zeros(b, dtype=np.uint64)
    for cols in column_chunks(b, p):
        width = cols.stop - cols.start
        keys = scratch("row-keys", (b, width), np.uint64)
        as_float = keys.view(np.float64)
        np.add(x[:, cols], 0.0, out=as_float)  # -0.0 -> 0.0
        nan = scratch("row-nan", (b, width), np.bool_)
        np.isnan(as_float, out=nan)
        if nan.any():
            as_float[nan] = np.nan  # one NaN bit pattern
        np.bitwise_xor(keys, design_salts[None, cols], out=keys)
        acc += mix64_inplace(keys, scratch("row-work", (b, width), np.uint64)).sum(axis=1, dtype=np.uint64)
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
