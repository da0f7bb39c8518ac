"""Open a data source as a stream of pyarrow record batches, never as a whole table.

Parquet (a file or a directory of parts, through `pyarrow.dataset`), CSV (streamed by
`pyarrow.csv.open_csv`, or a directory of CSV parts), Arrow IPC file / Feather v2 and Arrow IPC
streams, and Delta tables (a folder with a `_delta_log/`, through the `deltalake` package, at its
latest or an `as_of` version). Pickle-based formats are refused without being opened beyond their
first bytes: loading them can execute code.

A table is a local path or a URI (`mlstablint.sources`): `file://` is a local path; other schemes are
read through pyarrow's filesystems (`s3://`, `gs://`, `hdfs://`, `abfs://` where pyarrow was built with
them) or fsspec's (`memory://`, and `s3://` with s3fs, `gs://` with gcsfs, `abfss://` with adlfs) when
installed, else the error names the package to install. A Delta table behind a URI is opened by
deltalake's own object stores.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from mlstablint.sources import DataSource, SourceError, parse_source

# A table as the engines receive it: a local path, or what the user named (a path, a URI).
TableRef = Path | DataSource


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


def table_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] in COMPRESSION_SUFFIXES:
        return suffixes[-2]
    return suffixes[-1] if suffixes else ""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its class name when empty), at most 300 characters."""
    text = str(exc).strip().splitlines()
    line = text[0].strip() if text else exc.__class__.__name__
    return line[:300]


def display_path(path: TableRef, cwd: Path | None = None) -> str:
    """Relative to the current directory when possible, POSIX; a URI or a table name as given."""
    if isinstance(path, DataSource):
        if path.kind != "path":
            return path.text
        path = Path(path.text)
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
    kind: str  # "parquet" | "csv" | "arrow-file" | "arrow-stream" | "delta"
    schema: pa.Schema
    num_rows: int | None
    files: list[Path] = field(default_factory=list)  # parquet parts or CSV files, in order
    # Per-column type overrides for CSV (mixed-type columns re-read as float64 or text).
    column_types: dict[str, pa.DataType] = field(default_factory=dict)
    # Where `path` and `files` live when not on the local disk (a pyarrow filesystem), else None.
    filesystem: pafs.FileSystem | None = None
    # A Delta table's snapshot (a pyarrow dataset) and its version.
    delta: Any = None
    version: int | None = None
    # What the table is without reading its rows: its kind, schema, and the parquet footers' row counts and
    # schemas, or the Delta version (a hex digest; the audit adds a hash of its statistics).
    structure: str = ""
    as_of: str | None = None  # the Delta version or timestamp asked for
    # A one-file parquet table's footer as `open_source` parsed it, handed to the first read and dropped there: a
    # wide table's footer is large (5,000 columns × 7 row groups: ~35 MB parsed) and parsing it twice kept both.
    footer: Any = None

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
        if self.kind == "delta":
            # The snapshot's files in the log's order, one batch at a time (no read-ahead across files).
            yield from self.delta.to_batches(columns=columns, batch_size=max(1, min(batch_size, 1 << 16)),
                                             use_threads=False, batch_readahead=0, fragment_readahead=0)
        elif self.kind == "parquet":
            footer, self.footer = self.footer, None
            for part in self.files:
                yield from parquet_batches(self._open(part), display_path(part), columns, batch_size, footer=footer)
        elif self.kind == "csv":
            for part in self.files:
                yield from _csv_reader(part, self.column_types, columns, self.filesystem)
        elif self.kind == "arrow-file":
            with _map(self.path, self.filesystem) as mm:
                reader = pa.ipc.open_file(mm)
                for i in range(reader.num_record_batches):
                    yield reader.get_batch(i).select(columns)
        else:
            with _map(self.path, self.filesystem) as mm:
                for batch in pa.ipc.open_stream(mm):
                    yield batch.select(columns)

    def _open(self, part: Path) -> Any:
        """A local part by its path, a remote one as a random-access file of its filesystem."""
        return part if self.filesystem is None else self.filesystem.open_input_file(part.as_posix())

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


