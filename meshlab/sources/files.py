"""Parquet, CSV and newline-delimited JSON files, local or anywhere fsspec reaches.

File scans stay native Polars scans: Polars pushes projections, predicates
and slices into its own readers (measured: wrapping a parquet scan in a
Python IO source costs 1.5x on TPC-H SF1), so the plan records what the scan
is given and Polars applies it.
"""

from __future__ import annotations

import functools
import glob
import io
import json
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import polars as pl
import pyarrow.parquet as pq
from sqlglot import exp

from meshlab.catalog.contract import Dataset
from meshlab.catalog.storage import filesystem, fsspec_options, polars_options
from meshlab.errors import SchemaDriftError, SourceError, SourceTimeoutError
from meshlab.limits import seconds_text, timeout_in
from meshlab.sources.base import Pushdown, ScanSpec, ScanStats, Source, casts_to_contract, column_dtype
from meshlab.sources.drift import check_drift, touched_columns
from meshlab.sources.file_estimates import GLOB_CHARS, file_scan_bytes, parquet_column_bytes
from meshlab.sources.malformed import csv_rows, malformed_rows
from meshlab.sources.spi import SourceContext, SourceKind
from meshlab.sources.statistics import TableStatistics, parquet_statistics, with_partitions
from meshlab.sources.text_cache import TextCache, TextCacheSettings, TextRead, text_cache

# Protocols Polars' readers open themselves; others go through fsspec.
NATIVE_PROTOCOLS = ("file", "local", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "http", "https", "hf")
PARQUET_MAGIC = b"PAR1"
#: a typical CSV/JSON row's size, to guess a row count from file sizes
BYTES_PER_TEXT_ROW = 100
#: rows of a CSV file read to tell what its text holds (schema checks)
CSV_SAMPLE_ROWS = 10_000
#: what a CSV row that does not fit the contract does: fail the query (naming it) or is skipped and counted
MALFORMED_ROWS = ("fail", "skip")
# Polars' HTTP reads ignore its timeout options: measured, a server that accepts and never
# answers held a footer read for over a minute. Their files are listed through fsspec first.
UNBOUNDED_PROTOCOLS = ("http", "https")


def _protocol(path: str) -> str:
    return path.split("://", 1)[0].lower() if "://" in path else "file"


def _with_partitions(frames: list[pl.LazyFrame], paths: list[str]) -> pl.LazyFrame:
    """Hive ``key=value`` folders as columns, for files Polars reads as buffers."""
    tagged = []
    for frame, path in zip(frames, paths):
        parts = [p.split("=", 1) for p in path.split("/")[:-1] if "=" in p]
        tagged.append(frame.with_columns(pl.lit(v).alias(k) for k, v in parts) if parts else frame)
    return pl.concat(tagged, how="diagonal_relaxed")


def _ndjson_readable(dtype: pl.DataType) -> pl.DataType:
    """A type Polars' NDJSON reader builds, for a column the contract types ``dtype``."""
    if isinstance(dtype, pl.Time):
        return pl.String()
    return pl.Float64() if isinstance(dtype, pl.Decimal) else dtype


