"""Run every check of a set of datasets: plan, measure in one batch per dataset, judge.

For each dataset: read its contract (with line numbers), plan its checks
(schema, library and sql rules, freshness, relationships) without touching
data, probe the source's physical schema, measure every metric the checks
share in one batch (:mod:`meshlab.quality.measure`), judge each check, fetch
failing rows for the failed ones, then run the checks that are queries of
their own. A broken rule or an unreachable source yields ``error`` results
for what it touches; everything else still runs.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from meshlab.catalog import Dataset
from meshlab.catalog.positions import LocatedDocument, read_located
from meshlab.errors import MeshError
from meshlab.quality.failing_rows import fetch_rows, rows_query
from meshlab.quality.freshness import as_utc, freshness_check, latencies
from meshlab.quality.library_checks import library_check, unrunnable
from meshlab.quality.measure import measure
from meshlab.quality.metrics import Metric, RowCount
from meshlab.quality.planned import Planned
from meshlab.quality.relationships import foreign_key_checks
from meshlab.quality.report import CheckReport, CheckResult
from meshlab.quality.rules import quality_rules
from meshlab.quality.schema_checks import columns_check, physical_schema, row_checks, type_checks
from meshlab.quality.sql_checks import sql_check
from meshlab.quality.type_options import type_option_checks

if TYPE_CHECKING:
    from meshlab.quality.checked_mesh import CheckedMesh

DEFAULT_FAILING_ROWS = 10


def plan_checks(mesh: CheckedMesh, dataset: Dataset, document: LocatedDocument, as_of: dt.datetime) -> list[Planned]:
    """Every check of ``dataset`` except the physical-schema ones, in report order."""
    planned = row_checks(dataset)
    for rule in quality_rules(document, dataset.address, dataset.name):
        if rule.kind == "library":
            planned.append(library_check(rule, dataset))
        elif rule.kind == "sql":
            planned.append(sql_check(rule))
        elif rule.kind in ("text", "custom"):
            planned.append(unrunnable(rule))
        else:
            planned.append(library_check(rule, dataset))  # reports its problem
    planned += [freshness_check(latency, dataset, as_of) for latency in latencies(document, dataset)]
    planned += foreign_key_checks(document, dataset, mesh.catalog)
    planned += type_option_checks(document, dataset)
    return planned


def _errored(planned: Planned, message: str) -> CheckResult:
    return planned.result("error", message=message)


def _judged(
    planned: Planned, values: dict[Metric, Any], errors: dict[Metric, MeshError], mesh: CheckedMesh, failing_rows: int
) -> CheckResult:
    metric, judge = planned.metric, planned.judge
    if metric is None or judge is None:  # the runner judges only measured checks
        return _errored(planned, f"{planned.check}: nothing to judge it on")
    if metric in errors:
        return _errored(planned, str(errors[metric]))
    rows = values.get(RowCount()) if planned.needs_row_count else None
    if planned.needs_row_count and RowCount() in errors:
        return _errored(planned, str(errors[RowCount()]))
    try:
        verdict = judge(values.get(metric), rows)
    except (TypeError, ValueError) as exc:
        return _errored(planned, f"{planned.rule or planned.check}: cannot judge the measured value: {exc}")
    if verdict.passed:
        return planned.result("passed", verdict.observed, verdict.expected, verdict.message)
    examples: list[dict] = []
    query = rows_query(planned.dataset, planned.rows_of, failing_rows) if planned.rows_of and failing_rows else None
    if query is not None:
        try:
            examples = fetch_rows(mesh, query)
        except MeshError as exc:
            message = f"{verdict.message} (failing rows could not be fetched: {exc})"
            return planned.result("failed", verdict.observed, verdict.expected, message)
    return planned.result("failed", verdict.observed, verdict.expected, verdict.message, examples)


def _run_query_check(planned: Planned, mesh: CheckedMesh, failing_rows: int) -> CheckResult:
    if planned.run is None:  # the runner runs only checks that are queries of their own
        return _errored(planned, f"{planned.check}: nothing to run")
    try:
        return planned.run(mesh, failing_rows)
    except MeshError as exc:
        where = f"{planned.rule}: " if planned.rule else ""
        return _errored(planned, f"{where}{exc}")


def _source_down(planned: list[Planned], error: MeshError) -> list[CheckResult]:
    """Every check of a dataset whose source cannot be read: one error each, known ones kept."""
    return [
        p.outcome if p.outcome is not None and p.outcome.status in ("error", "skipped") else _errored(p, str(error))
        for p in planned
    ]


def check_dataset(
    mesh: CheckedMesh, dataset: Dataset, document: LocatedDocument, as_of: dt.datetime, failing_rows: int
) -> tuple[list[CheckResult], list[str]]:
    """All results of one dataset, and what its source was sent for the batched metrics."""
    planned = plan_checks(mesh, dataset, document, as_of)
    source = mesh.source(dataset)
    try:
        physical = physical_schema(source)
    except MeshError as exc:
        columns = Planned(dataset.address, "columns", "schema")
        return [_errored(columns, str(exc)), *_source_down(planned, exc)], []
    present = set(physical)
    schema = [columns_check(dataset, physical), *type_checks(dataset, physical, source)]
    measurable = [p for p in planned if p.metric is not None and set(p.metric.columns) <= present]
    metrics = [m for p in measurable if (m := p.metric) is not None]
    metrics += [RowCount()] if any(p.needs_row_count for p in measurable) else []
    measured = measure(source, metrics)
    results = [p.outcome for p in schema if p.outcome is not None]
    for p in planned:
        if p.outcome is not None:
            results.append(p.outcome)
        elif p.metric is not None and p not in measurable:
            gone = ", ".join(c for c in p.metric.columns if c not in present)
            results.append(_errored(p, f"column(s) {gone} of {dataset.address} are missing from the source"))
        elif p.metric is not None:
            results.append(_judged(p, measured.values, measured.errors, mesh, failing_rows))
        else:
            results.append(_run_query_check(p, mesh, failing_rows))
    return results, measured.sent


def contract_document(mesh: CheckedMesh, dataset: Dataset) -> LocatedDocument:
    """The dataset's contract with line numbers, named relative to the mesh's folder.

    When the file cannot be read again (an object store that needs options), the
    catalog's copy is used: messages then lack line numbers but every check runs.
    """
    path = dataset.contract_path
    root = mesh.catalog.manifest.path  # the role's view shares the mesh's manifest
    root = root if os.path.isdir(root) else os.path.dirname(root)
    shown = os.path.relpath(path, root) if "://" not in path and path.startswith(root + os.sep) else path
    try:
        return replace(read_located(path), path=shown)
    except MeshError:
        return LocatedDocument(dataset.descriptor, shown)


def configured(mesh: CheckedMesh, key: str, default: Any = None) -> Any:
    """A ``checks:`` setting of mesh.yaml (``as_of``, ``failing_rows``)."""
    settings = mesh.catalog.manifest.settings.get("checks") or {}
    return settings.get(key, default) if isinstance(settings, dict) else default


def _instant(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    try:
        return as_utc(dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError as exc:
        raise MeshError(f"as_of must be an ISO-8601 date or timestamp, not {value!r}") from exc


def run_checks(
    mesh: CheckedMesh,
    datasets: list[Dataset],
    as_of: dt.datetime | str | None = None,
    failing_rows: int | None = None,
) -> CheckReport:
    """Check ``datasets`` of ``mesh``; see :meth:`meshlab.Mesh.check`."""
    started = time.perf_counter()
    checked_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fixed = as_of if as_of is not None else configured(mesh, "as_of")
    moment = _instant(fixed) if fixed is not None else checked_at
    limit = int(failing_rows if failing_rows is not None else configured(mesh, "failing_rows", DEFAULT_FAILING_ROWS))
    documents: dict[str, LocatedDocument] = {}
    results: list[CheckResult] = []
    sent: dict[str, list[str]] = {}
    for dataset in datasets:
        path = dataset.contract_path
        if path not in documents:
            documents[path] = contract_document(mesh, dataset)
        found, sent[dataset.address] = check_dataset(mesh, dataset, documents[path], moment, limit)
        results.extend(found)
    return CheckReport(results, checked_at, moment, sent, time.perf_counter() - started)