def parquet_batches(part: Any, display: str, columns: list[str], batch_size: int,
                    row_groups: list[int] | None = None, footer: Any = None) -> Iterator[pa.RecordBatch]:
    """One parquet part's `columns` (of all its row groups, or of `row_groups`), one row group at a time read on
    demand (a dataset scanner reads ahead as far as it likes when the consumer is slow): memory is bounded by a
    row group, not by the file. `part` is a local path or an open random-access file. Every engine reads parquet
    through here (the Spark engine's executors too, `mlstablint.spark.scan`). `footer`: the part's parsed
    metadata, when the caller has it."""
    reader = pq.ParquetFile(part, buffer_size=1 << 20, pre_buffer=False, metadata=footer)
    try:
        present = set(reader.schema_arrow.names)
        missing = [c for c in columns if c not in present]
        if missing:
            raise DataError(f"part {display} lacks column(s) {', '.join(map(repr, missing))}")
        yield from reader.iter_batches(batch_size=max(1, min(batch_size, 1 << 16)), columns=columns,
                                       row_groups=row_groups)
    finally:
        reader.close()


def _csv_options(path: Path) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions]:
    delimiter = "\t" if table_suffix(path) == ".tsv" else ","
    return pacsv.ReadOptions(block_size=1 << 22), pacsv.ParseOptions(delimiter=delimiter)


def _map(path: Path, filesystem: pafs.FileSystem | None) -> Any:
    """An Arrow IPC file: memory-mapped when local, a random-access file of its filesystem otherwise."""
    return pa.memory_map(str(path)) if filesystem is None else filesystem.open_input_file(path.as_posix())


def _csv_input(path: Path, filesystem: pafs.FileSystem | None) -> Any:
    """A local CSV by its path (pyarrow decompresses by suffix), a remote one as a decompressed stream."""
    return path if filesystem is None else filesystem.open_input_stream(path.as_posix(), compression="detect")


def _csv_reader(path: Path, column_types: dict[str, pa.DataType], columns: list[str] | None,
                filesystem: pafs.FileSystem | None = None) -> Iterator[pa.RecordBatch]:
    read_options, parse_options = _csv_options(path)
    convert = pacsv.ConvertOptions(column_types=column_types, include_columns=columns)
    reader = pacsv.open_csv(_csv_input(path, filesystem), read_options=read_options, parse_options=parse_options,
                            convert_options=convert)
    try:
        yield from reader
    finally:
        reader.close()


def _refuse(path: Path) -> None:
    raise DataError(
        "refused: pickle-based files (pickle, joblib, numpy .npy/.npz, torch) can run code when loaded; "
        "export the table to parquet, CSV or Arrow/Feather")


def _head(path: Path, size: int = 8, filesystem: pafs.FileSystem | None = None) -> bytes:
    try:
        if filesystem is not None:
            with filesystem.open_input_stream(path.as_posix(), compression=None) as stream:
                return bytes(stream.read(size))
        with path.open("rb") as fh:
            return fh.read(size)
    except OSError as exc:
        raise DataError(f"cannot read file: {exc.strerror or exc}") from None


def _kind_of_file(path: Path, filesystem: pafs.FileSystem | None = None) -> str:
    suffix = table_suffix(path)
    if suffix in REFUSED_SUFFIXES:
        _refuse(path)
    head = _head(path, filesystem=filesystem)
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
        suffix = table_suffix(part)
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


def open_source(path: TableRef, column_types: dict[str, pa.DataType] | None = None) -> Source:
    """Open a table and read its schema; raise DataError with a one-line reason if it cannot be audited.
    `path` is a local path or a `DataSource` (a path or URI as the user gave it, with its `as_of`)."""
    ref = path if isinstance(path, DataSource) else parse_source(path)
    try:
        local = ref.local_path
    except SourceError as exc:
        raise DataError(str(exc)) from None
    if ref.kind == "table":
        raise DataError("a catalog table is read by the Spark engine (--engine spark), not the local one")
    if local is None:
        return _remote_source(ref, dict(column_types or {}))
    display = display_path(local) if ref.kind == "path" else ref.text
    if (local / "_delta_log").is_dir():
        return _delta_source(str(local.absolute()), local, display, ref.as_of)
    if ref.as_of is not None:
        raise DataError("--as-of reads a Delta table at a version, and this is not a Delta table (no _delta_log/)")
    return _local_source(local, display, dict(column_types or {}))