class FileSource(Source):
    """One dataset stored as files of one format."""

    kind = "files"
    text_dates = True
    spark_read = "files"

    def __init__(
        self,
        dataset: Dataset,
        storage_options: Mapping[str, Any] | None = None,
        malformed_rows: str = "fail",
        text_cache: TextCacheSettings | None = None,
    ):
        super().__init__(dataset)
        # CSV and NDJSON files read through parquet copies (meshlab.sources.text_cache).
        self.text_cache = text_cache or TextCacheSettings()
        # The contract's server (customProperties malformedRows) overrides the mesh's default.
        self.malformed_rows = (dataset.server.property("malformedRows") or malformed_rows).lower()
        if self.malformed_rows not in MALFORMED_ROWS:
            raise SourceError(
                dataset.address,
                dataset.server.name,
                f"malformedRows must be {' or '.join(MALFORMED_ROWS)}, not '{self.malformed_rows}'",
            )
        self.skipped: list[str] = []
        # Object-store options from mesh.yaml (endpoint, region; never credentials).
        self.storage_options = dict(storage_options or {})
        self.format = dataset.server.format or "parquet"
        self.path = dataset.server.path or ""

    def pushdown(self, predicate: exp.Expression) -> Pushdown:
        # Polars prunes parquet row groups and hive partitions by statistics
        # and filters exactly in the reader; CSV/JSON are filtered after reading.
        return Pushdown.INEXACT if self.format == "parquet" else Pushdown.UNSUPPORTED

    def can_limit(self) -> bool:
        return True

    def files(self) -> list[str]:
        """The files the dataset's path names now; an error if there are none."""
        try:
            fs, root = self.filesystem()
            found = sorted(fs.glob(root)) if any(c in root for c in GLOB_CHARS) else ([root] if fs.exists(root) else [])
            if not any(c in root for c in GLOB_CHARS) and found and fs.isdir(root):
                found = sorted(p for p in fs.find(root) if not p.rsplit("/", 1)[-1].startswith((".", "_")))
        except Exception as exc:  # noqa: BLE001 - OSError, ValueError, and object stores' own (botocore, aiohttp)
            raise SourceError(self.dataset.address, self.server_label, f"cannot list {self.path}: {exc}") from exc
        if not found and _protocol(self.path) in UNBOUNDED_PROTOCOLS:
            self._raise_timeout(fs, root)
        if not found:
            raise SourceError(self.dataset.address, self.server_label, f"no file matches {self.path}")
        protocol = _protocol(self.path)
        return found if protocol == "file" else [f"{protocol}://{p}" if "://" not in p else p for p in found]

    def _raise_timeout(self, fs, root: str) -> None:
        """A :class:`SourceTimeoutError` if the server did not answer (fsspec's HTTP says "missing")."""
        try:
            fs.info(root)
        except Exception as exc:  # noqa: BLE001 - only a timeout is looked for
            if timeout_in(exc) is not None:
                raise SourceTimeoutError(
                    self.dataset.address,
                    self.server_label,
                    f"no answer from {self.path} within {seconds_text(self.limits.metadata)} (timeouts.metadata)",
                ) from None

    def _read_target(self):
        """What to hand Polars: the path itself, or fsspec file objects."""
        if _protocol(self.path) in NATIVE_PROTOCOLS:
            if _protocol(self.path) in UNBOUNDED_PROTOCOLS:
                self.files()  # fails within the time limits where Polars' own request would hang
            # Polars lists the files itself; a run that fails calls check().
            return self.path.removeprefix("file://")
        fs = self.filesystem()[0]
        return [fs.open(p, "rb") for p in self.files()]

    def _frame(self) -> pl.LazyFrame:
        if self.format == "json" and self._json_documents():
            # JSON documents (an array of objects per file), not NDJSON: read whole, one frame per file.
            fs = self.filesystem()[0]
            frames = [pl.read_json(fs.open(p, "rb")).lazy() for p in self.files()]
            return _with_partitions(frames, self.files())
        target = self._read_target()
        if isinstance(target, list):
            return _with_partitions([self._read_one(handle) for handle in target], self.files())
        if self.format != "parquet" and any(c in target for c in GLOB_CHARS):
            # CSV/NDJSON files of one dataset may differ in columns: each is scanned on its own and
            # the scans stacked by name, a column a file lacks being null there.
            files = self.files()
            return _with_partitions([self._read_one(f.removeprefix("file://")) for f in files], files)
        return self._read_one(target)

    def _json_documents(self) -> bool:
        """Whether the dataset's JSON files hold documents (an array, or one object over several
        lines) rather than one object per line (NDJSON).

        The contract says so with ``delimiter: array`` (S3, Azure, SFTP servers);
        otherwise the first line of the first file tells: NDJSON's is a whole JSON value.
        """
        if self.dataset.server.json_document:
            return True
        with self.filesystem()[0].open(self.files()[0], "rb") as handle:
            head: bytes = handle.read(1 << 16).lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"["):
            return True
        first = head.split(b"\n", 1)[0]
        try:
            json.loads(first)
        except ValueError:
            return head.startswith(b"{")
        return False

    def _overrides(self) -> dict[str, pl.DataType]:
        """The types the contract dictates, which the text readers are told."""
        return {c.name: dtype for c in self.dataset.columns if (dtype := column_dtype(c)) is not None}

    def _read_one(self, target) -> pl.LazyFrame:
        overrides = self._overrides()
        if self.format == "parquet":
            # A file lacking a column of the first file reads it as null (the schema check then reports it).
            return pl.scan_parquet(
                target,
                hive_partitioning=isinstance(target, str),
                storage_options=self.polars_options(target),
                missing_columns="insert",
            )
        if self.format == "csv" and self.malformed_rows == "skip":
            return self._read_skipping(target)
        if self.format == "csv":
            return pl.scan_csv(
                target,
                separator=self.dataset.server.delimiter,
                schema_overrides=overrides,
                try_parse_dates=False,
                storage_options=self.polars_options(target),
            )
        # Polars 2.1's NDJSON reader panics on a Time override (read the text: the contract cast parses
        # it) and builds no Decimal from a JSON number (read a float: the contract cast rounds it to scale).
        readable = {name: _ndjson_readable(dtype) for name, dtype in overrides.items()}
        return pl.scan_ndjson(target, schema_overrides=readable, storage_options=self.polars_options(target))

    def _read_skipping(self, target) -> pl.LazyFrame:
        """A CSV read row by row, without the rows that do not fit the contract (counted in ``skipped``).

        Slower than Polars' reader (Python's csv module): the price of naming and counting each row.
        """
        handle = self.filesystem()[0].open(target, "rb") if isinstance(target, str) else target
        text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        columns = {c.name: c for c in self.dataset.columns}
        rows = csv_rows(text, columns, self.dataset.server.delimiter or ",")
        header, _ = next(rows, ([], None))
        kept: list[list[str]] = []
        skipped: list[str] = []
        for row, problem in rows:
            if problem:
                skipped.append(problem)
            else:
                kept.append(row)
        self.skipped += [f"{getattr(handle, 'path', target)} {p}" for p in skipped]
        frame = pl.DataFrame(
            [list(col) for col in zip(*kept)] or None, schema=dict.fromkeys(header, pl.String), orient="col"
        )
        frame = frame.with_columns(pl.col(header).replace("", None))
        casts = casts_to_contract(frame.schema, columns)  # every kept row fits: the casts lose nothing
        return (frame.with_columns(casts) if casts else frame).lazy()

    @property
    def fsspec_options(self) -> dict[str, Any]:
        return fsspec_options(self.path, self.storage_options, self.limits)

    def filesystem(self):
        """fsspec's filesystem of the dataset's path, and the path in it; calls bounded by the time limits."""
        return filesystem(self.path, self.storage_options, self.limits)

    def polars_options(self, target) -> dict[str, Any] | None:
        """Options for Polars' own reader of ``target`` (None for file objects)."""
        return polars_options(target, self.storage_options, self.limits) if isinstance(target, str) else None

    @property
    def base_frame(self) -> pl.LazyFrame:
        """The scan of every file of the dataset.

        Polars lists the files and reads their footers when a scan is first resolved,
        and keeps that in the frame. Local files: the frame is reused while the files'
        paths, sizes and modification times stay the same (checking costs a directory
        walk; resolving again cost about 3 ms a query on TPC-H SF1's partitioned
        lineitem). Elsewhere every query gets a fresh scan, so a partition published
        since the last query is read.
        """
        try:
            signature = self._local_signature()
            cached = self._reused
            if signature is not None and cached is not None and cached[0] == signature:
                return cached[1]
            if signature is not None and self.format == "parquet":
                self._check_parquet_files(signature)
            self.skipped = []
            frame = self._frame()
            self._reused = None if signature is None else (signature, frame)
            return frame
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - any reader failure is this source's failure
            raise SourceError(self.dataset.address, self.server_label, f"cannot read {self.path}: {exc}") from exc

    _reused: tuple[tuple, pl.LazyFrame] | None = None
    _schema: tuple[pl.LazyFrame, pl.Schema] | None = None
    _text_read: TextRead | None = None
    _text_fallback: str | None = None

    def _check_parquet_files(self, signature: tuple) -> None:
        """Refuse an empty or truncated parquet file: Polars would skip it, or fail mid-query.

        A parquet file ends with its footer and the magic bytes ``PAR1``; a file
        being written, cut short or emptied does not.
        """
        for path, size, _ in signature:
            if os.path.basename(path).startswith((".", "_")):
                continue  # _SUCCESS, .crc and the like: not data files
            if size == 0:
                raise SourceError(self.dataset.address, self.server_label, f"parquet file {path} is empty (0 bytes)")
            try:
                with open(path, "rb") as handle:
                    handle.seek(max(size - 4, 0))
                    tail = handle.read(4)
            except OSError as exc:
                raise SourceError(self.dataset.address, self.server_label, f"cannot read {path}: {exc}") from exc
            if size < 12 or tail != PARQUET_MAGIC:
                raise SourceError(
                    self.dataset.address,
                    self.server_label,
                    f"parquet file {path} is truncated or not parquet (no footer at its end, {size} bytes)",
                )

    def _local_signature(self) -> tuple | None:
        """Path, size and modification time of every local file the dataset's path names
        (more than Polars reads is fine: it can only make the frame be rebuilt), or None
        for files that are not local."""
        if _protocol(self.path) not in ("file", "local"):
            return None
        root = self.path.split("://", 1)[-1]
        if any(c in root for c in GLOB_CHARS):
            paths = glob.glob(root, recursive=True)
        elif os.path.isdir(root):
            paths = [os.path.join(folder, name) for folder, _, names in os.walk(root) for name in names]
        else:
            paths = [root]
        signature = []
        for path in sorted(paths):
            try:
                info = os.stat(path)
            except OSError:
                return None  # gone while listing: let the fresh scan report it
            signature.append((path, info.st_size, info.st_mtime_ns))
        return tuple(signature)

    @property
    def file_schema(self) -> pl.Schema:
        """The schema of the files as they are now (resolved again when they change)."""
        frame = self.base_frame
        cached = self._schema
        if cached is not None and cached[0] is frame:
            return cached[1]
        try:
            schema = frame.collect_schema()
        except SourceError:
            raise
        except pl.exceptions.SchemaFieldNotFoundError as exc:  # NDJSON: a declared column the files lack
            name = str(exc).strip().splitlines()[0]
            raise SchemaDriftError(
                self.dataset.address,
                self.server_label,
                f"schema drift: column '{name}' declared in {self.dataset.contract_path} is not in "
                f"{self.format} {self.path} (renamed or dropped?)",
            ) from None
        except (Exception, pl.exceptions.PanicException) as exc:  # noqa: BLE001 - this source's failure
            raise SourceError(self.dataset.address, self.server_label, f"cannot read {self.path}: {exc}") from exc
        self._schema = (frame, schema)
        return schema

    def scan(self, spec: ScanSpec, stats: ScanStats) -> pl.LazyFrame:
        schema = self.file_schema  # the files' own, never their cached copies'
        raw = spec.raw_columns() if spec.governed else list(spec.columns)
        found = {name: (str(dtype), dtype) for name, dtype in schema.items()}
        check_drift(self, f"{self.format} {self.path}", found, touched_columns(spec))
        # A scan of the first rows alone reads them from the text rather than convert it all.
        frame = self._read_frame(convert=spec.limit is None or bool(spec.predicates)).select(raw)
        casts = casts_to_contract({c: schema[c] for c in raw}, {c.name: c for c in self.dataset.columns})
        stats.sent.append(self.describe(spec))
        if self.skipped:
            stats.sent.append(
                f"skipped {len(self.skipped)} malformed row(s) (malformedRows: skip); first: {self.skipped[0]}"
            )
        frame = frame.with_columns(casts) if casts else frame
        # Polars reads the files itself: the role's filter and masks are the
        # first operations on what it reads, before the query sees a value.
        return self.apply_governance(frame, spec, spec.columns) if spec.governed else frame

    def check(self) -> None:
        """Raise a :class:`SourceError` when the files are gone, empty or cut short (after a failed run)."""
        self._reused = self._schema = None  # a failed run may have read files rewritten since: resolve again
        held, self._text_read = self._text_read, None
        if held is not None:
            held.drop_damaged_copies()
        self.files()
        signature = self._local_signature()
        if signature is not None and self.format == "parquet":
            self._check_parquet_files(signature)
            for path, _, _ in signature:  # the footer may end right and still be damaged
                if not os.path.basename(path).startswith((".", "_")):
                    try:
                        pq.read_metadata(path)
                    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a bad file
                        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                        raise SourceError(
                            self.dataset.address, self.server_label, f"parquet file {path} cannot be read: {reason}"
                        ) from exc
        if self.format in ("csv", "json"):
            self._check_rows()

    def _check_rows(self) -> None:
        """Name the first row of a CSV or NDJSON file that does not fit the contract."""
        for path in self.files():
            try:
                with self.filesystem()[0].open(path, "rb") as raw:
                    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                    problem = next(malformed_rows(text, self.dataset, self.format), None)
            except UnicodeDecodeError as exc:
                problem = f"is not valid UTF-8 (byte {exc.start} of a chunk: {exc.reason})"
            except OSError as exc:
                problem = f"cannot be read ({exc})"
            if problem is not None:
                raise SourceError(self.dataset.address, self.server_label, f"{path} {problem}")

    def describe(self, spec: ScanSpec, text_cache: bool = True) -> str:
        """What the scan reads; ``text_cache``: with what the text cache does for it (the Polars engines)."""
        parts = [f"{self.format} scan of {self.path}", f"columns: {', '.join(spec.columns)}"]
        if spec.predicates:
            parts.append("predicates: " + " AND ".join(p.sql() for p in spec.predicates))
        if spec.limit is not None:
            parts.append(f"limit: {spec.limit}")
        note = self._text_cache_note() if text_cache and self.format != "parquet" else None
        return "\n".join(parts + ([note] if note else []) + self.describe_governance(spec))

    # -- the text cache (meshlab.sources.text_cache) -----------------------------------------
    def _text_cache_use(self) -> tuple[TextCache | None, str | None]:
        """The cache this source's scans use, or why they read the text itself (None for parquet)."""
        if self.format not in ("csv", "json"):
            return None, None
        if not self.text_cache.active:
            return None, "off (files.text_cache or $MESHLAB_TEXT_CACHE)"
        if self.format == "csv" and self.malformed_rows == "skip":
            return None, "not used: malformedRows skip reads the rows one by one to count those it leaves out"
        if _protocol(self.path) != "file":
            return None, "not used: files that are not local are read as they are at each query"
        root = self.path.removeprefix("file://")
        if not any(c in root for c in GLOB_CHARS) and os.path.isdir(root):
            return None, "not used: the files of a folder are read as Polars lists them"
        if self.format == "json":
            try:
                if self._json_documents():
                    return None, "not used: JSON documents are read whole"
            except (OSError, SourceError):
                return None, "not used: the files cannot be read"
        return text_cache(self.text_cache), None

    def _text_paths(self) -> list[str]:
        root = self.path.removeprefix("file://")
        return self.files() if any(c in root for c in GLOB_CHARS) else [root]

    def _read_options(self) -> str:
        """What a copy depends on besides the file: format, delimiter and the contract's types."""
        types = sorted((name, str(dtype)) for name, dtype in self._overrides().items())
        return json.dumps([self.format, self.dataset.server.delimiter, types])

    def _read_frame(self, convert: bool) -> pl.LazyFrame:
        """What a scan reads: the parquet copies of the files in the text cache where there are
        (made now if ``convert``), else the files themselves (:attr:`base_frame`)."""
        cache, _ = self._text_cache_use()
        if cache is None:
            return self.base_frame
        try:
            signature = self._local_signature()
            held = self._text_read
            if held is not None and held.signature == signature and held.usable(cache, convert):
                return held.frame
            paths, options = self._text_paths(), self._read_options()
            copies = [cache.copy_of(p, options, functools.partial(self._read_one, p), convert) for p in paths]
            frames = [
                self._read_one(p) if c.path is None else pl.scan_parquet(c.path, hive_partitioning=False)
                for p, c in zip(paths, copies)
            ]
            frame = _with_partitions(frames, paths) if any(ch in self.path for ch in GLOB_CHARS) else frames[0]
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - the cache never fails a query: the text is read
            self._text_read, self._text_fallback = None, f"text cache: not used ({type(exc).__name__}: {exc})"
            return self.base_frame
        self._text_read, self._text_fallback = TextRead(signature, frame, tuple(copies), convert, cache), None
        return frame

    def _text_cache_note(self) -> str | None:
        """The line explain and the scan figures show: what the text cache did, or will do."""
        cache, reason = self._text_cache_use()
        if cache is None:
            return f"text cache: {reason}" if reason else None
        held = self._text_read
        if held is not None and held.signature == self._local_signature():
            return held.note()
        if self._text_fallback is not None:
            return self._text_fallback
        folder = cache.folder.as_posix()
        try:
            options = self._read_options()
            names = [cache.name_of(p, options) for p in self._text_paths()]
        except (OSError, SourceError):
            return None
        if names and all(n is not None and (cache.folder / n[0]).exists() for n in names):
            return f"text cache: reads parquet copies in {folder}"
        return f"text cache: converted to parquet at the first read (into {folder})"

    def bytes_for(self, columns: tuple[str, ...]) -> int | None:
        """Compressed bytes of ``columns`` in the parquet files (whole files for CSV/JSON)."""
        try:
            files = self.files()
            if self.format != "parquet":
                fs = self.filesystem()[0]
                whole: int = sum(fs.size(f) for f in files)
                return whole
            fs = self.filesystem()[0]
            return parquet_column_bytes(files, set(columns), lambda path: fs.open(path, "rb"))
        except (OSError, SourceError, ValueError):
            return None

    def physical_schema(self) -> dict[str, pl.DataType]:
        if self.format == "csv":
            return self._csv_text_schema()
        return dict(self.file_schema)

    def _csv_text_schema(self) -> dict[str, pl.DataType]:
        """What a CSV file's text holds, inferred (ISO dates and timestamps recognised), not the types
        meshlab casts it to when querying: a timestamp column declared a date is then caught."""
        with self.filesystem()[0].open(self.files()[0], "rb") as handle:
            sample = pl.read_csv(
                handle, separator=self.dataset.server.delimiter, n_rows=CSV_SAMPLE_ROWS, try_parse_dates=True,
                infer_schema_length=CSV_SAMPLE_ROWS,
            )  # fmt: skip
        # Every CSV value is text: a column declared a string holds strings whatever its text looks like.
        declared = {c.name: c.logical_type for c in self.dataset.columns}
        return {name: pl.String() if declared.get(name) == "string" else dtype for name, dtype in sample.schema.items()}

    def guess_rows(self) -> int | None:
        """Parquet's row count; CSV and JSON have none: a guess from their size."""
        rows = self.estimate_rows()
        if rows is not None:
            return rows
        try:
            fs = self.filesystem()[0]
            return max(1, sum(int(fs.size(f)) for f in self.files()) // BYTES_PER_TEXT_ROW)
        except Exception:  # noqa: BLE001 - a guess may fail quietly
            return None

    def estimate_scan_bytes(self, columns: tuple[str, ...], stop_above: float = float("inf")) -> int | None:
        return file_scan_bytes(self, columns, stop_above)

    def statistics_version(self) -> object:
        """Local files: their paths, sizes and times (statistics change with them) and whether
        the text cache holds their copies yet; elsewhere a time slot."""
        signature = self._local_signature()
        if signature is None:
            return super().statistics_version()
        return signature, self.format != "parquet" and self._text_copies() is not None

    def _text_copies(self) -> list[str] | None:
        """The text cache's parquet copies of every file, when all are there (else None)."""
        cache, _ = self._text_cache_use()
        if cache is None:
            return None
        try:
            options = self._read_options()
            names = [cache.name_of(p, options) for p in self._text_paths()]
        except (OSError, SourceError):
            return None
        copies = [str(cache.folder / n[0]) for n in names if n is not None]
        return copies if names and len(copies) == len(names) and all(os.path.exists(c) for c in copies) else None

    def read_statistics(self) -> TableStatistics:
        """Parquet: rows and min/max from the footers, hive partition values from the folder names.
        CSV and NDJSON: the same from their copies in the text cache, once made."""
        copies = self._text_copies() if self.format != "parquet" else None
        if self.format != "parquet" and copies is None:
            return super().read_statistics()
        fs = self.filesystem()[0]
        footers: list = []
        partitions: dict[str, set[str]] = {}
        paths = self.files() if copies is None else self._text_paths()
        for index, path in enumerate(paths):
            if copies is not None:
                footers.append(pq.read_metadata(copies[index]))
            else:
                with fs.open(path, "rb") as handle:
                    footers.append(pq.ParquetFile(handle).metadata)
            for part in path.split("/")[:-1]:
                if "=" in part:
                    key, value = part.split("=", 1)
                    partitions.setdefault(key, set()).add(value)
        names = {c.name: c.name for c in self.dataset.columns if c.name not in partitions}
        found = with_partitions(parquet_statistics(footers, names), partitions)
        return found if copies is None else replace(found, origin="footers of the text cache's copies")

    def estimate_rows(self) -> int | None:
        if self.format != "parquet":
            return None
        try:
            total = 0
            for path in self.files():
                with self.filesystem()[0].open(path, "rb") as handle:
                    total += pq.ParquetFile(handle).metadata.num_rows
            return total
        except (OSError, SourceError, ValueError):
            return None


class FilesKind(SourceKind):
    """Parquet, CSV and JSON files on a local path or an object store."""

    name = "files"
    server_types = ("local", "s3", "gcs", "azure", "https", "http", "file", "memory", "sftp")
    formats = ("parquet", "csv", "json")
    required = ("path",)

    def problem(self, raw: Mapping[str, Any]) -> str | None:
        return None if raw.get("path") or raw.get("location") else "no path or location"

    def open(self, dataset: Dataset, context: SourceContext) -> Source:
        storage = context.storage_options(dataset.server.path or "")
        return FileSource(dataset, storage, context.malformed_rows, context.text_cache)


KIND = FilesKind()
