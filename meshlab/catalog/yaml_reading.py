"""Descriptor files read within bounds: size, encoding, NUL bytes, YAML aliases.

Every descriptor (a contract, ``mesh.yaml``) goes through :func:`read_descriptor`
so that bad input ends in one :class:`DescriptorError` line naming the file and
line, in bounded time and memory:

- a file larger than :data:`MAX_DESCRIPTOR_BYTES` is refused before parsing;
- bytes that are not UTF-8, and NUL bytes, are reported with their line;
- YAML aliases may not expand the document beyond :data:`MAX_EXPANDED_NODES`
  values (a "billion laughs" document has a few lines and 10⁹ values).
"""

from __future__ import annotations

from typing import Any

import yaml

from meshlab.errors import DescriptorError

#: the largest descriptor read (a contract of 100,000 properties is about 6 MB)
MAX_DESCRIPTOR_BYTES = 20 * 1024 * 1024
#: values in a document once its aliases are expanded
MAX_EXPANDED_NODES = 5_000_000

# libyaml's loader, when PyYAML was built with it, reads contracts about 10x faster
# (a mesh of 10,000 contracts: ~2 s instead of ~20 s); it builds the same objects.
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line_of(data: bytes | str, offset: int) -> int:
    if isinstance(data, bytes):
        return data.count(b"\n", 0, offset) + 1
    return data.count("\n", 0, offset) + 1


def decode(data: bytes, path: str) -> str:
    """``data`` as text: UTF-8 (a BOM allowed), no NUL byte, within the size limit."""
    if len(data) > MAX_DESCRIPTOR_BYTES:
        size, limit = len(data) / 2**20, MAX_DESCRIPTOR_BYTES / 2**20
        raise DescriptorError(path, f"file is {size:.1f} MB, over meshlab's limit of {limit:.0f} MB for a descriptor")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        where = f"line {_line_of(data, exc.start)}"
        raise DescriptorError(path, f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded", where) from None
    nul = text.find("\0")
    if nul >= 0:
        raise DescriptorError(path, "contains a NUL byte (not a text file?)", f"line {_line_of(text, nul)}")
    return text


def _yaml_error(exc: yaml.YAMLError, path: str) -> DescriptorError:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    return DescriptorError(path, f"invalid YAML: {problem}", where)


def _expanded_size(root: yaml.Node, path: str) -> int:
    """How many values the document has with every alias expanded (aliases share nodes)."""
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in size:
            continue
        if isinstance(node, yaml.ScalarNode):
            size[id(node)] = 1
            continue
        children = [v for pair in node.value for v in pair] if isinstance(node, yaml.MappingNode) else node.value
        if children_done:
            total = 1 + sum(size.get(id(c), 0) for c in children)
            if total > MAX_EXPANDED_NODES:
                raise DescriptorError(
                    path,
                    f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} values (an alias bomb?)",
                    f"line {node.start_mark.line + 1}",
                )
            size[id(node)] = total
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)
    return size[id(root)]


def compose(text: str, path: str, loader_class=FAST_LOADER):
    """(loader, root node) of ``text``, checked against the alias limit; dispose the loader after use."""
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        if root is not None and "&" in text:  # aliases need anchors: without one there is nothing to expand
            _expanded_size(root, path)
    except yaml.YAMLError as exc:
        loader.dispose()
        raise _yaml_error(exc, path) from None
    except RecursionError:
        loader.dispose()
        raise DescriptorError(path, "invalid YAML: nested too deeply") from None
    except DescriptorError:
        loader.dispose()
        raise
    return loader, root


def parse_yaml(text: str, path: str) -> Any:
    """The YAML document ``text`` as plain data, within the limits."""
    loader, root = compose(text, path)
    try:
        return None if root is None else loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from None
    finally:
        loader.dispose()