def _local_source(path: Path, display: str, column_types: dict[str, pa.DataType]) -> Source:
    if not path.exists():
        raise DataError("broken or looping symlink" if path.is_symlink() else "no such file or directory")
    if not path.is_dir() and not path.is_file():
        raise DataError("not a regular file or directory")
    try:
        if path.is_dir():
            kind, parts = _directory_parts(path)
            return _source_of(path, display, kind, parts, column_types, None)
        kind = _kind_of_file(path)
        if kind in ("parquet", "csv"):
            return _source_of(path, display, kind, [path], column_types, None)
        return _arrow_source(path, display, kind, None)
    except DataError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"cannot read {kind if 'kind' in locals() else 'data'}: {first_line(exc)}") from None


def _source_of(path: Path, display: str, kind: str, parts: list[Path], column_types: dict[str, pa.DataType],
               filesystem: pafs.FileSystem | None) -> Source:
    """A parquet or CSV table of `parts` (one file, or a folder's files)."""
    if kind == "parquet":
        return _parquet_source(path, display, parts, filesystem)
    schema = _csv_schema(parts[0], column_types, filesystem)
    return Source(path, display, "csv", schema, None, files=parts, column_types=column_types, filesystem=filesystem,
                  structure=digest("csv", schema.to_string(), *(_size(p, filesystem) for p in parts)))


def _arrow_source(path: Path, display: str, kind: str, filesystem: pafs.FileSystem | None) -> Source:
    with _map(path, filesystem) as mm:
        if kind == "arrow-file":
            try:
                reader = pa.ipc.open_file(mm)
            except pa.ArrowInvalid:
                kind = "arrow-stream"
            else:
                rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
                return Source(path, display, kind, reader.schema, rows, filesystem=filesystem,
                              structure=digest(kind, reader.schema.to_string(), str(rows)))
        if filesystem is not None:  # a remote stream: reopen it from the start
            mm.seek(0)
        stream = pa.ipc.open_stream(mm)
        return Source(path, display, "arrow-stream", stream.schema, None, filesystem=filesystem,
                      structure=digest("arrow-stream", stream.schema.to_string(), _size(path, filesystem)))


def digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def _size(path: Path, filesystem: pafs.FileSystem | None) -> str:
    if filesystem is None:
        return str(path.stat().st_size)
    return str(filesystem.get_file_info(path.as_posix()).size)


# The package that gives pyarrow a filesystem for a scheme through fsspec, for the error that names it.
_FSSPEC_PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "abfs": "adlfs", "abfss": "adlfs",
                    "az": "adlfs", "adl": "adlfs", "hdfs": "fsspec (with pyarrow's HDFS support)", "http": "aiohttp",
                    "https": "aiohttp"}


def _filesystem(ref: DataSource) -> tuple[pafs.FileSystem, str]:
    """pyarrow's own filesystem for the URI when it has one, else fsspec's (wrapped for pyarrow)."""
    if ref.scheme == "dbfs":
        raise DataError("dbfs:/ is reachable from a Databricks cluster only: audit it there with --engine spark, "
                        "or through the /dbfs/ mount of the driver")
    try:
        return pafs.FileSystem.from_uri(ref.text)  # type: ignore[no-any-return]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError) as native:
        reason = first_line(native)
    try:
        import fsspec
    except ImportError:
        package = _FSSPEC_PACKAGES.get(ref.scheme or "", "fsspec")
        raise DataError(f"reading {ref.scheme}:// tables needs fsspec and {package} (pip install fsspec "
                        f"{package.split()[0]}); pyarrow says: {reason}") from None
    try:
        fs, inner = fsspec.core.url_to_fs(ref.text)
    except ImportError as exc:
        package = _FSSPEC_PACKAGES.get(ref.scheme or "", str(exc.name or "its filesystem package"))
        raise DataError(f"reading {ref.scheme}:// tables needs {package} (pip install {package.split()[0]})") from None
    except (ValueError, OSError) as exc:
        raise DataError(f"cannot open {ref.scheme}:// : {first_line(exc)}") from None
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), str(inner)


