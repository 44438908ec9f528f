"""Tab completion inside ``%%mesh`` cells: dataset addresses, then their columns.

The cell is read with sqlglot's tokenizer (it tolerates half-written SQL), to
find the addresses it names and their aliases; ``alias.<TAB>`` and
``domain.dataset.<TAB>`` offer the dataset's columns, ``domain.<TAB>`` its
datasets.
"""

from __future__ import annotations

from sqlglot import tokenize
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from meshlab.catalog import Dataset
from meshlab.mesh import Mesh
from meshlab.planner.parse import READ_DIALECT

NAME_TOKENS = (TokenType.VAR, TokenType.IDENTIFIER)
MAGIC_PREFIXES = ("%%mesh", "%mesh")


def referenced_datasets(mesh: Mesh, sql: str) -> dict[str, Dataset]:
    """Aliases and addresses named in ``sql`` (lower-cased) -> the dataset they refer to."""
    try:
        tokens = tokenize(sql, read=READ_DIALECT)
    except SqlglotError:
        return {}
    found: dict[str, Dataset] = {}
    i = 0
    while i < len(tokens):
        parts, j = [], i
        while j < len(tokens) and tokens[j].token_type in NAME_TOKENS:
            parts.append(tokens[j].text)
            if j + 1 < len(tokens) and tokens[j + 1].token_type == TokenType.DOT:
                j += 2
            else:
                j += 1
                break
        if len(parts) >= 2:
            address = ".".join(parts)
            try:
                dataset = mesh.dataset(address)
            except Exception:  # noqa: BLE001 - not an address: keep scanning
                dataset = None
            if dataset is not None:
                found[address.lower()] = dataset
                found[parts[-1].lower()] = dataset  # an unaliased table is named by its last part
                k = j + 1 if j < len(tokens) and tokens[j].token_type == TokenType.ALIAS else j
                if k < len(tokens) and tokens[k].token_type in NAME_TOKENS:
                    found[tokens[k].text.lower()] = dataset
                i = j
                continue
        i = max(j, i + 1)
    return found


def complete(mesh: Mesh, cell: str, token: str) -> list[str]:
    """Completions replacing ``token`` (the word before the cursor) in a ``%%mesh`` cell."""
    head, dot, tail = token.rpartition(".")
    lowered_tail = tail.lower()
    datasets = mesh.datasets()
    if not dot:
        domains = sorted({d.domain + "." for d in datasets})
        addresses = [d.address for d in datasets]
        return [c for c in domains + addresses if c.lower().startswith(token.lower())]
    known = referenced_datasets(mesh, cell)
    dataset = known.get(head.lower())
    if dataset is None:
        try:
            dataset = mesh.dataset(head)
        except Exception:  # noqa: BLE001 - head is not an address
            dataset = None
    if dataset is not None:
        return [f"{head}.{c.name}" for c in dataset.columns if c.name.lower().startswith(lowered_tail)]
    prefix = head.lower() + "."
    return sorted(
        {
            head + d.address[len(head) :]
            for d in datasets
            if d.address.lower().startswith(prefix) and d.address.lower()[len(prefix) :].startswith(lowered_tail)
        }
    )


def register_completer(shell, magics) -> None:
    """Add the ``%%mesh`` matcher to IPython's completer (Matcher API v2)."""
    from IPython.core.completer import SimpleCompletion, context_matcher

    @context_matcher(identifier="meshlab.sql")
    def mesh_matcher(context):
        text = context.full_text.lstrip()
        mesh = magics.connected
        if not text.startswith(MAGIC_PREFIXES) or not isinstance(mesh, Mesh):  # server mode: no catalog here
            return {"completions": [], "suppress": False}
        body = text.split("\n", 1)[1] if text.startswith("%%") and "\n" in text else text
        options = complete(mesh, body, context.token)
        return {
            "completions": [SimpleCompletion(text=o, type="meshlab") for o in options],
            "matched_fragment": context.token,
            "suppress": bool(options),
        }

    matchers = shell.Completer.custom_matchers
    matchers[:] = [m for m in matchers if getattr(m, "matcher_identifier", None) != "meshlab.sql"]
    matchers.append(mesh_matcher)
