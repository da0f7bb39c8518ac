"""Duplicate, conflict and overlap counts by Spark itself: no row hash ever reaches the driver.

Row identity is the local engine's (`partials.row_hashes`): design columns compared as float64 with
every NaN and null one value and -0.0 equal to 0.0; other feature columns compared by value, null
being a value of its own. Spark's `xxhash64` over the normalised feature columns, in table order,
stands in for the local hash: the two hashes differ, the counts do not. Two distinct rows share a
64-bit hash with probability about n²/2⁶⁵ (3e-8 for a million rows, 3 % for a billion, when one
pair would be counted as a duplicate): the same bound as the local engine's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import pyarrow as pa

from mlstablint.data.analyze import OverlapCounts, RowCounts
from mlstablint.data.partials import Layout

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def column(name: str) -> Column:
    """A column by its name as it is: dots and backticks in a name are not struct paths or quoting."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def columns(df: DataFrame, names: list[str] | tuple[str, ...]) -> DataFrame:
    """The named columns, renamed `_0`, `_1`...: `mapInArrow` cannot resolve a name with a dot in it
    (pyspark 4.3). The executors put the names back with `renamed`."""
    return df.select(*[column(n).alias(f"_{i}") for i, n in enumerate(names)])


def renamed(batches: Iterator[pa.RecordBatch], names: list[str] | tuple[str, ...]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield batch.rename_columns(list(names))


def design_key(name: str) -> Column:
    """A design (or numeric target) column as the local engine compares it: float64, NaN ≡ null, -0.0 ≡ 0.0."""
    from pyspark.sql import functions as F

    nan = F.lit(float("nan"))
    # Spark hashes the bits of a double: -0.0 + 0.0 is 0.0, and every NaN (and null, which `xxhash64`
    # would skip) becomes the one literal NaN. Cheap expressions: a wide table has hundreds of them.
    return F.coalesce(F.nanvl(column(name).cast("double") + F.lit(0.0), nan), nan)


def feature_hash(layout: Layout) -> Column:
    """xxhash64 of a row's features. `xxhash64` skips nulls, so a null text value is hashed with a flag
    (design values have no null left: it became NaN)."""
    from pyspark.sql import functions as F

    design = set(layout.design)
    parts: list[Column] = []
    for name in layout.features:
        if name in design:
            parts.append(design_key(name))
        else:
            parts.extend([column(name).isNull(), column(name)])
    return F.xxhash64(*parts)


def row_counts(df: DataFrame, layout: Layout) -> RowCounts:
    """The counts `analyze.duplicates` needs: groupBy on the feature hash (and on hash + target)."""
    from pyspark.sql import functions as F

    one = F.lit(1)
    if layout.target is None:
        groups = df.select(feature_hash(layout).alias("h")).groupBy("h").agg(
            F.count(one).alias("n"), F.lit(1).alias("labels"), F.count(one).alias("best"))
        return _group_counts(groups)
    # (hash, target key) of every row, kept on the executors for the second aggregation.
    keyed = df.select(feature_hash(layout).alias("h"),
                      (design_key(layout.target) if layout.target_numeric else column(layout.target)).alias("y"))
    keyed = keyed.persist()
    try:
        groups = keyed.groupBy("h", "y").count().groupBy("h").agg(
            F.sum("count").alias("n"), F.count(one).alias("labels"), F.max("count").alias("best"))
        counts = _group_counts(groups)
        if not layout.target_numeric or not counts.conflicting_groups:
            return counts
        # A numeric target's floor: squared deviations from each duplicate group's mean of its finite targets.
        finite_y = F.when(~F.isnan("y") & (F.abs("y") != F.lit(float("inf"))), F.col("y"))
        per_group = keyed.select("h", finite_y.alias("y")).groupBy("h").agg(
            F.count("y").alias("c"), F.var_pop("y").alias("v"))
        spread = per_group.agg(
            F.sum(F.when(F.col("c") >= 2, F.col("v") * F.col("c"))).alias("ss"),
            F.sum(F.when(F.col("c") >= 2, F.col("c") - 1)).alias("dof"), F.sum("c").alias("finite")).collect()[0]
    finally:
        keyed.unpersist()
    return replace(counts, ss_within=float(spread["ss"] or 0.0), within_dof=float(spread["dof"] or 0),
                   finite_targets=int(spread["finite"] or 0))


def _group_counts(groups: DataFrame) -> RowCounts:
    """RowCounts from one row per feature hash: its rows `n`, distinct targets `labels`, commonest `best`."""
    from pyspark.sql import functions as F

    conflicting = F.col("labels") > 1
    row = groups.agg(
        F.count(F.lit(1)).alias("distinct"), F.sum("n").alias("rows"),
        F.count(F.when(F.col("n") > 1, 1)).alias("dup"), F.max("n").alias("largest"),
        F.count(F.when(conflicting, 1)).alias("conflicting"),
        F.sum(F.when(conflicting, F.col("n"))).alias("conflicting_rows"), F.sum("best").alias("best"),
    ).collect()[0]
    return RowCounts(rows=int(row["rows"] or 0), distinct=int(row["distinct"]), duplicate_groups=int(row["dup"]),
                     largest_group=int(row["largest"] or 0), conflicting_groups=int(row["conflicting"]),
                     conflicting_rows=int(row["conflicting_rows"] or 0), best_correct=int(row["best"] or 0))


def overlap_counts(train: DataFrame, test: DataFrame, layout: Layout, test_rows: int) -> OverlapCounts:
    """Test rows whose feature hash occurs in the training table: a semi-join on the hash."""
    from pyspark.sql import functions as F

    train_h = train.select(feature_hash(layout).alias("h")).distinct()
    test_h = test.select(feature_hash(layout).alias("h"))
    inside = test_h.join(train_h, "h", "left_semi").agg(F.count(F.lit(1)).alias("n"),
                                                        F.countDistinct("h").alias("distinct")).collect()[0]
    return OverlapCounts(test_rows=test_rows, overlapping_rows=int(inside["n"]),
                         distinct_overlapping=int(inside["distinct"]))