def _remote_source(ref: DataSource, column_types: dict[str, pa.DataType]) -> Source:
    """A table behind a URI: Delta through deltalake's object stores, files through a pyarrow filesystem."""
    filesystem, inner = _filesystem(ref)
    where = PurePosixPath(inner)
    path = Path(inner)
    try:
        info = filesystem.get_file_info(inner)
        if info.type == pafs.FileType.NotFound:
            raise DataError("no such file or directory")
        if info.type == pafs.FileType.Directory:
            if filesystem.get_file_info(str(where / "_delta_log")).type == pafs.FileType.Directory:
                return _delta_source(ref.text, path, ref.text, ref.as_of)
            if ref.as_of is not None:
                raise DataError("--as-of reads a Delta table at a version, and this is not a Delta table "
                                "(no _delta_log/)")
            kind, parts = _remote_parts(filesystem, inner)
            return _source_of(path, ref.text, kind, parts, column_types, filesystem)
        if ref.as_of is not None:
            raise DataError("--as-of reads a Delta table at a version, and this is a file")
        kind = _kind_of_file(path, filesystem)
        if kind in ("parquet", "csv"):
            return _source_of(path, ref.text, kind, [path], column_types, filesystem)
        return _arrow_source(path, ref.text, kind, filesystem)
    except DataError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"cannot read {ref.text}: {first_line(exc)}") from None


def _remote_parts(filesystem: pafs.FileSystem, inner: str) -> tuple[str, list[Path]]:
    """The data files under a remote folder (hidden and `_`-prefixed names skipped, as locally)."""
    top = PurePosixPath(inner)
    infos = filesystem.get_file_info(pafs.FileSelector(inner, recursive=True))
    parts = []
    for info in infos:
        rel = PurePosixPath(info.path).relative_to(top) if PurePosixPath(info.path).is_relative_to(top) else None
        if info.type != pafs.FileType.File or rel is None or any(p.startswith((".", "_")) for p in rel.parts):
            continue
        parts.append(Path(info.path))
    parts.sort(key=lambda p: p.as_posix())
    if not parts:
        raise DataError("no data files in directory")
    kinds = set()
    for part in parts:
        suffix = table_suffix(part)
        head = _head(part, filesystem=filesystem)
        if suffix in REFUSED_SUFFIXES or looks_like_pickle(head):
            _refuse(part)
        kinds.add("parquet" if suffix in PARQUET_SUFFIXES or head[:4] == b"PAR1" else
                  "csv" if suffix in CSV_SUFFIXES else suffix or part.name)
    if kinds in ({"parquet"}, {"csv"}):
        return kinds.pop(), parts
    raise DataError(f"directory mixes file kinds ({', '.join(sorted(kinds))}); expected parquet or CSV parts only")


@dataclass(frozen=True)
class DeltaSnapshot:
    """One version of a Delta table as deltalake reads it: what both engines audit and name."""

    table: Any  # deltalake.DeltaTable, loaded at the version read
    dataset: Any  # its pyarrow dataset (deletion vectors, partition values and column mapping applied)
    version: int
    rows: int | None  # from the log's per-file statistics
    structure: str  # the version, schema and row count (a hex digest): the structure part of the identity

    @property
    def files(self) -> list[str]:
        """The version's data files (absolute paths for a local table, else URIs with their scheme)."""
        return [str(uri) for uri in self.table.file_uris()]

    @property
    def partition_columns(self) -> list[str]:
        return [str(c) for c in self.table.metadata().partition_columns]

    @property
    def reader_features(self) -> set[str]:
        """What reading the files needs besides parquet: column mapping (reader version 2) and the reader
        features the log declares (version 3: deletionVectors, columnMapping, typeWidening...)."""
        protocol = self.table.protocol()
        features = set(protocol.reader_features or ())
        if protocol.min_reader_version == 2:
            features.add("columnMapping")
        return features


