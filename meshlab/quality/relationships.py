"""ODCS v3.1 ``relationships`` (foreign keys), also across domains.

A relationship sits on a property (``to`` only: the property is the implicit
``from``) or on a schema object (``from`` and ``to``, strings or equally long
lists for composite keys). ``to`` is read as:

* ``schema/<object>/properties/<property>``: the fully qualified form (ids or names), same contract;
* ``other.odcs.yaml#/schema/<object>/properties/<property>``: the same in another contract file
  (relative to this one), the form ODCS gives references across contracts and domains;
* ``object.property``: ODCS shorthand, a schema object of the same contract;
* ``domain.dataset.column`` (or ``domain.product.dataset.column``): a mesh
  address, which may be in another domain — meshlab's reading of a shorthand
  whose first part is not a schema object of the contract.

The check counts source rows with a complete (non-null) key that has no match
in the target, through ``mesh.sql`` — so each side is read with pushdown, and
both may live on different servers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from meshlab.catalog import Dataset
from meshlab.catalog.contract import listed
from meshlab.catalog.positions import LocatedDocument, field_path
from meshlab.errors import MeshError
from meshlab.planner.parse import READ_DIALECT
from meshlab.quality.failing_rows import fetch_rows, qualified, table_ref
from meshlab.quality.planned import Planned, known, plural
from meshlab.quality.rules import schema_index

if TYPE_CHECKING:
    from meshlab.catalog import Catalog
    from meshlab.quality.checked_mesh import CheckedMesh
    from meshlab.quality.report import CheckResult


class ReferenceProblem(Exception):
    """A relationship reference that cannot be resolved (the message says why)."""


@dataclass(frozen=True)
class ForeignKey:
    """Source columns of one dataset that must match target columns of another."""

    dataset: str
    columns: tuple[str, ...]
    target: str
    target_columns: tuple[str, ...]
    place: str

    @property
    def check(self) -> str:
        left = self.columns[0] if len(self.columns) == 1 else f"({', '.join(self.columns)})"
        right = ", ".join(f"{self.target}.{c}" for c in self.target_columns)
        return f"foreignKey:{left}->{right if len(self.target_columns) == 1 else f'({right})'}"


def _same_contract(document: LocatedDocument, dataset: Dataset, catalog: Catalog, obj_key: str) -> Dataset:
    for candidate in catalog.datasets:
        if candidate.contract_path != dataset.contract_path:
            continue
        i = schema_index(document, candidate.name)
        raw = document.data["schema"][i] if i is not None else {}
        if obj_key in (candidate.name, str(raw.get("id"))):
            return candidate
    raise ReferenceProblem(f"no schema object '{obj_key}' in {dataset.contract_path}")


def _property_name(document: LocatedDocument, target: Dataset, key: str) -> str:
    i = schema_index(document, target.name)
    for prop in listed(document.data["schema"][i].get("properties")) if i is not None else ():
        if isinstance(prop, dict) and key in (str(prop.get("name")), str(prop.get("id"))):
            return str(prop.get("name"))
    declared = target.column(key)
    if declared is not None:
        return declared.name
    raise ReferenceProblem(f"{target.address} has no column '{key}'")


def resolve_reference(ref: str, document: LocatedDocument, dataset: Dataset, catalog: Catalog) -> tuple[Dataset, str]:
    """``(target dataset, column)`` that ``ref`` names; :class:`ReferenceProblem` when none."""
    ref = ref.strip()
    if "#" in ref:
        return _in_other_file(ref, dataset, catalog)
    ref = ref.removeprefix("/")
    if ref.startswith("schema/"):
        parts = ref.split("/")
        if len(parts) != 4 or parts[2] != "properties":
            raise ReferenceProblem(f"'{ref}' is not schema/<object>/properties/<property>")
        target = _same_contract(document, dataset, catalog, parts[1])
        return target, _property_name(document, target, parts[3])
    parts = ref.split(".")
    if len(parts) < 2:
        raise ReferenceProblem(f"'{ref}' names no column: write object.column or domain.dataset.column")
    objects = {str(o.get("name")) for o in listed(document.data.get("schema")) if isinstance(o, dict)}
    if len(parts) == 2 and parts[0] in objects:
        target = _same_contract(document, dataset, catalog, parts[0])
        return target, _property_name(document, target, parts[1])
    for cut in range(len(parts) - 1, 1, -1):
        try:
            target = catalog.resolve(".".join(parts[:cut]))
        except MeshError:
            continue
        column = ".".join(parts[cut:])
        declared = target.column(column)
        if declared is None:
            raise ReferenceProblem(f"{target.address} has no column '{column}'")
        return target, declared.name
    raise ReferenceProblem(f"'{ref}' names no dataset of the mesh or of {dataset.contract_path}")


def _in_other_file(ref: str, dataset: Dataset, catalog: Catalog) -> tuple[Dataset, str]:
    """``file.yaml#/schema/<object>/properties/<property>``, the file relative to ``dataset``'s contract."""
    import posixpath

    location, _, pointer = ref.partition("#")
    parts = pointer.strip("/").split("/")
    if len(parts) != 4 or parts[0] != "schema" or parts[2] != "properties":
        raise ReferenceProblem(f"'{ref}' is not file.yaml#/schema/<object>/properties/<property>")
    path = (
        location
        if "://" in location
        else posixpath.normpath(posixpath.join(posixpath.dirname(dataset.contract_path), location))
    )
    in_file = [d for d in catalog.datasets if posixpath.normpath(d.contract_path) == path]
    if not in_file:
        raise ReferenceProblem(f"'{ref}': {location} is no contract of the mesh")
    for target in in_file:
        i = schema_index(LocatedDocument(target.descriptor, target.contract_path), target.name)
        obj = target.descriptor["schema"][i] if i is not None else {}
        if parts[1] not in (target.name, str(obj.get("id"))):
            continue
        for prop in listed(obj.get("properties")):
            if isinstance(prop, dict) and parts[3] in (str(prop.get("name")), str(prop.get("id"))):
                return target, str(prop.get("name"))
        raise ReferenceProblem(f"{target.address} has no column '{parts[3]}'")
    raise ReferenceProblem(f"'{ref}': no schema object '{parts[1]}' in {location}")


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _from_column(ref: str, dataset: Dataset) -> str | None:
    """The column of ``dataset`` a schema-level ``from`` names; None when it is another object's."""
    obj, _, column = ref.rpartition(".")
    if ref.startswith("schema/"):
        parts = ref.split("/")
        obj, column = parts[1], parts[-1]
    return column if obj in ("", dataset.name) else None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


