"""The policy file: users, roles, grants, column masks and row filters.

``policies:`` in ``mesh.yaml`` names it (a path relative to the manifest, or
any fsspec URL)::

    users:                        # user -> roles they may take; "*" = everyone else
      ana: [steward, analyst]
      "*": [analyst]
    roles:
      analyst:
        read: ["plays.*", "listeners.profiles"]      # address globs; the rest is denied
        unmask: []                                   # classifications seen in clear
        row_filters:
          listeners.profiles: "country IN ('DE', 'FR', 'SE')"
    masks:                        # per classification: hash | null | redact | SQL using {column}
      pii: hash
      restricted: "NULL"
    domain_policies:              # a domain narrows access to its own datasets
      listeners:
        roles: {analyst: {deny: ["listeners.payments"], row_filters: {…}}}
        masks: {internal: redact}

A domain policy may deny, filter and mask, never grant or unmask: it is
narrower than the global file by construction. It is inline, or a path to a
YAML file of the same shape (relative to the policy file).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

import fsspec
import sqlglot
import yaml
from sqlglot import exp
from sqlglot.errors import SqlglotError

from meshlab.errors import DescriptorError, SqlError
from meshlab.governance.masks import MASK_KINDS, SQL_DIALECT, parse_mask_sql
from meshlab.sql_shape import check_text, check_tree

ROLE_KEYS = {"read", "unmask", "row_filters"}
DOMAIN_ROLE_KEYS = {"deny", "row_filters"}
ANY_USER = "*"


@dataclass(frozen=True)
class RowFilter:
    """A predicate a role's reads of matching datasets must satisfy."""

    pattern: str  # address glob
    sql: str
    origin: str  # where it was declared, for messages

    def expression(self) -> exp.Expr:
        return sqlglot.parse_one(self.sql, read=SQL_DIALECT)


@dataclass(frozen=True)
class RolePolicy:
    """What one role may read and see."""

    name: str
    read: tuple[str, ...] = ()
    unmask: frozenset[str] = frozenset()
    row_filters: tuple[RowFilter, ...] = ()
    deny: tuple[str, ...] = ()


@dataclass(frozen=True)
class DomainPolicy:
    """A domain's own, narrower rules for its datasets."""

    domain: str
    roles: dict[str, RolePolicy] = field(default_factory=dict)
    masks: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """The whole governance setup of a mesh."""

    path: str
    users: dict[str, tuple[str, ...]]
    roles: dict[str, RolePolicy]
    masks: dict[str, str]
    domains: dict[str, DomainPolicy] = field(default_factory=dict)

    def roles_of(self, user: str) -> tuple[str, ...]:
        """The roles ``user`` may take, in the order the file lists them."""
        if user in self.users:
            return self.users[user]
        return self.users.get(ANY_USER, ())


