"""The status store: every check run kept in a small SQLite file beside the mesh.

``<folder of mesh.yaml>/.meshlab/status.sqlite`` by default, or the path
``status:`` in mesh.yaml names (relative to mesh.yaml). A mesh read from a
URL (``s3://…``) keeps its status in ``~/.cache/meshlab/status/``. The catalog,
the widget, the sidebar and the query banner read each dataset's latest
outcome from here; a store that cannot be read is treated as empty, never as
a failure of what reads it.

Tables: ``runs`` (one row per run), ``results`` (every result of every run)
and ``latest`` (per dataset: the latest run's outcome and freshness).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import posixpath
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from meshlab.quality.report import CheckReport, CheckResult

if TYPE_CHECKING:
    from meshlab.catalog import Dataset
    from meshlab.result import Result

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    checked_at TEXT NOT NULL,
    as_of TEXT NOT NULL,
    seconds REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    dataset TEXT NOT NULL,
    "check" TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    observed TEXT,
    expected TEXT,
    message TEXT NOT NULL,
    failing_rows TEXT NOT NULL,
    rule TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_dataset ON results (dataset, run_id);
CREATE TABLE IF NOT EXISTS latest (
    dataset TEXT PRIMARY KEY,
    run_id INTEGER NOT NULL,
    checked_at TEXT NOT NULL,
    as_of TEXT NOT NULL,
    status TEXT NOT NULL,
    passed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    freshness TEXT
);
"""
KEEP_RUNS = 200  # older runs' results are dropped: the store stays small


@dataclass(frozen=True)
class Freshness:
    """What the latest check found about a dataset's newest value."""

    status: str  # passed | failed | error
    newest: str | None
    age: str | None
    max_age: str | None
    message: str


