"""ODCS ``servers`` entries -> :class:`Server`, each with the reader meshlab uses or why it has none.

Every server of a contract is read, whatever its type; one meshlab cannot read
(bigquery, kafka, a ``delta`` file, ...) is kept with ``problem`` saying why,
so the dataset is catalogued and marked *not queryable here* instead of
failing. ODCS puts meshlab's extensions in ``customProperties``:

- a CSV delimiter: ``customProperties: [{property: delimiter, value: ";"}]``;
- a SQLite database: ``type: custom`` with ``path`` and the custom property
  ``engine: sqlite``.

The house forms of earlier meshlab versions (``type: sqlite``, ``delimiter``
on a local server) are still read.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from typing import Any

from meshlab.catalog.server_kinds import ServerKind, claiming_kind, file_server_types, formats_read_on

JSON_DOCUMENT_DELIMITERS = ("array",)  # S3/azure/sftp ``delimiter`` for json: one document per file
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Server:
    """Where a dataset lives: a file location or a database.

    ``kind`` is the registered source kind that reads it
    (:mod:`meshlab.catalog.server_kinds`), None when none does (``problem``
    says why). ``type`` is the server type as the contract declares it, except
    that a database kind's server takes the kind's name (``postgresql`` ->
    ``postgres``) and a ``custom`` file server is ``local``. ``path`` of a
    file server is resolved against the contract's folder and may hold
    ``{model}`` (the schema object's name).
    """

    name: str
    type: str
    kind: str | None = None
    format: str | None = None
    path: str | None = None
    delimiter: str = ","
    host: str | None = None
    port: int | None = None
    database: str | None = None
    schema: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    problem: str | None = None  # why meshlab cannot read it; None when it can
    json_document: bool = False  # json files hold one document (an array) rather than NDJSON

    @property
    def readable(self) -> bool:
        return self.problem is None

    def property(self, key: str) -> str | None:
        return dict(self.properties).get(key)

    def for_object(self, name: str) -> Server:
        """This server with ``{model}`` in its path replaced by ``name``."""
        from dataclasses import replace

        return replace(self, path=self.path.replace("{model}", name)) if self.path and "{model}" in self.path else self


def custom_properties(raw: Any) -> tuple[tuple[str, str], ...]:
    """``customProperties`` as (property, value) pairs; both ODCS's list form and a mapping."""
    if isinstance(raw, dict):
        return tuple((str(k), str(v)) for k, v in raw.items())
    pairs = []
    for item in raw if isinstance(raw, list) else ():
        if isinstance(item, dict) and "property" in item:
            pairs.append((str(item["property"]), str(item.get("value", ""))))
    return tuple(pairs)


def _resolve(base: str, location: str) -> str:
    if "://" in location or location.startswith("/"):
        return location
    if "://" in base:
        protocol, rest = base.split("://", 1)
        return f"{protocol}://{posixpath.normpath(posixpath.join(rest, location))}"
    return posixpath.normpath(posixpath.join(base, location))


def _port(value: Any) -> tuple[int | None, str | None]:
    """A port number; ``${PG_PORT}`` is read from the environment."""
    if value is None or isinstance(value, bool):
        return None, None if value is None else f"port {value!r} is not a number"
    text = _VARIABLE.sub(lambda m: os.environ.get(m.group(1) or m.group(2), m.group(0)), str(value)).strip()
    if text.isdigit() and 0 < int(text) < 65536:
        return int(text), None
    return None, f"port {value!r} is not a port number" + (" (variable not set)" if "$" in text else "")


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)


def _reader(declared: str, raw: dict, props: dict) -> tuple[ServerKind | None, str | None]:
    """(the kind that reads this server, why it cannot be read)."""
    engine = str(props.get("engine") or "").lower()
    fmt = str(raw.get("format") or "").lower()
    kind = claiming_kind(declared, fmt, engine)
    if kind is not None:
        return kind, kind.problem(raw)
    if declared in file_server_types():
        if not (raw.get("path") or raw.get("location")):
            return None, "no path or location"
        shown = f"format '{fmt}'" if fmt else "no format"
        return None, f"{shown}: meshlab reads {', '.join(formats_read_on(declared))} files"
    if declared == "custom" and (engine or fmt):
        return None, f"a custom server of {'engine' if engine else 'format'} '{engine or fmt}' has no reader in meshlab"
    return None, f"server type '{declared}' has no reader in meshlab"


def parse_server(raw: Any, path: str, index: int) -> Server:
    """Read one ``servers[index]`` entry of the contract at ``path``; never raises."""
    if not isinstance(raw, dict):
        return Server(name=f"server{index}", type="?", problem="a server must be a mapping")
    props = custom_properties(raw.get("customProperties"))
    named = dict(props)
    declared = str(raw.get("type") or "").lower() or "?"
    kind, problem = _reader(declared, raw, named)
    location = _text(raw.get("path") or raw.get("location"))
    if location and (kind is None or kind.location_is_path):
        location = _resolve(posixpath.dirname(path), location)
    if kind is not None and not kind.formats:
        shown_type = kind.name
    else:
        shown_type = "local" if declared == "custom" and kind is not None else declared
    port, port_problem = _port(raw.get("port"))
    if problem is None and kind is not None and "host" in kind.required:
        problem = port_problem  # a server reached by host and port needs a port it can use
    fmt = _text(raw.get("format"))
    declared_delimiter = _text(raw.get("delimiter"))
    json_document = fmt is not None and fmt.lower() == "json" and declared_delimiter in JSON_DOCUMENT_DELIMITERS
    delimiter = named.get("delimiter") or (
        declared_delimiter if declared_delimiter and len(declared_delimiter) == 1 else ","
    )
    return Server(
        name=str(raw.get("server") or f"server{index}"),
        type=shown_type,
        kind=kind.name if kind is not None and problem is None else None,
        format=fmt.lower() if fmt and (kind is None or kind.formats) else None,
        path=location,
        delimiter=delimiter,
        host=_text(raw.get("host")),
        port=port,
        database=_text(raw.get("database")),
        schema=_text(raw.get("schema")),
        properties=props,
        problem=problem,
        json_document=json_document,
    )
