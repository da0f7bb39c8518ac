"""Partial statistics as bytes, for the trip from a Spark executor to the driver.

A `Partial` (or a TSQR `RFactor`) becomes a one-row Arrow record batch, one column per field (arrays
as list columns), written as an Arrow IPC stream. Decoding reads typed arrays back: nothing is
unpickled, so a blob can at worst fail to decode, never run code. The layout and options are known
to both sides and are not part of the blob.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from mlstablint.data.partials import Layout, Moments, Options, Partial, RFactor, SparseGram

_COUNTS = ("nulls", "nans", "posinf", "neginf", "count", "zeros", "nonbinary", "above_f32", "above_f64",
           "other_nulls")
_FLOATS = ("mean", "m2", "min", "max")
_SCALARS = ("rows", "incomplete_rows", "target_nulls", "target_nans")


def _list(values: np.ndarray | pa.Array | None, type_: pa.DataType | None = None) -> pa.Array:
    """A one-element list array holding `values` (a null element for None)."""
    if values is None:
        return pa.array([None], type=pa.list_(type_ or pa.null()))
    flat = values if isinstance(values, pa.Array) else pa.array(np.ascontiguousarray(values).reshape(-1),
                                                                 type=type_)
    return pa.ListArray.from_arrays(pa.array([0, len(flat)], type=pa.int32()), flat)


def _nested(items: list[np.ndarray | None]) -> pa.Array:
    """A one-element list<list<double>> holding several arrays, None as a null inner list."""
    inner = pa.array([None if a is None else a.tolist() for a in items], type=pa.list_(pa.float64()))
    return pa.ListArray.from_arrays(pa.array([0, len(inner)], type=pa.int32()), inner)


def _to_bytes(columns: dict[str, pa.Array]) -> bytes:
    batch = pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue().to_pybytes())


def _from_bytes(blob: bytes) -> pa.RecordBatch:
    return pa.ipc.open_stream(pa.py_buffer(blob)).read_next_batch()


def _flat(batch: pa.RecordBatch, name: str) -> np.ndarray | None:
    column = batch.column(name)
    if not column.is_valid().to_pylist()[0]:
        return None
    values: np.ndarray = column.values.to_numpy(zero_copy_only=False)
    return values


def _values(batch: pa.RecordBatch, name: str) -> list[Any] | None:
    value: list[Any] | None = batch.column(name).to_pylist()[0]
    return value


def encode_partial(p: Partial) -> bytes:
    cols: dict[str, pa.Array] = {name: pa.array([int(getattr(p, name))], type=pa.int64()) for name in _SCALARS}
    for name in _COUNTS:
        cols[name] = _list(getattr(p, name).astype(np.int64), pa.int64())
    for name in _FLOATS:
        cols[name] = _list(getattr(p, name).astype(np.float64), pa.float64())
    cols["distinct"] = _nested(p.distinct)
    for j, values in enumerate(p.other_distinct):
        cols[f"other_distinct_{j}"] = _list(None if values is None else pa.array(list(values)))
    cols["gram"] = _list(p.gram, pa.float64())
    cols.update(_encode_sparse(p.sparse_gram))
    cols["feature_hashes"] = _list(p.hashes(), pa.uint64())
    cols["target_keys"] = _list(p.targets(), pa.uint64())
    tm = p.target_moments
    cols["target_moments"] = _list(np.array([tm.mean, tm.m2, tm.min, tm.max]), pa.float64())
    cols["target_count"] = pa.array([tm.count], type=pa.int64())
    classes = p.class_counts
    cols["class_values"] = _list(None if classes is None else pa.array(list(classes)))
    cols["class_counts"] = _list(None if classes is None else np.array(list(classes.values()), dtype=np.int64),
                                 pa.int64())
    cols["sample_keys"] = _list(p.sample_keys, pa.uint64())
    cols["sample_values"] = _list(p.sample_values, pa.float64())
    return _to_bytes(cols)


def decode_partial(blob: bytes, layout: Layout, options: Options) -> Partial:
    batch = _from_bytes(blob)
    p = Partial(layout, options)
    width = len(layout.design)
    for name in _SCALARS:
        setattr(p, name, int(batch.column(name)[0].as_py()))
    for name in (*_COUNTS, *_FLOATS):
        setattr(p, name, _flat(batch, name))
    p.distinct = [None if v is None else np.asarray(v, dtype=np.float64) for v in _values(batch, "distinct") or []]
    p.other_distinct = [None if (v := _values(batch, f"other_distinct_{j}")) is None else set(v)
                        for j in range(len(layout.other))]
    gram = _flat(batch, "gram")
    p.gram = None if gram is None or not options.gram else gram.reshape(width + 1, width + 1)
    p.sparse_gram = _decode_sparse(batch, width + 1) if options.sparse_gram and not options.gram else None
    hashes, targets = _flat(batch, "feature_hashes"), _flat(batch, "target_keys")
    p.feature_hashes = [hashes] if hashes is not None and hashes.size else []
    p.target_keys = [targets] if targets is not None and targets.size else []
    moments = _flat(batch, "target_moments")
    assert moments is not None
    p.target_moments = Moments(int(batch.column("target_count")[0].as_py()), *map(float, moments))
    values, counts = _values(batch, "class_values"), _flat(batch, "class_counts")
    p.class_counts = (None if values is None or counts is None
                      else {v: int(c) for v, c in zip(values, counts, strict=True)})
    keys, sample = _flat(batch, "sample_keys"), _flat(batch, "sample_values")
    p.sample_keys = keys if keys is not None else np.empty(0, dtype=np.uint64)
    p.sample_values = sample.reshape(-1, width) if sample is not None else np.empty((0, width))
    return p


def _encode_sparse(gram: SparseGram | None) -> dict[str, pa.Array]:
    """A sparse Gram matrix as its nonzeros (row, column, value); `sparse_too_dense` when it was dropped."""
    matrix = gram.result() if gram is not None else None
    coo = matrix.tocoo() if matrix is not None else None
    return {"sparse_too_dense": pa.array([gram is not None and gram.too_dense]),
            "sparse_rows": _list(None if coo is None else coo.row.astype(np.int64), pa.int64()),
            "sparse_cols": _list(None if coo is None else coo.col.astype(np.int64), pa.int64()),
            "sparse_values": _list(None if coo is None else coo.data.astype(np.float64), pa.float64())}


def _decode_sparse(batch: pa.RecordBatch, size: int) -> SparseGram:
    import scipy.sparse

    gram = SparseGram(size)
    if batch.column("sparse_too_dense")[0].as_py():
        gram.too_dense = True
        return gram
    rows, cols, values = (_flat(batch, f"sparse_{name}") for name in ("rows", "cols", "values"))
    if rows is not None and cols is not None and values is not None:
        gram.add(scipy.sparse.csr_matrix((values, (rows, cols)), shape=(size, size)))
    return gram


def encode_rfactor(acc: RFactor) -> bytes:
    return _to_bytes({"r": _list(acc.result(), pa.float64()), "rows": pa.array([acc.rows], type=pa.int64())})


def decode_rfactor(blob: bytes, columns: int) -> RFactor:
    batch = _from_bytes(blob)
    r = _flat(batch, "r")
    assert r is not None
    return RFactor(columns, r=r.reshape(columns, columns), rows=int(batch.column("rows")[0].as_py()))