@dataclass(frozen=True)
class DatasetStatus:
    """A dataset's latest check outcome, as stored.

    Attributes
    ----------
    status
        ``passed`` (every check passed or was skipped), ``failed`` (a check failed)
        or ``error`` (none failed, but one could not run).
    checked_at, as_of
        When the run was, and the instant freshness was judged against (UTC).
    passed, failed, errors, skipped
        How many checks had each outcome.
    freshness
        The latency SLA's outcome, when the contract has one.
    problems
        The failed and errored results of that run, for messages.
    """

    dataset: str
    status: str
    checked_at: dt.datetime
    as_of: dt.datetime
    passed: int
    failed: int
    errors: int
    skipped: int
    freshness: Freshness | None = None
    problems: tuple[CheckResult, ...] = ()

    @property
    def checks(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped

    @property
    def stale(self) -> bool:
        """The dataset failed its freshness SLA at the last check."""
        return self.freshness is not None and self.freshness.status == "failed"

    def summary(self) -> str:
        """``2 of 31 checks failed``, ``all 31 checks passed``: the outcome in words."""
        if self.failed:
            return f"{self.failed} of {self.checks} checks failed"
        if self.errors:
            return f"{self.errors} of {self.checks} checks could not run"
        return f"all {self.checks} checks passed" if not self.skipped else f"{self.passed} checks passed"

    def to_dict(self) -> dict:
        """JSON form (the sidebar's ``last_check``, ``meshlab catalog --format json``)."""
        return {
            "status": self.status,
            "checked_at": self.checked_at.isoformat(),
            "as_of": self.as_of.isoformat(),
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "skipped": self.skipped,
            "summary": self.summary(),
            "freshness": None if self.freshness is None else dict(self.freshness.__dict__),
            "problems": [{"check": p.check, "status": p.status, "message": p.message} for p in self.problems],
        }


def default_path(mesh_path: str, configured: str | None = None) -> str:
    """Where the status store of the mesh at ``mesh_path`` lives.

    Parameters
    ----------
    mesh_path
        The manifest (or the single domain folder or contract) the mesh was loaded from.
    configured
        ``status:`` of mesh.yaml: a path relative to the manifest's folder.
    """
    remote = "://" in mesh_path and not mesh_path.startswith("file://")
    base = mesh_path.removeprefix("file://")
    folder = base if not remote and os.path.isdir(base) else posixpath.dirname(base)
    if configured:
        if "://" in str(configured) or os.path.isabs(str(configured)):
            return str(configured)
        if not remote:
            return os.path.normpath(os.path.join(folder, str(configured)))
    if remote:
        digest = hashlib.sha1(mesh_path.encode()).hexdigest()[:16]
        return str(Path.home() / ".cache" / "meshlab" / "status" / f"{digest}.sqlite")
    return os.path.join(folder, ".meshlab", "status.sqlite")


def _freshness(results: list[CheckResult]) -> Freshness | None:
    sla = next((r for r in results if r.kind == "sla" and r.check.startswith("latency:")), None)
    if sla is None:
        return None
    observed = sla.observed if isinstance(sla.observed, dict) else {}
    expected = sla.expected if isinstance(sla.expected, dict) else {}
    return Freshness(sla.status, observed.get("newest"), observed.get("age"), expected.get("max_age"), sla.message)


def _outcome(results: list[CheckResult]) -> str:
    statuses = {r.status for r in results}
    return "failed" if "failed" in statuses else "error" if "error" in statuses else "passed"


class StatusStore:
    """Read and write check results in the SQLite file at ``path``."""

    def __init__(self, path: str, timeout: float = 10.0):
        self.path = path
        self.timeout = timeout  # seconds to wait for a writer's lock

    @contextlib.contextmanager
    def _connect(self, write: bool = False):
        if write:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        elif not os.path.isfile(self.path):
            raise FileNotFoundError(self.path)
        uri = f"file:{self.path}" + ("" if write else "?mode=ro")
        connection = sqlite3.connect(uri, uri=True, timeout=self.timeout)
        try:
            if write:
                connection.executescript(SCHEMA)
            yield connection
            connection.commit()
        finally:
            connection.close()

    def record(self, report: CheckReport) -> int:
        """Store every result of ``report``; return the run's id."""
        with self._connect(write=True) as db:
            cursor = db.execute(
                "INSERT INTO runs (checked_at, as_of, seconds) VALUES (?, ?, ?)",
                (report.checked_at.isoformat(), report.as_of.isoformat(), report.seconds),
            )
            run_id = int(cursor.lastrowid)
            db.executemany(
                'INSERT INTO results (run_id, dataset, "check", kind, status, observed, expected, message, '
                "failing_rows, rule) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_result_row(run_id, r) for r in report.results],
            )
            for dataset in report.datasets():
                mine = [r for r in report.results if r.dataset == dataset]
                counts = [sum(r.status == s for r in mine) for s in ("passed", "failed", "error", "skipped")]
                fresh = _freshness(mine)
                db.execute(
                    "INSERT OR REPLACE INTO latest VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        dataset,
                        run_id,
                        report.checked_at.isoformat(),
                        report.as_of.isoformat(),
                        _outcome(mine),
                        *counts,
                        json.dumps(fresh.__dict__) if fresh else None,
                    ),  # fmt: skip
                )
            db.execute("DELETE FROM results WHERE run_id <= ?", (run_id - KEEP_RUNS,))
            db.execute("DELETE FROM runs WHERE run_id <= ?", (run_id - KEEP_RUNS,))
        return run_id

    def latest(self, addresses: list[str] | None = None) -> dict[str, DatasetStatus]:
        """address -> latest status, for ``addresses`` (default: all); {} when there is no store."""
        try:
            with self._connect() as db:
                rows = db.execute("SELECT * FROM latest").fetchall()
                wanted = {a.lower() for a in addresses} if addresses is not None else None
                found = {}
                for row in rows:
                    if wanted is None or row[0].lower() in wanted:
                        found[row[0]] = _status(row, _problems(db, row[0], row[1]))
                return found
        except (OSError, sqlite3.Error, ValueError):
            return {}

    def history(self, address: str, limit: int = 20) -> list[CheckResult]:
        """The latest ``limit`` stored results of ``address``, newest run first."""
        try:
            with self._connect() as db:
                rows = db.execute(
                    'SELECT dataset, "check", status, observed, expected, message, failing_rows, kind, rule '
                    "FROM results WHERE lower(dataset) = lower(?) ORDER BY run_id DESC LIMIT ?",
                    (address, limit),
                ).fetchall()
        except (OSError, sqlite3.Error):
            return []
        return [_result(row) for row in rows]


