"""Orchestration: open each table, stream it through the partial statistics, merge, analyse.

Pass 1 builds the `Partial` (moments, counts, row hashes, the Gram matrix of [1 | X]). One-hot
groups, constant and zero columns are found from it exactly and set aside. When the Gram matrix of
the rest cannot be trusted (equilibrated condition number above 1e4, or rows with missing values)
a second pass streams those columns through TSQR for an R factor. A test table (`test_data`) gets
one pass of its own (no Gram matrix). Nothing but the row-hash arrays grows with the row count.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from mlstablint.data import analyze, linalg, onehot
from mlstablint.data.identity import statistics_digest
from mlstablint.data.partials import (
    TEXT_DISTINCT_CAP,
    Layout,
    Options,
    Partial,
    RFactor,
    block_rows,
    design_block,
    make_layout,
    release_scratch,
)
from mlstablint.data.read import ColumnRetype, DataError, Source, TableRef, display_path, open_source
from mlstablint.dataset import Dataset, Role, TableIdentity
from mlstablint.findings import Report, Severity, ToolError
from mlstablint.thresholds import Thresholds

DATA_RULES = tuple(f"MSL6{i:02d}" for i in range(1, 14))
LABEL_RULES = ("MSL602", "MSL611")
CONDITIONING_RULES = ("MSL603", "MSL604", "MSL605")
# Cells of the bottom-k drift sample of one table.
SAMPLE_CELLS = 8_000_000


@dataclass
class AuditOptions:
    target: str | None = None
    features: list[str] | None = None
    intercept: bool = True
    test_data: TableRef | None = None
    batch_size: int = 1 << 16
    thresholds: Thresholds = field(default_factory=Thresholds)
    enabled: set[str] | None = None  # rules to report (None: all data rules)
    progress: bool = False  # a rich progress bar on stderr (only when it is a terminal)


def severity_lookup() -> Callable[[str], Severity]:
    from mlstablint.catalog import load_catalog

    catalog = load_catalog()

    def severity(rule: str) -> Severity:
        doc = catalog.get(rule)
        return doc.severity if doc is not None else "warning"

    return severity


def audit(sources: list[TableRef], options: AuditOptions | None = None) -> Report:
    """Audit each table; a table that cannot be read becomes a one-line `ToolError`."""
    options = options or AuditOptions()
    report = Report()
    for path in sources:
        try:
            # NaN, ±inf and overflowing products are properties of the data that the rules report (MSL607,
            # MSL608, the overflow note): numpy's RuntimeWarnings about them would only litter stderr.
            with np.errstate(all="ignore"):
                report.extend(audit_one(path, options))
        except DataError as exc:
            report.errors.append(ToolError(exc.path or display_path(path), str(exc)))
        except MemoryError:
            report.errors.append(ToolError(display_path(path), "out of memory while auditing"))
    return report.finalize()


class _Progress:
    """Rows streamed so far, on a terminal only (rich); silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress = None
        self._task = None

    @contextmanager
    def task(self, label: str, total: int | None) -> Iterator[Callable[[int], None]]:
        if not self.enabled:
            yield lambda rows: None
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task(label, total=total)
            yield lambda rows: progress.advance(task, rows)


def _blocks(source: Source, columns: list[str], width: int, read_rows: int) -> Iterator[pa.RecordBatch]:
    """The table in blocks of exactly `block` rows (the last one shorter), however the reader cuts it.

    The statistics are sums over blocks merged in table order, and floating-point addition is not
    associative: with block boundaries fixed by row offset (from the width alone), every figure in the
    report is the same bit for bit whatever `--batch-size` reads the file with.
    """
    block = block_rows(width)
    pending: list[pa.RecordBatch] = []
    have = 0
    for batch in source.batches(columns, max(1, min(read_rows, block))):
        start = 0
        while start < batch.num_rows:
            take = min(block - have, batch.num_rows - start)
            pending.append(batch.slice(start, take))
            have += take
            start += take
            if have == block:
                yield _joined(pending)
                pending, have = [], 0
    if have:
        yield _joined(pending)


