"""Open a data source as a stream of pyarrow record batches, never as a whole table.

Parquet (a file or a directory of parts, through `pyarrow.dataset`), CSV (streamed by
`pyarrow.csv.open_csv`, or a directory of CSV parts), Arrow IPC file / Feather v2 and Arrow IPC
streams. Pickle-based formats are refused without being opened beyond their first bytes: loading
them can execute code.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


class DataError(Exception):
    """A data source that cannot be audited: reported as one line naming the source, exit 2."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path  # the source's display path when it is not the table being audited


class ColumnRetype(Exception):
    """A CSV column changed type after the first block: re-read the source with `column` as `new_type`."""

    def __init__(self, column: str, new_type: pa.DataType) -> None:
        super().__init__(column)
        self.column = column
        self.new_type = new_type


PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv", ".tsv")
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zst", ".lz4")
ARROW_SUFFIXES = (".arrow", ".feather", ".ipc", ".arrows")
# Formats whose loaders can run code (pickle inside) or that hold pickled objects.
REFUSED_SUFFIXES = (".pkl", ".pickle", ".joblib", ".jbl", ".npy", ".npz", ".dill", ".pt", ".pth", ".sav")

_PICKLE_PROTOCOLS = {2, 3, 4, 5}


def looks_like_pickle(head: bytes) -> bool:
    """Pickle protocol ≥2 (b'\\x80' + protocol byte), a numpy .npy header, or a zlib stream (joblib)."""
    if len(head) >= 2 and head[0] == 0x80 and head[1] in _PICKLE_PROTOCOLS:
        return True
    if head.startswith(b"\x93NUMPY"):
        return True
    return len(head) >= 2 and head[0] == 0x78 and head[1] in (0x01, 0x5E, 0x9C, 0xDA)


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] in COMPRESSION_SUFFIXES:
        return suffixes[-2]
    return suffixes[-1] if suffixes else ""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its class name when empty), at most 300 characters."""
    text = str(exc).strip().splitlines()
    line = text[0].strip() if text else exc.__class__.__name__
    return line[:300]


def display_path(path: Path, cwd: Path | None = None) -> str:
    """Relative to the current directory when possible, POSIX."""
    cwd = cwd or Path.cwd()
    try:
        return Path(os.path.relpath(path.absolute(), cwd)).as_posix()
    except ValueError:  # another drive on Windows
        return path.absolute().as_posix()


@dataclass
class Source:
    """An opened data source: its schema, and batches on demand (each call re-reads the source)."""

    path: Path
    display: str
    kind: str  # "parquet" | "csv" | "arrow-file" | "arrow-stream"
    schema: pa.Schema
    num_rows: int | None
    files: list[Path] = field(default_factory=list)  # parquet parts or CSV files, in order
    # Per-column type overrides for CSV (mixed-type columns re-read as float64 or text).
    column_types: dict[str, pa.DataType] = field(default_factory=dict)

    @property
    def effective_schema(self) -> pa.Schema:
        """The schema with the CSV type overrides applied (what `batches` yields)."""
        schema = self.schema
        for name, dtype in self.column_types.items():
            index = schema.get_field_index(name)
            if index >= 0:
                schema = schema.set(index, pa.field(name, dtype))
        return schema

    def batches(self, columns: list[str], batch_size: int) -> Iterator[pa.RecordBatch]:
        """Record batches of at most `batch_size` rows holding `columns`, in table order."""
        try:
            for batch in self._raw_batches(columns, batch_size):
                if batch.num_rows <= batch_size:
                    if batch.num_rows:
                        yield batch
                    continue
                for start in range(0, batch.num_rows, batch_size):
                    yield batch.slice(start, batch_size)
        except ColumnRetype:
            raise
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            retype = self._retype_for(exc)
            if retype is not None:
                raise retype from None
            raise DataError(f"cannot read {self.kind}: {first_line(exc)}") from None
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError(f"cannot read {self.kind}: {first_line(exc)}") from None

    def _raw_batches(self, columns: list[str], batch_size: int) -> Iterator[pa.RecordBatch]:
        if self.kind == "parquet":
            # One row group at a time, read on demand (a dataset scanner reads ahead as far as it likes
            # when the consumer is slow): memory is bounded by a row group, not by the file.
            for part in self.files:
                reader = pq.ParquetFile(part, buffer_size=1 << 20, pre_buffer=False)
                try:
                    present = set(reader.schema_arrow.names)
                    missing = [c for c in columns if c not in present]
                    if missing:
                        raise DataError(f"part {display_path(part)} lacks column(s) {', '.join(map(repr, missing))}")
                    yield from reader.iter_batches(batch_size=max(1, min(batch_size, 1 << 16)), columns=columns)
                finally:
                    reader.close()
        elif self.kind == "csv":
            for part in self.files:
                yield from _csv_reader(part, self.column_types, columns)
        elif self.kind == "arrow-file":
            with pa.memory_map(str(self.path)) as mm:
                reader = pa.ipc.open_file(mm)
                for i in range(reader.num_record_batches):
                    yield reader.get_batch(i).select(columns)
        else:
            with pa.memory_map(str(self.path)) as mm:
                for batch in pa.ipc.open_stream(mm):
                    yield batch.select(columns)

    def _retype_for(self, exc: BaseException) -> ColumnRetype | None:
        """A CSV conversion error in a later block: widen that column (int → float64 → text)."""
        if self.kind != "csv":
            return None
        import re

        m = re.search(r"In CSV column #(\d+): CSV conversion error to (\w+)", str(exc))
        if not m:
            return None
        index = int(m.group(1))
        if index >= len(self.schema):
            return None
        name = self.schema.field(index).name
        current = self.column_types.get(name, self.schema.field(index).type)
        if pa.types.is_string(current) or pa.types.is_large_string(current):
            return None
        widened = pa.float64() if (pa.types.is_integer(current) or pa.types.is_null(current)) else pa.string()
        return ColumnRetype(name, widened)


def _csv_options(path: Path) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions]:
    delimiter = "\t" if _suffix(path) == ".tsv" else ","
    return pacsv.ReadOptions(block_size=1 << 22), pacsv.ParseOptions(delimiter=delimiter)


def _csv_reader(path: Path, column_types: dict[str, pa.DataType], columns: list[str] | None
                ) -> Iterator[pa.RecordBatch]:
    read_options, parse_options = _csv_options(path)
    convert = pacsv.ConvertOptions(column_types=column_types, include_columns=columns)
    reader = pacsv.open_csv(path, read_options=read_options, parse_options=parse_options, convert_options=convert)
    try:
        yield from reader
    finally:
        reader.close()


def _refuse(path: Path) -> None:
    raise DataError(
        "refused: pickle-based files (pickle, joblib, numpy .npy/.npz, torch) can run code when loaded; "
        "export the table to parquet, CSV or Arrow/Feather")


def _head(path: Path, size: int = 8) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except OSError as exc:
        raise DataError(f"cannot read file: {exc.strerror or exc}") from None


def _kind_of_file(path: Path) -> str:
    suffix = _suffix(path)
    if suffix in REFUSED_SUFFIXES:
        _refuse(path)
    head = _head(path)
    if looks_like_pickle(head) and suffix not in CSV_SUFFIXES:
        _refuse(path)
    if suffix in PARQUET_SUFFIXES or head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"FEA1"):
        raise DataError("Feather v1 files are not supported: re-save the table as Feather v2 (Arrow IPC) or parquet")
    if head.startswith(b"ARROW1"):
        return "arrow-file"
    if suffix in ARROW_SUFFIXES:
        return "arrow-stream" if suffix == ".arrows" or not head.startswith(b"ARROW1") else "arrow-file"
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise DataError("unsupported data format (expected parquet, CSV, or Arrow IPC/Feather)")


def _inside(part: Path, top: Path) -> bool:
    """A regular file whose real location is under `top`: links out of the directory are not followed,
    and a FIFO would block the reader until some writer comes."""
    try:
        real = part.resolve(strict=True)
    except (OSError, RuntimeError):  # broken or looping link
        return False
    return real.is_file() and top in real.parents


def _directory_parts(path: Path) -> tuple[str, list[Path]]:
    parts: list[Path] = []
    top = path.resolve()
    for root, dirs, files in os.walk(path):  # does not descend into linked directories
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        parts.extend(Path(root) / f for f in sorted(files) if not f.startswith((".", "_")))
    parts = [part for part in parts if _inside(part, top)]
    if not parts:
        raise DataError("no data files in directory")
    kinds = set()
    for part in parts:
        suffix = _suffix(part)
        if suffix in REFUSED_SUFFIXES or looks_like_pickle(_head(part)):
            _refuse(part)
        if suffix in PARQUET_SUFFIXES or _head(part, 4) == b"PAR1":
            kinds.add("parquet")
        elif suffix in CSV_SUFFIXES:
            kinds.add("csv")
        else:
            kinds.add(suffix or part.name)
    if kinds == {"parquet"}:
        return "parquet", parts
    if kinds == {"csv"}:
        return "csv", parts
    raise DataError(f"directory mixes file kinds ({', '.join(sorted(kinds))}); expected parquet or CSV parts only")


def open_source(path: Path, column_types: dict[str, pa.DataType] | None = None) -> Source:
    """Open `path` and read its schema; raise DataError with a one-line reason if it cannot be audited."""
    display = display_path(path)
    column_types = dict(column_types or {})
    if not path.exists():
        raise DataError("broken or looping symlink" if path.is_symlink() else "no such file or directory")
    if not path.is_dir() and not path.is_file():
        raise DataError("not a regular file or directory")
    try:
        if path.is_dir():
            kind, parts = _directory_parts(path)
            if kind == "parquet":
                return _parquet_source(path, display, parts)
            return Source(path, display, "csv", _csv_schema(parts[0], column_types), None, files=parts,
                          column_types=column_types)
        kind = _kind_of_file(path)
        if kind == "parquet":
            return _parquet_source(path, display, [path])
        if kind == "csv":
            return Source(path, display, kind, _csv_schema(path, column_types), None, files=[path],
                          column_types=column_types)
        with pa.memory_map(str(path)) as mm:
            if kind == "arrow-file":
                try:
                    reader = pa.ipc.open_file(mm)
                except pa.ArrowInvalid:
                    kind = "arrow-stream"
                else:
                    rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
                    return Source(path, display, kind, reader.schema, rows)
            stream = pa.ipc.open_stream(mm)
            return Source(path, display, "arrow-stream", stream.schema, None)
    except DataError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"cannot read {kind if 'kind' in locals() else 'data'}: {first_line(exc)}") from None


def _parquet_source(path: Path, display: str, parts: list[Path]) -> Source:
    """Schema of the first part (the others must hold its columns) and the row count from the footers."""
    rows = 0
    schema = None
    for part in parts:
        meta = pq.read_metadata(part)
        rows += meta.num_rows
        if schema is None:
            schema = meta.schema.to_arrow_schema()
    assert schema is not None
    return Source(path, display, "parquet", schema, rows, files=parts)


def _csv_schema(path: Path, column_types: dict[str, pa.DataType]) -> pa.Schema:
    reader = None
    try:
        reader = pacsv.open_csv(path, read_options=_csv_options(path)[0], parse_options=_csv_options(path)[1],
                                convert_options=pacsv.ConvertOptions(column_types=column_types))
        return reader.schema
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            raise DataError("the table has no rows (empty CSV file)") from None
        raise
    finally:
        if reader is not None:
            reader.close()