def delta_snapshot(uri: str, as_of: str | None) -> DeltaSnapshot:
    """A Delta table at its latest version or at `as_of` (a version number or a timestamp), through deltalake."""
    try:
        from deltalake import DeltaTable
    except ImportError:
        raise DataError("this is a Delta table (it has a _delta_log/): reading it needs the deltalake package "
                        "(pip install 'mlstablint[delta]')") from None
    from mlstablint.sources import parse_as_of

    try:
        when = parse_as_of(as_of)
    except SourceError as exc:
        raise DataError(str(exc)) from None
    try:
        table = DeltaTable(uri, version=when) if isinstance(when, int) or when is None else DeltaTable(uri)
        if isinstance(when, str):  # the last version committed at or before that time (UTC unless it says)
            from datetime import datetime, timezone

            moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
            table.load_as_version(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
        dataset = table.to_pyarrow_dataset()
        rows = _delta_rows(table)
    except Exception as exc:  # delta-rs raises its own classes (TableNotFoundError, DeltaError, OSError...)
        if isinstance(exc, (MemoryError, KeyboardInterrupt)):
            raise
        raise DataError(f"cannot read Delta table: {first_line(exc)}") from None
    version = int(table.version())
    return DeltaSnapshot(table, dataset, version, rows,
                         digest("delta", str(version), dataset.schema.to_string(), str(rows)))


def _delta_source(uri: str, path: Path, display: str, as_of: str | None) -> Source:
    """A Delta table's snapshot as a source (see `delta_snapshot`)."""
    snap = delta_snapshot(uri, as_of)
    return Source(path, display, "delta", snap.dataset.schema, snap.rows, delta=snap.dataset, version=snap.version,
                  as_of=as_of, structure=snap.structure)


def _delta_rows(table: Any) -> int | None:
    """The snapshot's row count from the log's per-file statistics (None when a file has none)."""
    actions = pa.table(table.get_add_actions(flatten=True))
    if "num_records" not in actions.column_names:
        return None
    counts = actions.column("num_records")
    return None if counts.null_count else int(pa.compute.sum(counts).as_py() or 0)


def _parquet_source(path: Path, display: str, parts: list[Path], filesystem: pafs.FileSystem | None) -> Source:
    """Schema of the first part (the others must hold its columns) and the row count from the footers."""
    rows = 0
    schema = None
    footers = ["parquet"]
    for part in parts:
        # The schema from the reader, not `meta.schema`: that one and the footer refer to each other, and the
        # footer (~35 MB at 5,000 columns) would wait for the cycle collector.
        with pq.ParquetFile(part if filesystem is None else filesystem.open_input_file(part.as_posix())) as reader:
            meta, arrow_schema = reader.metadata, reader.schema_arrow
        rows += meta.num_rows
        if schema is None:
            schema = arrow_schema
        footers += [str(meta.num_rows), str(meta.num_row_groups), arrow_schema.to_string()]
    assert schema is not None
    return Source(path, display, "parquet", schema, rows, files=parts, filesystem=filesystem,
                  structure=digest(*footers), footer=meta if len(parts) == 1 else None)


def _csv_schema(path: Path, column_types: dict[str, pa.DataType], filesystem: pafs.FileSystem | None = None
                ) -> pa.Schema:
    reader = None
    try:
        read_options, parse_options = _csv_options(path)
        reader = pacsv.open_csv(_csv_input(path, filesystem), read_options=read_options, parse_options=parse_options,
                                convert_options=pacsv.ConvertOptions(column_types=column_types))
        return reader.schema
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            raise DataError("the table has no rows (empty CSV file)") from None
        raise
    finally:
        if reader is not None:
            reader.close()