Entry = tuple[tuple[str | int, ...], Any, list[str] | None]


def _entries(document: LocatedDocument, dataset: Dataset) -> list[Entry]:
    """(where, raw relationship, source columns or None for property level) of ``dataset``'s object."""
    i = schema_index(document, dataset.name)
    if i is None:
        return []
    obj = document.data["schema"][i]
    found: list[Entry] = []
    for j, prop in enumerate(_listed(obj.get("properties"))):
        if isinstance(prop, dict):
            for k, raw in enumerate(_listed(prop.get("relationships"))):
                found.append((("schema", i, "properties", j, "relationships", k), raw, [str(prop.get("name"))]))
    for k, raw in enumerate(_listed(obj.get("relationships"))):
        found.append((("schema", i, "relationships", k), raw, None))
    return found


def foreign_key_checks(document: LocatedDocument, dataset: Dataset, catalog: Catalog) -> list[Planned]:
    """Every relationship of ``dataset`` as a planned check (known errors for unresolvable ones)."""
    out = []
    for where, raw, columns in _entries(document, dataset):
        place = f"{document.place(where)} {field_path(where)}"
        name = f"foreignKey[{field_path(where)}]"
        try:
            key = _foreign_key(raw, columns, document, dataset, catalog, place)
        except ReferenceProblem as problem:
            out.append(known(dataset.address, name, "relationship", "error", f"{place}: {problem}", place))
            continue
        if key is not None:
            out.append(Planned(dataset.address, key.check, "relationship", place, run=_runner(key)))
    return out


