"""Pass: bind each ``:name`` placeholder to the literal of its value.

    SELECT * FROM shop.orders WHERE status = :s AND o_id IN :ids
    (s = 'F', ids = [1, 2])
    -> SELECT * FROM shop.orders WHERE status = 'F' AND o_id IN (1, 2)

Values become literals of the tree (:func:`meshlab.planner.parse.literal`), never SQL text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlglot import exp

from meshlab.errors import ParameterError
from meshlab.planner.parse import literal
from meshlab.planner.state import PlanState


def run(state: PlanState) -> PlanState:
    bind_parameters(state.tree, state.params)  # in place: the tree's root is never a placeholder
    return state


def bind_parameters(statement: exp.Expression, params: Mapping[str, Any] | None) -> exp.Expression:
    """Replace each ``:name`` with the literal value of ``params[name]``.

    A list binds as several values where a list is allowed (``x IN :names``).
    """
    params = dict(params or {})
    for node in list(statement.find_all(exp.Placeholder)):
        name = node.name
        if name in ("", "?"):  # DuckDB's parser names a positional placeholder '?'
            raise ParameterError("positional '?' parameters are not supported; use :name")
        if name not in params:
            raise ParameterError(f"no value for parameter :{name}")
        values = _values(params[name], name)
        parent = node.parent
        if isinstance(parent, exp.In) and node.arg_key in ("field", "expressions"):
            parent.set("field", None)
            kept = [e for e in parent.expressions if e is not node]
            parent.set("expressions", kept + values)
        elif len(values) == 1:
            node.replace(values[0])
        else:
            node.replace(exp.Tuple(expressions=values))
    return statement


def _values(value: Any, name: str) -> list[exp.Expression]:
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else list(value)
        if not items:
            raise ParameterError(f"parameter :{name} is an empty list")
        return [literal(v, name) for v in items]
    return [literal(value, name)]
