"""A columnar cache of CSV and NDJSON files: each file parsed once, then read as parquet.

A text file has no columns to skip and no statistics: every query parses all of
it (TPC-H SF0.1 with lineitem as CSV: Q6 took 20x DuckDB over parquet; as NDJSON,
Q12 85x). The first scan of a local CSV or NDJSON file therefore writes what Polars'
reader makes of it -- the very frame the source would scan, with the file's delimiter
and the contract's types -- to a parquet file in the cache folder, and later scans read
that copy, of which Polars reads only the columns and row groups a query needs.

    data/lineitem.csv  (74.6 MB)  ->  ~/.cache/meshlab/text-files/lineitem.csv-<origin>-<version>.parquet

*Identity*: ``<origin>`` hashes the file's absolute path and the read options (format,
delimiter, the types the contract dictates, Polars' version), ``<version>`` its size,
modification time (ns) and inode. A file rewritten since has another version: it is
converted again at its next scan and the copies of its older versions are removed.

*Writing*: streamed (``sink_parquet``, the text is never held whole in memory) to a hidden
temporary name in the folder, checked (the copy's schema must be the text scan's), then
renamed into place, atomically on one file system: a reader finds a whole copy or none.
Threads of one process converting the same file wait for each other; two processes may
both convert it, and the last rename wins (the same rows). A file changed while it was
being converted is not kept.

*Bound*: after each conversion the least recently used copies (a scan touches the copies
it reads) are removed until the folder holds at most ``max_bytes``; copies used within the
last :data:`IN_USE_SECONDS` are spared (a query planned over them may not have opened
them yet), so the folder can exceed the bound by those. A copy larger than the bound is
not kept.

*Failures*: a conversion that fails -- a row that does not fit the contract, a full disk,
a folder that cannot be written -- is remembered for that file version in this process,
and the scan reads the text as it would without the cache: the query meets the same
answer or the same error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from meshlab.errors import DescriptorError

#: bytes the cache folder may hold (copies in use aside)
DEFAULT_MAX_BYTES = 4 * 2**30
#: a copy used this recently is never removed to keep the bound
IN_USE_SECONDS = 60.0
#: a temporary file this old was left by a process that died while converting
STALE_TEMPORARY_SECONDS = 3600.0
#: bumped when the layout of the copies changes: older copies are then never read
CACHE_FORMAT = 1
#: failed conversions remembered per process (the oldest forgotten first)
FAILURES_KEPT = 1024
_OFF = ("0", "off", "false", "no")
#: the names of copies and of their temporary files: nothing else in the folder is ever removed
COPY_NAME = re.compile(r".+-[0-9a-f]{20}-[0-9a-f]{20}\.parquet")
TEMPORARY_NAME = re.compile(r"\..+-[0-9a-f]{20}-[0-9a-f]{20}\.parquet\.\d+-\d+\.tmp")
#: marks the folder as a cache (https://bford.info/cachedir/): backup tools skip it
CACHEDIR_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# meshlab's columnar cache of CSV and NDJSON files\n"


def default_folder() -> str:
    """``$MESHLAB_TEXT_CACHE_DIR``, else ``$XDG_CACHE_HOME/meshlab/text-files``, else ``~/.cache/meshlab/text-files``."""
    if os.environ.get("MESHLAB_TEXT_CACHE_DIR"):
        return os.environ["MESHLAB_TEXT_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "meshlab", "text-files")


@dataclass(frozen=True)
class TextCacheSettings:
    """``files.text_cache`` of mesh.yaml: ``true`` (the default), ``false``, or a mapping.

    ``$MESHLAB_TEXT_CACHE=off`` turns the cache off whatever mesh.yaml says (``on`` turns it
    on); ``$MESHLAB_TEXT_CACHE_DIR`` names the folder, over ``folder``.
    """

    enabled: bool = True
    folder: str | None = None  # None: default_folder()
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def parse(cls, raw: Any, manifest_path: str = "mesh.yaml") -> TextCacheSettings:
        """Read ``text_cache:`` of the ``files:`` section; ``manifest_path`` names mesh.yaml (relative folders start there)."""
        if raw is None or raw is True:
            return cls()
        if raw is False:
            return cls(enabled=False)
        if not isinstance(raw, Mapping):
            raise DescriptorError(manifest_path, "must be true, false or a mapping", "files.text_cache")
        unknown = sorted(set(raw) - {"enabled", "folder", "max_bytes"})
        if unknown:
            raise DescriptorError(
                manifest_path, f"unknown key(s) {', '.join(unknown)} (known: enabled, folder, max_bytes)",
                "files.text_cache",
            )  # fmt: skip
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            raise DescriptorError(manifest_path, "must be true or false", "files.text_cache.enabled")
        folder = raw.get("folder")
        if folder is not None:
            if not isinstance(folder, str) or not folder or "://" in folder:
                raise DescriptorError(manifest_path, "must be a local folder path", "files.text_cache.folder")
            base = os.path.dirname(manifest_path.removeprefix("file://"))
            folder = os.path.join(base, os.path.expanduser(folder))
        size = raw.get("max_bytes", DEFAULT_MAX_BYTES)
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise DescriptorError(manifest_path, "must be a positive integer", "files.text_cache.max_bytes")
        return cls(enabled, folder, size)

    @property
    def active(self) -> bool:
        """Whether scans use the cache now (``$MESHLAB_TEXT_CACHE`` over mesh.yaml)."""
        switch = os.environ.get("MESHLAB_TEXT_CACHE", "").strip().lower()
        return self.enabled if not switch else switch not in _OFF

    @property
    def path(self) -> str:
        return os.environ.get("MESHLAB_TEXT_CACHE_DIR") or self.folder or default_folder()


@dataclass(frozen=True)
class CachedCopy:
    """What the cache has for one text file: the parquet copy a scan reads instead, or why there is none."""

    #: the copy; None: the scan reads the text
    path: str | None
    #: seconds this scan spent converting the file; None: the copy was there (or none was made)
    converted_in: float | None = None
    #: why there is no copy
    reason: str | None = None


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:20]


def _version(info: os.stat_result) -> tuple[int, int, int]:
    return (info.st_size, info.st_mtime_ns, info.st_ino)


class TextCache:
    """The copies in one folder, as this process sees them (one object per folder: :func:`text_cache`)."""

    def __init__(self, folder: str, max_bytes: int):
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        #: copy name -> why it could not be made (the scan reads the text)
        self.failures: dict[str, str] = {}

    def name_of(self, path: str, options: str) -> tuple[str, str] | None:
        """The copy's name for the file as it is now and the prefix its versions share; None if it cannot be seen."""
        try:
            info = os.stat(path)
        except OSError:
            return None
        origin = _digest(CACHE_FORMAT, pl.__version__, os.path.abspath(path), options)
        prefix = f"{os.path.basename(path)}-{origin}-"
        return prefix + _digest(_version(info)) + ".parquet", prefix

    def copy_of(self, path: str, options: str, frame: Callable[[], pl.LazyFrame], convert: bool = True) -> CachedCopy:
        """The copy of ``path`` read with ``options`` (``frame()`` scans the text), made now if
        ``convert`` and not there yet."""
        named = self.name_of(path, options)
        if named is None:
            return CachedCopy(None, reason="the file cannot be seen")
        name, prefix = named
        target = self.folder / name
        if self.touch(str(target)):
            return CachedCopy(str(target))
        if name in self.failures:
            return CachedCopy(None, reason=self.failures[name])
        if not convert:
            return CachedCopy(None, reason="not converted for a scan of the first rows only")
        with self._lock_for(name):
            if self.touch(str(target)):  # another thread converted it meanwhile
                return CachedCopy(str(target))
            started = time.perf_counter()
            try:
                self._convert(path, frame(), target)
            except (Exception, pl.exceptions.PanicException) as exc:  # noqa: BLE001 - any failure: read the text
                text = str(exc).strip()
                reason = f"conversion failed: {text.splitlines()[0][:200] if text else type(exc).__name__}"
                self._remember(name, reason)
                return CachedCopy(None, reason=reason)
            self._drop_older_versions(prefix, keep=name)
            self.evict(keep=str(target))
            if not target.exists():
                reason = f"its parquet copy is larger than the cache's bound ({self.max_bytes} bytes)"
                self._remember(name, reason)
                return CachedCopy(None, reason=reason)
            return CachedCopy(str(target), time.perf_counter() - started)

    def _convert(self, path: str, frame: pl.LazyFrame, target: Path) -> None:
        """Write ``frame`` to ``target`` through a temporary file, renamed into place when whole and right."""
        before = os.stat(path)
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / "CACHEDIR.TAG").write_text(CACHEDIR_TAG)
        temporary = self.folder / f".{target.name}.{os.getpid()}-{threading.get_ident()}.tmp"
        try:
            frame.sink_parquet(temporary)
            written, expected = pl.read_parquet_schema(temporary), dict(frame.collect_schema())
            if written != expected:
                raise ValueError(f"the copy's schema {written} is not the text's {expected}")
            if _version(os.stat(path)) != _version(before):
                raise ValueError(f"{path} changed while it was converted")
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)

    def touch(self, copy: str) -> bool:
        """Mark ``copy`` used now (the eviction's order); False if it is not there."""
        try:
            os.utime(copy)
        except OSError:
            return False
        return True

    def _lock_for(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def _remember(self, name: str, reason: str) -> None:
        with self._guard:
            if len(self.failures) >= FAILURES_KEPT:
                self.failures.pop(next(iter(self.failures)))
            self.failures[name] = reason

    def _drop_older_versions(self, prefix: str, keep: str) -> None:
        """Remove the copies of the same file and options made before it last changed (never read again)."""
        now = time.time()
        for entry in self._entries():
            if (
                entry.name.startswith(prefix)
                and entry.name != keep
                and COPY_NAME.fullmatch(entry.name)
                and now - entry.stat().st_mtime > IN_USE_SECONDS
            ):
                _remove(entry.path)

    def _entries(self) -> list[os.DirEntry]:
        try:
            with os.scandir(self.folder) as found:
                return [e for e in found if e.is_file(follow_symlinks=False)]
        except OSError:
            return []

    def evict(self, keep: str | None = None) -> None:
        """Remove the least recently used copies until the folder holds at most ``max_bytes`` of them
        (copies used within :data:`IN_USE_SECONDS` spared); ``keep``, the copy just made, goes
        only if it alone is above the bound."""
        now, copies = time.time(), []
        for entry in self._entries():
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # removed by another process meanwhile
            if TEMPORARY_NAME.fullmatch(entry.name) and now - info.st_mtime > STALE_TEMPORARY_SECONDS:
                _remove(entry.path)
            elif COPY_NAME.fullmatch(entry.name):
                copies.append((info.st_mtime, entry.path, info.st_size))
        total = sum(size for _, _, size in copies)
        for used, path, size in sorted(copies):
            if total <= self.max_bytes:
                break
            if path != keep and now - used > IN_USE_SECONDS:
                _remove(path)
                total -= size
        if keep is not None and os.path.exists(keep) and os.path.getsize(keep) > self.max_bytes:
            _remove(keep)

    def size(self) -> int:
        """Bytes of the copies in the folder now."""
        return sum(e.stat().st_size for e in self._entries() if COPY_NAME.fullmatch(e.name))


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass  # removed by another process meanwhile, or not ours to remove


class TextRead:
    """The frame a text source's scans read while its files hold, and the copies it reads."""

    def __init__(self, signature, frame: pl.LazyFrame, copies: tuple[CachedCopy, ...], tried: bool, cache: TextCache):
        self.signature, self.frame, self.copies, self.tried, self.cache = signature, frame, copies, tried, cache
        self.first_use = True

    def usable(self, cache: TextCache, convert: bool) -> bool:
        """Whether a scan may read the frame again: the copies are still there (they are marked used)."""
        if cache is not self.cache or (convert and not self.tried):
            return False
        self.first_use = False
        return all(cache.touch(c.path) for c in self.copies if c.path is not None)

    def note(self) -> str:
        """What the scans read: the copies (and what converting them cost this one), or the text and why."""
        read = [c for c in self.copies if c.path is not None]
        text = [c for c in self.copies if c.path is None]
        converted = [c.converted_in for c in read if c.converted_in is not None] if self.first_use else []
        parts = []
        if len(self.copies) == 1 and read:
            parts.append(f"reads the parquet copy {read[0].path}")
        elif read:
            parts.append(f"reads {len(read)} of {len(self.copies)} files from parquet copies in {self.cache.folder}")
        if converted:
            parts.append(f"converted {len(converted)} file(s) to parquet in {sum(converted):.2f} s")
        if text:
            parts.append(f"reads {len(text)} file(s) as text ({text[0].reason})")
        return "text cache: " + "; ".join(parts)

    def drop_damaged_copies(self) -> None:
        """After a failed run: remove the copies whose footer does not read (the next scan converts again)."""
        for copy in self.copies:
            if copy.path is None:
                continue
            try:
                pq.read_metadata(copy.path)
            except Exception:  # noqa: BLE001 - pyarrow raises several kinds for a bad file
                try:
                    os.remove(copy.path)
                except OSError:
                    pass


_caches: dict[tuple[str, int], TextCache] = {}
_caches_lock = threading.Lock()


def text_cache(settings: TextCacheSettings) -> TextCache | None:
    """This process's cache for ``settings`` (shared by every mesh using the folder), or None when off."""
    if not settings.active:
        return None
    key = (os.path.abspath(settings.path), settings.max_bytes)
    with _caches_lock:
        found = _caches.get(key)
        if found is None:
            found = _caches[key] = TextCache(key[0], settings.max_bytes)
        return found