def _foreign_key(raw, columns, document, dataset, catalog, place) -> ForeignKey | None:
    if not isinstance(raw, dict) or "to" not in raw:
        raise ReferenceProblem("a relationship needs 'to'")
    kind = str(raw.get("type") or "foreignKey")
    if kind != "foreignKey":
        raise ReferenceProblem(f"unknown relationship type '{kind}' (known: foreignKey)")
    if columns is not None and "from" in raw:
        raise ReferenceProblem("'from' is not allowed on a property: the property is the source")
    if columns is None:
        if "from" not in raw:
            raise ReferenceProblem("a relationship on a schema object needs 'from'")
        sources = [_from_column(ref, dataset) for ref in _as_list(raw["from"])]
        if any(s is None for s in sources):
            return None  # written on this object but about another one
        columns = sources
    targets = [resolve_reference(ref, document, dataset, catalog) for ref in _as_list(raw["to"])]
    if len(targets) != len(columns):
        raise ReferenceProblem(f"'from' has {len(columns)} columns but 'to' has {len(targets)}")
    if len({t.address for t, _ in targets}) != 1:
        raise ReferenceProblem("a composite key must point at columns of one dataset")
    missing = [c for c in columns if dataset.column(c) is None]
    if missing:
        raise ReferenceProblem(f"{dataset.address} has no column '{missing[0]}'")
    return ForeignKey(dataset.address, tuple(columns), targets[0][0].address, tuple(c for _, c in targets), place)


def orphan_query(key: ForeignKey, count: bool, limit: int | None = None) -> exp.Select:
    """Source rows with a complete key and no match in the target (or their count)."""
    s, t = qualified("s"), qualified("t")
    keys = [f"k{i}" for i in range(len(key.target_columns))]
    distinct = (
        exp.select(*(exp.alias_(exp.column(c, quoted=True), k, quoted=True) for c, k in zip(key.target_columns, keys)))
        .from_(table_ref(key.target))
        .distinct()
    )
    on = exp.and_(*(exp.EQ(this=s(c), expression=t(k)) for c, k in zip(key.columns, keys)))
    where = exp.and_(*(s(c).is_(exp.null()).not_() for c in key.columns), t(keys[0]).is_(exp.null()))
    projection = (
        exp.alias_(exp.Count(this=exp.Star()), "orphans", quoted=True)
        if count
        else exp.Column(this=exp.Star(), table=exp.to_identifier("s", quoted=True))
    )
    query = exp.select(projection).from_(table_ref(key.dataset, "s"))
    query = query.join(distinct.subquery("t", copy=False), on=on, join_type="left").where(where)
    return query.limit(limit) if limit is not None else query


def _runner(key: ForeignKey) -> Callable[[CheckedMesh, int], CheckResult]:
    def run(mesh: CheckedMesh, failing_rows: int) -> CheckResult:
        planned = Planned(key.dataset, key.check, "relationship", key.place)
        result = mesh.sql(orphan_query(key, count=True).sql(dialect=READ_DIALECT))
        orphans = int(result.df.item(0, 0) or 0)
        target = ", ".join(f"{key.target}.{c}" for c in key.target_columns)
        message = f"{plural(orphans, 'row')} with no match in {target}"
        if orphans == 0:
            return planned.result("passed", 0, 0, message)
        rows = fetch_rows(mesh, orphan_query(key, count=False, limit=failing_rows)) if failing_rows else []
        return planned.result("failed", orphans, 0, message, rows)

    return run
