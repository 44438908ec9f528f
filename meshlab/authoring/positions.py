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


def _walk(node: yaml.Node, where: Path, loader: yaml.SafeLoader, lines: dict[Path, int]) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            child = (*where, key if isinstance(key, (str, int)) else str(key))
            lines[child] = key_node.start_mark.line + 1
            out[key] = _walk(value_node, child, loader, lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = (*where, index)
            lines[child] = item.start_mark.line + 1
            items.append(_walk(item, child, loader, lines))
        return items
    return loader.construct_object(node, deep=True)


def load_located(text: str, path: str = "<text>") -> LocatedDocument:
    """Parse ``text`` (one YAML document) keeping the line of every key and item.

    Raises
    ------
    DescriptorError
        When the text is not valid YAML; the message names the line and column.
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        lines: dict[Path, int] = {}
        data = None if root is None else _walk(root, (), loader, lines)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise DescriptorError(path, f"invalid YAML: {getattr(exc, 'problem', None) or exc}", where) from exc
    finally:
        loader.dispose()
    return LocatedDocument(data, path, lines)


def read_located(path: str) -> LocatedDocument:
    """:func:`load_located` on the file at ``path`` (a local path or fsspec URL)."""
    import fsspec

    try:
        with fsspec.open(path, "rt", encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise DescriptorError(path, f"cannot be read ({exc})") from exc
    return load_located(text, path)