def _joined(pieces: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(pieces) == 1:
        return pieces[0]
    # Table.combine_chunks unifies dictionary columns too (pa.concat_batches needs pyarrow >= 19).
    return pa.Table.from_batches(pieces).combine_chunks().to_batches()[0]


def _stream(source: Source, layout_for: Callable[[Source], Layout], options: Options, read_rows: int,
            progress: _Progress, label: str, notes: list[str]) -> tuple[Source, Layout, Partial]:
    """Pass 1 over a source; CSV columns that change type mid-file are widened and the pass restarted."""
    for _attempt in range(64):
        layout = layout_for(source)
        partial = Partial(layout, options)
        try:
            with progress.task(label, source.num_rows) as advance:
                for batch in _blocks(source, layout.columns, len(layout.design) + 1, read_rows):
                    partial.update(batch)
                    partial.compact()
                    advance(batch.num_rows)
            return source, layout, partial
        except ColumnRetype as retype:
            source.column_types[retype.column] = retype.new_type
            kind = "numbers" if pa.types.is_floating(retype.new_type) else "text"
            notes.append(f"{source.display}: column {retype.column!r} changes type within the file: read as {kind}")
    raise DataError("too many columns change type within the file")


def audit_one(path: TableRef, options: AuditOptions) -> Report:
    """Findings, notes and errors of one table (and its test table)."""
    return report_of(analyse_table(path, options), options)


def report_of(ctx: analyze.Context, options: AuditOptions) -> Report:
    """The report of one analysed table: the enabled rules' findings and the notes."""
    enabled = enabled_rules(options)
    return Report(findings=[f for f in ctx.findings if f.rule in enabled], files_checked=1, notes=ctx.notes,
                  dataset=Dataset(list(ctx.identity)) if ctx.identity else None,
                  profiles=[ctx.profile] if ctx.profile else [])


def identity_of(role: Role, source: Source, partial: Partial) -> TableIdentity:
    """A table's identity once its statistics are merged (see mlstablint.dataset)."""
    as_of = source.as_of
    return TableIdentity(role=role, source=source.display, format=source.kind, rows=partial.rows,
                         columns=len(source.schema), structure=source.structure,
                         statistics=statistics_digest(partial), version=source.version, as_of=as_of)


def enabled_rules(options: AuditOptions) -> set[str]:
    return set(DATA_RULES) if options.enabled is None else set(options.enabled) & set(DATA_RULES)


def wants_test(options: AuditOptions, has_test: bool) -> bool:
    return has_test and bool({"MSL612", "MSL613"} & enabled_rules(options))


def sample_rows_for(options: AuditOptions, design_columns: int) -> int:
    """Rows of the bottom-k drift sample: bounded in cells whatever the width."""
    return min(options.thresholds.sample_rows, max(500, SAMPLE_CELLS // max(1, design_columns)))


def pass_one_options(options: AuditOptions, layout: Layout, hashes: bool, has_test: bool) -> Options:
    """What pass 1 over the training table computes (`hashes=False` when the engine counts rows itself)."""
    t = options.thresholds
    enabled = enabled_rules(options)
    p = len(layout.design)
    sample_rows = sample_rows_for(options, p) if wants_test(options, has_test) and "MSL613" in enabled else 0
    conditioning = bool(set(CONDITIONING_RULES) & enabled)
    return Options(gram=p <= t.max_design_columns and conditioning, hashes=hashes,
                   sparse_gram=p > t.max_design_columns and conditioning, sample_rows=sample_rows,
                   class_cap=t.max_classes)


def test_layout(schema: pa.Schema, train: Layout) -> Layout:
    """The test table's layout: the training features, with the same design columns."""
    missing = [c for c in train.features if c not in schema.names]
    if missing:
        shown = ", ".join(repr(c) for c in missing[:8]) + (" …" if len(missing) > 8 else "")
        raise DataError(f"test table lacks training feature column(s): {shown}")
    layout = make_layout(schema, None, list(train.features))
    if layout.design != train.design:
        moved = sorted(set(train.design) ^ set(layout.design))
        raise DataError(f"test table column types differ from training for: {', '.join(map(repr, moved[:8]))}")
    return layout


# The engine-specific passes that `conclude` calls: the R factor of the complete rows of [1 | X][:, cols]
# (with the number of rows used), and the test table's partial with its display name.
SecondPass = Callable[[list[int]], tuple[np.ndarray, int]]
TestPass = Callable[[Layout], tuple[Partial, str]]


def analyse_table(path: TableRef, options: AuditOptions, display: str | None = None,
                  test_display: str | None = None) -> analyze.Context:
    """The whole analysis of one table: merged partials, conditioning, findings (unfiltered) and notes.
    `display` and `test_display` name the tables in findings instead of their paths (e.g. a DataFrame's
    temporary file)."""
    progress = _Progress(options.progress)
    notes: list[str] = []
    source = open_source(path)
    source.display = display or source.display

    def layout_for(src: Source) -> Layout:
        return make_layout(src.effective_schema, options.target, options.features)

    has_test = options.test_data is not None
    part_options = pass_one_options(options, layout_for(source), hashes=True, has_test=has_test)
    source, layout, partial = _stream(source, layout_for, part_options, options.batch_size, progress,
                                      f"auditing {source.display}", notes)
    if partial.rows == 0:
        raise DataError("the table has no rows")
    ctx = analyze.Context(dataset=source.display, partial=partial, thresholds=options.thresholds,
                          intercept=options.intercept, severity=severity_lookup())
    ctx.identity.append(identity_of("train", source, partial))

    def second_pass(full_cols: list[int]) -> tuple[np.ndarray, int]:
        return _tsqr(source, layout, full_cols, options, progress)

    def test_pass(train: Layout) -> tuple[Partial, str]:
        assert options.test_data is not None
        return _test_partial(options.test_data, train, options, progress, notes, test_display, ctx.identity)

    return conclude(ctx, options, notes, second_pass, test_pass if has_test else None)


def conclude(ctx: analyze.Context, options: AuditOptions, notes: list[str], second_pass: SecondPass,
             test_pass: TestPass | None) -> analyze.Context:
    """Everything after pass 1, whatever engine made the merged partial: notes, conditioning (with the
    engine's second pass when the Gram matrix cannot be trusted), the test table, and the rules."""
    t = options.thresholds
    enabled = enabled_rules(options)
    partial, display = ctx.partial, ctx.dataset
    layout = partial.layout
    p = len(layout.design)
    if layout.other:
        described = []
        for name, dtype, distinct in zip(layout.other, layout.other_types, partial.other_distinct, strict=True):
            card = f"{len(distinct)} distinct" if distinct is not None else f"over {TEXT_DISTINCT_CAP} distinct"
            described.append(f"{name!r} ({dtype}, {card})")
        shown = ", ".join(described[:10]) + (f", and {len(described) - 10} more" if len(described) > 10 else "")
        notes.append(f"{display}: left out of the design (not numeric or boolean): {shown}")
    if layout.target is None:
        skipped = [r for r in LABEL_RULES if r in enabled]
        if skipped:
            notes.append(f"{display}: no target given: label checks ({', '.join(skipped)}) skipped")
    elif "MSL611" in enabled and not analyze.is_classification(partial, t):
        kind = "continuous" if layout.target_numeric and not layout.target_discrete else "not a class label"
        notes.append(f"{display}: target {layout.target!r} is {kind} (class labels are integer, boolean or "
                     f"text columns with 2 to {t.max_classes} distinct values): MSL611 skipped")

    sparse = None
    if partial.sparse_gram is not None:
        # Pass 1's work arrays and Arrow's pooled buffers go before the Gram matrix's last fold (a transient of
        # about twice its size) and the Schur complement that follows.
        release_scratch()
        sparse = partial.sparse_gram.result()
    if partial.gram is not None:
        _conditioning(ctx, display, layout, options, second_pass)
    elif sparse is not None and partial.incomplete_rows == 0:
        _conditioning(ctx, display, layout, options, second_pass, sparse)
        notes.append(f"{display}: {p} design columns exceed max-design-columns ({t.max_design_columns}): one-hot "
                     f"and rank checks from the sparse Gram matrix; the conditioning check (MSL605) skipped")
    elif set(CONDITIONING_RULES) & enabled:
        why = ("its Gram matrix is not sparse" if partial.sparse_gram is not None and partial.sparse_gram.too_dense
               else "rows have missing or infinite values" if sparse is not None else "")
        notes.append(f"{display}: {p} design columns exceed max-design-columns ({t.max_design_columns})"
                     f"{' and ' + why if why else ''}: one-hot, rank and conditioning checks "
                     f"({', '.join(CONDITIONING_RULES)}) skipped")

    if test_pass is not None and wants_test(options, True):
        ctx.test, ctx.test_dataset = test_pass(layout)

    analyze.analyse(ctx)
    ctx.notes[:0] = notes
    return ctx


def _conditioning(ctx: analyze.Context, display: str, layout: Layout, options: AuditOptions,
                  second_pass: SecondPass, sparse: Any = None) -> None:
    """One-hot groups from the Gram matrix; rank and conditioning from its Cholesky factor or from TSQR, or
    (a wide design's `sparse` Gram matrix) rank and null directions from it."""
    partial = ctx.partial
    gram = partial.gram if sparse is None else sparse
    assert gram is not None
    kinds = analyze.column_kinds(partial)
    find = onehot.find_groups if sparse is None else onehot.find_groups_sparse
    groups, exhausted = find(gram, kinds["binary"], partial.rows)
    ctx.groups = groups
    if exhausted:
        ctx.notes.append(f"{display}: the one-hot group search hit its budget: some groups may be missed")
    missing = set(kinds["all_missing"])
    present = [j for j in range(len(layout.design)) if j not in missing]
    if not present:
        ctx.notes.append(f"{display}: no design column has a finite value: conditioning skipped")
        return
    # Exactly dependent columns (known from the counts) are left out before any factorisation.
    drops = analyze.exact_drops(partial, groups, options.intercept)
    ctx.exact_drops = drops
    dropped = {j for js in drops.values() for j in js}
    kept = [j for j in present if j not in dropped]
    full_cols = [0, *[j + 1 for j in kept]]
    names = ["(intercept)", *[layout.design[j] for j in kept]]
    ctx.model_columns = names if options.intercept else names[1:]
    if sparse is not None:
        ctx.conditioning = linalg.analyse_sparse(sparse, partial.rows, options.intercept, full_cols,
                                                 known_exact=len(present) - len(kept))
        return
    factor = None
    rows_used = partial.rows
    if partial.incomplete_rows == 0:
        factor = linalg.factor_from_gram(gram[np.ix_(full_cols, full_cols)])
    if factor is None:
        factor, rows_used = second_pass(full_cols)
    if rows_used == 0:
        ctx.notes.append(f"{display}: no row is complete (every row has a missing or infinite value): "
                         f"conditioning skipped")
        return
    if not np.isfinite(factor).all():
        ctx.notes.append(f"{display}: the design's values overflow float64 products: conditioning skipped")
        return
    t = ctx.thresholds
    ctx.conditioning = linalg.analyse(factor, rows_used, options.intercept, [],
                                      condition_index=t.condition_index, variance_proportion=t.variance_proportion,
                                      vif=t.vif, known_exact=len(present) - len(kept))


def tsqr_block(x: np.ndarray) -> np.ndarray:
    """[1 | x] restricted to its complete rows: what TSQR factors (x already holds the kept columns)."""
    block = np.empty((x.shape[0], x.shape[1] + 1))
    block[:, 0] = 1.0
    block[:, 1:] = x
    complete = np.isfinite(block).all(axis=1)
    return block[complete] if not complete.all() else block


def _tsqr(source: Source, layout: Layout, full_cols: list[int], options: AuditOptions, progress: _Progress
          ) -> tuple[np.ndarray, int]:
    """Second pass: the R factor of the complete rows of [1 | X][:, full_cols]."""
    acc = RFactor(len(full_cols))
    design_cols = [c - 1 for c in full_cols if c > 0]
    names = [layout.design[j] for j in design_cols]
    with progress.task(f"TSQR {source.display}", source.num_rows) as advance:
        for batch in _blocks(source, names, len(layout.design) + 1, options.batch_size):
            x, _nulls = design_block(batch, names)
            acc.add(tsqr_block(x))
            advance(batch.num_rows)
    return acc.result(), acc.rows


def _test_partial(path: TableRef, train: Layout, options: AuditOptions, progress: _Progress, notes: list[str],
                  display: str | None = None, identity: list[TableIdentity] | None = None) -> tuple[Partial, str]:
    try:
        source = open_source(path)
    except DataError as exc:
        raise DataError(str(exc), path=display or display_path(path)) from None
    source.display = display = display or source.display

    def layout_for(src: Source) -> Layout:
        return test_layout(src.effective_schema, train)

    sample_rows = sample_rows_for(options, len(train.design))
    try:
        source, _layout, partial = _stream(source, layout_for, Options(gram=False, hashes=True,
                                                                          sample_rows=sample_rows),
                                           options.batch_size, progress, f"auditing {display}", notes)
    except DataError as exc:
        raise DataError(str(exc), path=display) from None
    if partial.rows == 0:
        raise DataError("the test table has no rows", path=display)
    if identity is not None:
        identity.append(identity_of("test", source, partial))
    # The training table's sample size may be smaller (wide tables): both are bounded the same way.
    return partial, display
