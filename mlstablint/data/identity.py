"""The content hash of what the audit computed about a table: the statistics part of its fingerprint.

Hashed: the design and other columns' names, the row count, and per design column the
counts (values, missing, NaN, ±inf, zeros), minimum, maximum, mean and sum of squared deviations,
plus the target's class counts. Means and squared deviations are rounded to 10 significant digits:
engines merge the same partials in different orders (the Spark engine per partition), which moves the
last bits of a float64 sum (and, through cancellation, a sum of squared deviations by up to ~1e-13
relative) but not, except at a rounding boundary, its 10th digit. The same engine gives the same bits
whatever the batch size. A change of one value moves a count, the minimum or maximum, or the mean by
its change / rows: seen unless that is below ~1e-10 of the mean.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from mlstablint.data.partials import Partial

DIGITS = 10  # significant digits of the hashed means and squared deviations


def _numbers(values: Any, digits: int | None = None) -> str:
    array = np.asarray(values, dtype=np.float64).ravel()
    if digits is None:
        return ",".join(repr(float(v)) for v in array)
    return ",".join(f"{float(v):.{digits}g}" for v in array)


def statistics_digest(partial: Partial) -> str:
    """Hex SHA-256 of the table's merged statistics (see the module's docstring)."""
    layout = partial.layout
    h = hashlib.sha256()

    def add(part: str) -> None:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")

    add(f"rows={partial.rows}")
    for name in (*layout.design, "|", *layout.other, "|", layout.target or ""):
        add(name)
    # Not the other columns' Arrow types: a text column is `string` from Spark and `large_string` from parquet.
    for counts in (partial.count, partial.nulls, partial.nans, partial.posinf, partial.neginf, partial.zeros):
        add(",".join(str(int(c)) for c in counts))
    add(_numbers(partial.min))
    add(_numbers(partial.max))
    add(_numbers(partial.mean, DIGITS))
    add(_numbers(partial.m2, DIGITS))
    add(",".join(str(int(n)) for n in partial.other_nulls))
    if partial.class_counts is not None:
        add(",".join(f"{key!r}:{int(n)}" for key, n in sorted(partial.class_counts.items(), key=repr)))
    return h.hexdigest()
