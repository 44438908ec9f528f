"""``meshlab lint``: every contract of a mesh checked against the ODCS v3 structure.

Messages read ``file:line: severity: field: message``. Besides the structure
(:mod:`meshlab.authoring.odcs_structure`), lint checks what needs the whole
mesh: domain folders that exist, contract ids used once, the ``domain`` of a
contract matching its folder's key, and relationship targets that resolve to
a column of the mesh.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from meshlab.authoring.odcs_structure import check_document
from meshlab.authoring.positions import LocatedDocument, field_path, read_located
from meshlab.catalog import load_catalog
from meshlab.catalog.loader import CONTRACT_SUFFIXES, find_contracts
from meshlab.errors import DescriptorError, MeshError


@dataclass(frozen=True)
class LintProblem:
    """One problem, at a line of a file."""

    path: str
    line: int | None
    severity: str  # error | warning
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        field = f"{self.field}: " if self.field else ""
        return f"{where}: {self.severity}: {field}{self.message}"


def _shown(path: str, root: str) -> str:
    return os.path.relpath(path, root) if "://" not in path and path.startswith(root + os.sep) else path


def lint_document(document: LocatedDocument) -> list[LintProblem]:
    """The structural problems of one contract."""
    return [
        LintProblem(document.path, document.line(f.where), f.severity, field_path(f.where), f.message)
        for f in check_document(document)
    ]


def _contract_files(path: str) -> tuple[str, list[tuple[str | None, str]], list[LintProblem]]:
    """(root folder, [(domain or None, contract path)], manifest problems) for a mesh, folder or file."""
    path = os.path.abspath(path) if "://" not in path else path
    if path.endswith(CONTRACT_SUFFIXES):
        return os.path.dirname(path), [(None, path)], []
    if os.path.isdir(path):
        return path, [(None, p) for p in find_contracts(path)], []
    manifest = read_located(path)
    root = os.path.dirname(path)
    problems, files = [], []
    domains = manifest.data.get("domains") if isinstance(manifest.data, dict) else None
    if not isinstance(domains, dict) or not domains:
        line = manifest.line(("domains",))
        return root, [], [LintProblem(_shown(path, root), line, "error", "domains", "map each domain to its folder")]
    for domain, folder in domains.items():
        location = str(folder) if "://" in str(folder) else os.path.normpath(os.path.join(root, str(folder)))
        try:
            files += [(str(domain), p) for p in find_contracts(location)]
        except MeshError as exc:
            line = manifest.line(("domains", domain))
            problems.append(LintProblem(_shown(path, root), line, "error", f"domains.{domain}", str(exc)))
    return root, files, problems


def _mesh_problems(documents: list[tuple[str | None, LocatedDocument]]) -> list[LintProblem]:
    problems, ids = [], {}
    for domain, doc in documents:
        raw = doc.data if isinstance(doc.data, dict) else {}
        if raw.get("id") is not None:
            if raw["id"] in ids:
                message = f"id '{raw['id']}' is also the id of {ids[raw['id']]}"
                problems.append(LintProblem(doc.path, doc.line(("id",)), "error", "id", message))
            ids.setdefault(raw["id"], doc.path)
        if domain and raw.get("domain") and raw["domain"] != domain:
            message = f"domain '{raw['domain']}' differs from the mesh's key '{domain}' for this folder"
            problems.append(LintProblem(doc.path, doc.line(("domain",)), "warning", "domain", message))
    return problems


def _relationship_problems(
    catalog, documents: list[tuple[str | None, LocatedDocument]], root: str
) -> list[LintProblem]:
    """Relationship targets that resolve to no column of the mesh."""
    from meshlab.quality.relationships import foreign_key_checks

    problems = []
    shown_documents = {d.path: d for _, d in documents}
    for dataset in catalog.datasets:
        doc = shown_documents.get(_shown(dataset.contract_path, root))
        if doc is None:
            continue
        for planned in foreign_key_checks(doc, dataset, catalog):
            if planned.outcome is None or planned.outcome.status != "error":
                continue
            place, _, field = planned.rule.partition(" ")
            line = place.rsplit(":", 1)[1] if ":" in place else ""
            message = planned.outcome.message.removeprefix(planned.rule + ": ")
            problems.append(LintProblem(doc.path, int(line) if line.isdigit() else None, "error", field, message))
    return problems


def lint_mesh(path: str) -> list[LintProblem]:
    """Lint the mesh at ``path`` (mesh.yaml, a domain folder or one contract).

    Returns
    -------
    list of LintProblem
        Errors and warnings, by file and line; empty when every contract is sound.
    """
    root, files, problems = _contract_files(str(path))
    documents = []
    for domain, file in files:
        try:
            document = read_located(file)
        except DescriptorError as exc:
            problems.append(LintProblem(_shown(file, root), None, "error", exc.field or "", exc.reason))
            continue
        shown = LocatedDocument(document.data, _shown(file, root), document.lines)
        documents.append((domain, shown))
        problems += lint_document(shown)
    problems += _mesh_problems(documents)
    broken = {p.path for p in problems if p.severity == "error"}
    try:
        catalog = load_catalog(str(path))
    except MeshError as exc:
        return sorted(problems, key=_order) + [LintProblem(_shown(str(path), root), None, "error", "", str(exc))]
    for error in catalog.errors:  # what meshlab itself refuses, should the structure have missed it
        shown = _shown(error.path, root)
        if shown not in broken:
            problems.append(LintProblem(shown, None, "error", error.field or "", error.reason))
    problems += _relationship_problems(catalog, documents, root)
    return sorted(problems, key=_order)


def _order(problem: LintProblem) -> tuple:
    return (problem.path, problem.line or 0)
