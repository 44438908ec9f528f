"""How meshlab shows things, as text and as HTML: results, plans (before and after they run), lineage, check reports, dataset cards.

One neutral module for every front end: ``Result`` and ``CheckReport`` render through it
(``repr`` and ``_repr_html_``), the command line prints with it, the notebook widgets and
server mode show with it. It imports no front end (no IPython, no ipywidgets, nothing of
``meshlab.jupyter``) and nothing above the catalog: the objects it draws it knows by type
only (docs/architecture.md, layers).

Every value is escaped; timings read ``N.NNN s`` (:data:`TIME_PATTERN`) and check times
``checked YYYY-MM-DD HH:MM:SS UTC`` (:data:`CHECKED_PATTERN`) so notebook tests can mask them.
"""

from meshlab.rendering.checks import CHECKED_PATTERN, last_check_html, last_check_text, report_html, report_text
from meshlab.rendering.datasets import dataset_html
from meshlab.rendering.html_parts import (
    FLAGGED_STATUSES,
    STYLE,
    TIME_PATTERN,
    preview_html,
    shape_text,
    status_badge,
)
from meshlab.rendering.results import (
    lineage_html,
    plan_text,
    pushdown_html,
    remote_result_html,
    remote_result_text,
    result_html,
    result_text,
)

__all__ = [
    "CHECKED_PATTERN",
    "FLAGGED_STATUSES",
    "STYLE",
    "TIME_PATTERN",
    "dataset_html",
    "last_check_html",
    "last_check_text",
    "lineage_html",
    "plan_text",
    "preview_html",
    "pushdown_html",
    "remote_result_html",
    "remote_result_text",
    "report_html",
    "report_text",
    "result_html",
    "result_text",
    "shape_text",
    "status_badge",
]