def _result_row(run_id: int, r: CheckResult) -> tuple:
    d = r.to_dict()
    return (run_id, r.dataset, r.check, r.kind, r.status, json.dumps(d["observed"]), json.dumps(d["expected"]),
            r.message, json.dumps(d["failing_rows"]), r.rule)  # fmt: skip


def _result(row: tuple) -> CheckResult:
    dataset, check, status, observed, expected, message, rows, kind, rule = row
    loads = lambda text: json.loads(text) if text else None  # noqa: E731
    return CheckResult(dataset, check, status, loads(observed), loads(expected), message,
                       tuple(loads(rows) or ()), kind, rule)  # fmt: skip


def _problems(db: sqlite3.Connection, dataset: str, run_id: int) -> tuple[CheckResult, ...]:
    rows = db.execute(
        'SELECT dataset, "check", status, observed, expected, message, failing_rows, kind, rule FROM results '
        "WHERE dataset = ? AND run_id = ? AND status IN ('failed', 'error')",
        (dataset, run_id),
    ).fetchall()
    return tuple(_result(row) for row in rows)


def _status(row: tuple, problems: tuple[CheckResult, ...]) -> DatasetStatus:
    dataset, _, checked_at, as_of, status, passed, failed, errors, skipped, fresh = row
    freshness = Freshness(**json.loads(fresh)) if fresh else None
    return DatasetStatus(
        dataset, status, dt.datetime.fromisoformat(checked_at), dt.datetime.fromisoformat(as_of),
        passed, failed, errors, skipped, freshness, problems,
    )  # fmt: skip


def dataset_warnings(statuses: dict[str, DatasetStatus], datasets: list[Dataset]) -> list[str]:
    """Warnings for a query result: datasets read that are deprecated or retired, or that
    failed their freshness SLA or a check at the last check run."""
    warnings = []
    for ds in datasets:
        if ds.status in ("deprecated", "retired"):
            warnings.append(f"{ds.address} is {ds.status}: plan to move off it")
        status = statuses.get(ds.address)
        if status is None:
            continue
        f = status.freshness
        if status.stale and f is not None:
            warnings.append(
                f"{ds.address} fails its freshness SLA (at most {f.max_age} old): newest value {f.newest}, "
                f"{f.age} old at the last check"
            )
        others = [p for p in status.problems if p.status == "failed" and not p.check.startswith("latency:")]
        if others:
            names = ", ".join(p.check for p in others[:3]) + (" …" if len(others) > 3 else "")
            warnings.append(f"{ds.address} failed {len(others)} check{'' if len(others) == 1 else 's'} ({names})")
    return warnings


def record_report(path: str, report: CheckReport) -> None:
    """Keep ``report`` in the status store at ``path`` (``Mesh.status_path``); a store that cannot
    be written is noted on the report (``store_error``), never raised: the checks themselves ran."""
    try:
        StatusStore(path).record(report)
    except (OSError, sqlite3.Error) as exc:
        report.store_error = f"results not stored in {path}: {exc}"


def attach_status(path: str, result: Result) -> None:
    """Give a query result the latest check status of the datasets it read, from the status store
    at ``path``, and the warnings they call for (``Result.checks``, ``Result.warnings``)."""
    datasets = list({ds.address: ds for ds in result.query_plan.datasets.values()}.values())
    statuses = StatusStore(path).latest([d.address for d in datasets]) if os.path.isfile(path) else {}
    result.checks = statuses
    result.warnings = dataset_warnings(statuses, datasets)
