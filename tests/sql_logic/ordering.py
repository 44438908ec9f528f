"""Whether a case's answer is ordered, and on which output positions."""

from __future__ import annotations


def ordering(sql: str, declared: bool | None = None) -> tuple[bool, list[int] | None]:
    """``(ordered, order_by)`` for ``assert_same_rows``.

    ``declared`` (the case's ``ordered`` flag) wins: true compares row for row, false as
    multisets. Otherwise the outermost ORDER BY decides, its keys as output positions
    (``conftest.order_by_positions``); a key that is no output column needs the flag.
    """
    from conftest import order_by_positions

    if declared is not None:
        return bool(declared), None
    try:
        positions = order_by_positions(sql, "duckdb")
    except ValueError as error:
        raise ValueError(f"{error}: give the case `ordered: true` (row for row) or `ordered: false`") from error
    return bool(positions), positions or None
