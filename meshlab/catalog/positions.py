"""YAML documents that remember where each value was written.

``yaml.safe_load`` forgets positions; lint messages and check errors need
``file:line``. :func:`load_located` composes the node tree (which keeps each
node's start mark), builds the plain data from it with PyYAML's own safe
constructor, and records the line of every mapping key and sequence item
under its path, e.g. ``("schema", 0, "properties", 2, "logicalType")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from meshlab.catalog.yaml_reading import MAX_DESCRIPTOR_BYTES, compose, decode
from meshlab.errors import DescriptorError

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class LocatedDocument:
    """Parsed YAML plus the 1-based line of every path in it.

    Attributes
    ----------
    data
        The document as plain Python data (what ``yaml.safe_load`` returns).
    path
        The file it came from, for messages.
    lines
        path -> line of the key (mapping entries) or of the item (sequence entries).
    """

    data: Any
    path: str
    lines: dict[Path, int] = field(default_factory=dict, compare=False)

    def line(self, where: Path) -> int | None:
        """The line of ``where``, else of its nearest ancestor that has one."""
        where = tuple(where)
        while where:
            if where in self.lines:
                return self.lines[where]
            where = where[:-1]
        return 1 if self.data is not None else None

    def place(self, where: Path) -> str:
        """``file:line`` of ``where``."""
        line = self.line(where)
        return f"{self.path}:{line}" if line else self.path


def field_path(where: Path) -> str:
    """``schema[0].properties[2].logicalType`` for ``("schema", 0, "properties", 2, "logicalType")``."""
    text = ""
    for part in where:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _walk(root: yaml.Node, loader, lines: dict[Path, int]) -> Any:
    """Plain data of ``root``, recording the line of every key and item (iterative: no depth limit)."""
    out: dict = {}
    stack: list[tuple[yaml.Node, Path, Any, Any]] = [(root, (), out, "root")]
    while stack:
        node, where, parent, slot = stack.pop()
        if isinstance(node, yaml.MappingNode):
            value: Any = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=True)
                child = (*where, key if isinstance(key, (str, int)) else str(key))
                lines[child] = key_node.start_mark.line + 1
                value[key] = None
                stack.append((value_node, child, value, key))
        elif isinstance(node, yaml.SequenceNode):
            value = [None] * len(node.value)
            for index, item in enumerate(node.value):
                child = (*where, index)
                lines[child] = item.start_mark.line + 1
                stack.append((item, child, value, index))
        else:
            value = loader.construct_object(node, deep=True)
        parent[slot] = value
    return out["root"]


def load_located(text: str, path: str = "<text>") -> LocatedDocument:
    """Parse ``text`` (one YAML document) keeping the line of every key and item.

    Raises
    ------
    DescriptorError
        When the text is not valid YAML (the message names the line and
        column) or its aliases expand beyond meshlab's limit.
    """
    loader, root = compose(text, path)
    try:
        lines: dict[Path, int] = {}
        data = None if root is None else _walk(root, loader, lines)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise DescriptorError(path, f"invalid YAML: {problem}", where) from exc
    finally:
        loader.dispose()
    return LocatedDocument(data, path, lines)


def read_located(path: str) -> LocatedDocument:
    """:func:`load_located` on the file at ``path`` (a local path or fsspec URL), within meshlab's limits."""
    import fsspec

    try:
        with fsspec.open(path, "rb") as handle:
            data = handle.read(MAX_DESCRIPTOR_BYTES + 1)
    except OSError as exc:
        raise DescriptorError(path, f"cannot be read ({exc})") from exc
    return load_located(decode(data, path), path)