def _mapping(value, path: str, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DescriptorError(path, f"must be a mapping, not {type(value).__name__}", where)
    return value


def _strings(value, path: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise DescriptorError(path, "must be a list of non-empty strings", where)
    return tuple(value)


def _check_predicate(text, path: str, where: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise DescriptorError(path, "a row filter is a non-empty SQL condition", where)
    try:
        check_text(text, SQL_DIALECT)  # the query shape limits hold for policies too (a DECIMAL(100, 2) panics)
        parsed = sqlglot.parse_one(text, read=SQL_DIALECT)
        check_tree(parsed)
    except SqlglotError as exc:
        raise DescriptorError(path, f"not an SQL condition: {str(exc).splitlines()[0]}", where) from None
    except SqlError as exc:
        raise DescriptorError(path, f"not a usable SQL condition: {exc}", where) from None
    if isinstance(parsed, (exp.Query, exp.DDL, exp.DML)) or parsed.find(exp.Select, exp.Table, exp.AggFunc):
        raise DescriptorError(path, "a row filter is a condition over the dataset's columns, not a query", where)
    return text


def _row_filters(value, path: str, where: str) -> tuple[RowFilter, ...]:
    return tuple(
        RowFilter(str(pattern).lower(), _check_predicate(sql, path, f"{where}.{pattern}"), f"{path}: {where}")
        for pattern, sql in _mapping(value, path, where).items()
    )


def _role(name: str, raw, path: str, allowed: set[str], where: str) -> RolePolicy:
    raw = _mapping(raw, path, where)
    for key in raw:
        if key not in allowed:
            narrower = " (a domain policy may only deny and filter)" if allowed is DOMAIN_ROLE_KEYS else ""
            raise DescriptorError(path, f"unknown key '{key}'{narrower}", f"{where}.{key}")
    return RolePolicy(
        name=name,
        read=tuple(p.lower() for p in _strings(raw.get("read"), path, f"{where}.read")),
        unmask=frozenset(_strings(raw.get("unmask"), path, f"{where}.unmask")),
        row_filters=_row_filters(raw.get("row_filters"), path, f"{where}.row_filters"),
        deny=tuple(p.lower() for p in _strings(raw.get("deny"), path, f"{where}.deny")),
    )


def _masks(raw, path: str, where: str) -> dict[str, str]:
    masks = {}
    for classification, spec in _mapping(raw, path, where).items():
        if not isinstance(spec, str) or not spec.strip():
            raise DescriptorError(path, f"a mask is one of {', '.join(MASK_KINDS)} or an SQL expression", where)
        if spec not in MASK_KINDS:
            try:
                parse_mask_sql(spec)
            except ValueError as exc:
                raise DescriptorError(path, str(exc), f"{where}.{classification}") from None
        masks[str(classification)] = spec
    return masks


def _read_yaml(path: str) -> dict:
    from meshlab.catalog.yaml_reading import MAX_DESCRIPTOR_BYTES, compose, decode

    try:
        with fsspec.open(path, "rb") as handle:
            text = decode(handle.read(MAX_DESCRIPTOR_BYTES + 1), path)  # size, UTF-8 and NUL bytes checked
        if "&" in text:  # anchors: refuse alias bombs before expanding them
            compose(text, path)[0].dispose()
        raw = yaml.safe_load(text)
    except FileNotFoundError:
        raise DescriptorError(path, "the policy file does not exist") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise DescriptorError(path, f"not valid YAML: {getattr(exc, 'problem', exc)}", where) from None
    except OSError as exc:
        raise DescriptorError(path, f"cannot be read ({exc})") from None
    return _mapping(raw, path, "(top level)")


def _domain(domain: str, raw, path: str, global_masks: dict[str, str]) -> DomainPolicy:
    if isinstance(raw, str):
        path = raw if "://" in raw or raw.startswith("/") else posixpath.join(posixpath.dirname(path), raw)
        raw = _read_yaml(path)
        where = "(top level)"
    else:
        raw = _mapping(raw, path, f"domain_policies.{domain}")
        where = f"domain_policies.{domain}"
    roles = {}
    for name, role_raw in _mapping(raw.get("roles"), path, f"{where}.roles").items():
        role = _role(str(name), role_raw, path, DOMAIN_ROLE_KEYS, f"{where}.roles.{name}")
        for pattern in role.deny + tuple(f.pattern for f in role.row_filters):
            if not pattern.startswith(f"{domain.lower()}."):
                raise DescriptorError(path, f"'{pattern}' is outside domain '{domain}'", f"{where}.roles.{name}")
        roles[str(name)] = role
    masks = _masks(raw.get("masks"), path, f"{where}.masks")
    for classification in masks:
        if classification in global_masks:
            raise DescriptorError(
                path, f"'{classification}' is already masked by the global policy", f"{where}.masks.{classification}"
            )
    return DomainPolicy(domain=domain, roles=roles, masks=masks)


def load_policy(path: str) -> Policy:
    """Read and check the policy file at ``path``.

    Raises :class:`~meshlab.errors.DescriptorError` naming the file and field
    of the first problem: a malformed policy must not silently grant access.
    """
    raw = _read_yaml(path)
    for key in raw:
        if key not in ("users", "roles", "masks", "domain_policies"):
            raise DescriptorError(path, f"unknown key '{key}'", key)
    roles = {
        str(name): _role(str(name), role, path, ROLE_KEYS, f"roles.{name}")
        for name, role in _mapping(raw.get("roles"), path, "roles").items()
    }
    users = {}
    for user, held in _mapping(raw.get("users"), path, "users").items():
        names = _strings(held, path, f"users.{user}")
        for name in names:
            if name not in roles:
                raise DescriptorError(path, f"role '{name}' is not defined under roles", f"users.{user}")
        users[str(user)] = names
    masks = _masks(raw.get("masks"), path, "masks")
    domains = {
        str(domain): _domain(str(domain), spec, path, masks)
        for domain, spec in _mapping(raw.get("domain_policies"), path, "domain_policies").items()
    }
    return Policy(path=path, users=users, roles=roles, masks=masks, domains=domains)


def policy_of(catalog) -> Policy | None:
    """The policy ``policies:`` of the catalog's manifest names, or None (no governance)."""
    manifest = catalog.manifest
    spec = manifest.settings.get("policies")
    if spec is None:
        return None
    if not isinstance(spec, str) or not spec.strip():
        raise DescriptorError(manifest.path, "must name the policy file", "policies")
    path = spec if "://" in spec or spec.startswith("/") else posixpath.join(posixpath.dirname(manifest.path), spec)
    return load_policy(path)
