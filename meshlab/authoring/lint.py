"""``meshlab lint``: every contract of a mesh against the official ODCS schema, then meshlab's checks.

Messages read ``file:line: severity: field: message``. Errors are exactly the
official schema's violations (one per violation, so the count matches any
validator of the same schema) and what keeps a file from being read at all
(not YAML, over a limit). Warnings and notices come from
:mod:`meshlab.authoring.odcs_structure` and from what needs the whole mesh:
domain folders that exist, contract ids used once, the ``domain`` of a
contract matching its folder's key, and relationship targets that resolve to
a column of the mesh. ``--strict`` fails on warnings and notices too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from meshlab.authoring.odcs_structure import check_document
from meshlab.catalog import load_catalog
from meshlab.catalog.loader import CONTRACT_SUFFIXES, find_contracts, is_contract_file
from meshlab.catalog.positions import LocatedDocument, field_path, read_located
from meshlab.errors import DescriptorError, MeshError


@dataclass(frozen=True)
class LintProblem:
    """One problem, at a line of a file."""

    path: str
    line: int | None
    severity: str  # error | warning | notice
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        field = f"{self.field}: " if self.field else ""
        return f"{where}: {self.severity}: {field}{self.message}"


def is_odcs_named(path: str) -> bool:
    return path.lower().endswith(CONTRACT_SUFFIXES)


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
    files: list[tuple[str | None, str]]
    if is_contract_file(path):
        return os.path.dirname(path), [(None, path)], []
    if os.path.isdir(path):
        files = [(None, p) for p in find_contracts(path)]
        return path, files, []
    manifest = read_located(path)
    root = os.path.dirname(path)
    if (
        isinstance(manifest.data, dict)
        and manifest.data.get("kind") == "DataContract"
        and "domains" not in manifest.data
    ):
        return root, [(None, path)], []  # one contract in a .yaml file: a mesh of one
    problems: list[LintProblem] = []
    files = []
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
    problems: list[LintProblem] = []
    ids: dict[str | int | float, str] = {}
    for domain, doc in documents:
        raw = doc.data if isinstance(doc.data, dict) else {}
        if isinstance(raw.get("id"), str | int | float):
            if raw["id"] in ids:
                message = f"id '{raw['id']}' is also the id of {ids[raw['id']]}"
                problems.append(LintProblem(doc.path, doc.line(("id",)), "warning", "id", message))
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
            problems.append(LintProblem(doc.path, int(line) if line.isdigit() else None, "warning", field, message))
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
            problems.append(_unreadable(_shown(file, root), exc))
            continue
        if not is_odcs_named(file) and not (
            isinstance(document.data, dict) and document.data.get("kind") == "DataContract"
        ):
            continue  # a datacontract.yaml in another format: not ours to lint (the loader skips it too)
        shown = LocatedDocument(document.data, _shown(file, root), document.lines)
        documents.append((domain, shown))
        problems += lint_document(shown)
    problems += _mesh_problems(documents)
    broken = {p.path for p in problems if p.severity == "error"}
    try:
        catalog = load_catalog(str(path))
    except MeshError as exc:
        return sorted(problems, key=_order) + [LintProblem(_shown(str(path), root), None, "error", "", str(exc))]
    for error in catalog.errors:  # what meshlab itself refuses in a valid contract (a limit, an address clash)
        named = _shown(error.path, root)
        if named not in broken:
            problems.append(_unreadable(named, error, "warning"))
    problems += _relationship_problems(catalog, documents, root)
    return sorted(problems, key=_order)


def _unreadable(shown: str, exc: DescriptorError, severity: str = "error") -> LintProblem:
    """A file meshlab cannot read at all: the error's ``line N`` becomes the problem's line."""
    field = exc.field or ""
    if field.startswith("line "):
        number = field.split()[1].rstrip(",")
        return LintProblem(shown, int(number) if number.isdigit() else None, severity, "", exc.reason)
    return LintProblem(shown, None, severity, field, exc.reason)


def _order(problem: LintProblem) -> tuple:
    return (problem.path, problem.line or 0)
