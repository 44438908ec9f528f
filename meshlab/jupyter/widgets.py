"""The catalog widget (``%mesh catalog``): search, browse, inspect, sample, insert.

A thin front end over :class:`meshlab.Mesh`: searching is ``mesh.search``,
sampling is ``mesh.sql``, the detail pane is :func:`meshlab.rendering.dataset_html`.
The text the widget offers to the notebook comes from the small pure functions
:func:`dataset_cell`, :func:`sample_sql` and :func:`column_address`.

Only this module imports ipywidgets, and ``import meshlab`` never imports it.
"""

from __future__ import annotations

import html
import keyword
import time
import warnings
from typing import TYPE_CHECKING

import ipywidgets as widgets
from sqlglot import exp

from meshlab.errors import MeshError
from meshlab.planner.parse import READ_DIALECT
from meshlab.rendering import FLAGGED_STATUSES, STYLE, dataset_html, status_badge

if TYPE_CHECKING:
    from meshlab.catalog import Column, Dataset
    from meshlab.mesh import Mesh

SAMPLE_ROWS = 10
CELL_ROWS = 100

# ipylab sends each command without waiting for the previous one, so the text
# could reach the notebook before the new cell exists (jtpio/ipylab#140).
INSERT_DELAY = 0.2

INDENT = "\u00a0" * 4  # <option> labels collapse ordinary spaces


# -- the text offered to the notebook (pure) ---------------------------------------
def _table(dataset: Dataset) -> exp.Table:
    parts = dataset.address.split(".")
    return exp.table_(parts[-1], db=parts[-2], catalog=parts[0] if len(parts) == 3 else None)


def sample_sql(dataset: Dataset, limit: int = SAMPLE_ROWS) -> str:
    """``SELECT * FROM domain.dataset LIMIT n``: what the Sample button runs."""
    return exp.select("*").from_(_table(dataset)).limit(limit).sql(dialect=READ_DIALECT)


def output_name(dataset: Dataset) -> str:
    """The notebook variable a dataset's cell stores its frame in (``-o NAME``)."""
    name = dataset.name.lower()
    return name if name.isidentifier() and not keyword.iskeyword(name) else "df"


def dataset_cell(dataset: Dataset, limit: int = CELL_ROWS) -> str:
    """A ready ``%%mesh`` cell reading every declared column of ``dataset``.

    The SQL is built as a tree, so names that are keywords or need quotes
    (``"order"``, ``"my col"``) come out quoted.

    >>> print(dataset_cell(mesh.dataset("artists.artists")))  # doctest: +SKIP
    %%mesh -o artists
    SELECT
      artist_id,
      name,
      ...
    FROM artists.artists
    LIMIT 100
    """
    columns: list[exp.Expression] = [exp.column(c.name) for c in dataset.columns] or [exp.Star()]
    query = exp.select(*columns).from_(_table(dataset)).limit(limit)
    return f"%%mesh -o {output_name(dataset)}\n{query.sql(dialect=READ_DIALECT, pretty=True)}"


def column_address(dataset: Dataset, column: Column | str) -> str:
    """``domain.dataset.column``: the form lineage and search use."""
    name = column if isinstance(column, str) else column.name
    return f"{dataset.address}.{name}"


def check_flag(status) -> str:
    """``  ✗ checks``, ``  ⚠ stale``: how a dataset's last check marks it in the list."""
    if status is None:
        return ""
    flags = []
    if status.stale:
        flags.append("⚠ stale")
    if status.failed > (1 if status.stale else 0):
        flags.append("✗ checks")
    elif status.status == "error" and not status.failed:
        flags.append("! checks")
    return "".join(f"  {f}" for f in flags)


def tree_options(datasets: list[Dataset], statuses: dict | None = None) -> list[tuple[str, tuple[str, str]]]:
    """``Select`` options grouping ``datasets`` under their domains.

    Domains come in the order of their first dataset, so a ranked search list
    keeps its best hit on top. Values are ``("domain", name)`` or
    ``("dataset", address)``. ``statuses`` (``mesh.status()``) flags datasets
    that failed their last check or their freshness SLA.
    """
    statuses = statuses or {}
    groups: dict[str, list[Dataset]] = {}
    for ds in datasets:
        groups.setdefault(ds.domain, []).append(ds)
    options = []
    for domain, members in groups.items():
        options.append((f"▾ {domain} ({len(members)})", ("domain", domain)))
        for ds in members:
            flag = f"  ⚠ {ds.status}" if ds.status in FLAGGED_STATUSES else ""
            flag += check_flag(statuses.get(ds.address))
            flag += "" if ds.queryable else "  ⊘ not queryable here"
            options.append((f"{INDENT}{ds.address.split('.', 1)[1]} · {ds.title}{flag}", ("dataset", ds.address)))
    return options


# -- inserting into the notebook ---------------------------------------------------
_FRONT_END: list = []  # the one ipylab JupyterFrontEnd of this kernel, once made


def _front_end():
    """ipylab's front end, or None when ipylab is not installed."""
    if not _FRONT_END:
        # ipylab 1.1 declares traits the way traitlets deprecated; not the user's concern.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="traitlets")
            try:
                from ipylab import JupyterFrontEnd
            except ImportError:
                _FRONT_END.append(None)
            else:
                _FRONT_END.append(JupyterFrontEnd())
    return _FRONT_END[0]


def insert_cell_below(code: str) -> bool:
    """Insert a code cell holding ``code`` below the active cell of the notebook.

    Returns
    -------
    bool
        True when JupyterLab's ipylab front end is there to do it; False
        elsewhere (VS Code, classic notebook, a terminal), where the caller
        should offer the text for copying instead.
    """
    app = _front_end()
    # The front end sets ``version`` when its side of the widget comes up.
    if app is None or not app.version:
        return False
    app.commands.execute("notebook:insert-cell-below")
    time.sleep(INSERT_DELAY)
    app.commands.execute("notebook:replace-selection", {"text": code})
    return True


# -- the widget --------------------------------------------------------------------
EMPTY_MESH_HTML = (
    "<p><b>This mesh has no dataset yet.</b></p>"
    "<p>Add an ODCS contract to a domain folder of the mesh (<code>meshlab init DATA --domain D --name N "
    "--mesh mesh.yaml</code> drafts one from a parquet, CSV, JSON or SQLite file), then run "
    "<code>%mesh connect</code> again. To try meshlab first: <code>%mesh connect</code> on the demo mesh "
    "(<code>meshlab lab --demo</code> writes it).</p>"
)


def _domain_html(domain: str, datasets: list[Dataset]) -> str:
    items = "".join(
        f"<li><code>{html.escape(ds.address)}</code> · {html.escape(ds.title)} · {status_badge(ds.status)}</li>"
        for ds in datasets
    )
    return f'<div class="meshlab">{STYLE}<b>{html.escape(domain)}</b>: {len(datasets)} datasets<ul>{items}</ul></div>'


class CatalogWidget(widgets.VBox):
    """Browse a mesh: search box, domain → dataset list, detail pane, sample and insert.

    Parameters
    ----------
    mesh
        The connected mesh (``meshlab.connect(...)``).

    Attributes
    ----------
    search, tree, detail, columns, sample_button, insert_button, snippet, status, output
        The parts, for tests and for notebooks that want to drive it.
    """

    def __init__(self, mesh: Mesh, **kwargs):
        self.mesh = mesh
        self.statuses = mesh.status() if hasattr(mesh, "status") else {}  # last checks, from the status store
        self.search = widgets.Text(placeholder="Search datasets, e.g. plays per country", continuous_update=True)
        self.tree = widgets.Select(options=[], rows=16, layout=widgets.Layout(width="34%", min_width="220px"))
        self.detail = widgets.HTML()
        self.columns = widgets.Select(options=[], rows=6, description="Columns", layout=widgets.Layout(width="auto"))
        self.sample_button = widgets.Button(description="Sample", icon="table", disabled=True)
        self.insert_button = widgets.Button(description="Insert cell", icon="plus", disabled=True)
        # Shown for copying where cells cannot be inserted; the widget never reads it back.
        self.snippet = widgets.Textarea(rows=6, layout=widgets.Layout(width="auto"))
        self.status = widgets.HTML()
        self.output = widgets.Output()
        header = widgets.HTML(self._header())
        buttons = widgets.HBox([self.sample_button, self.insert_button])
        right = widgets.VBox(
            [self.detail, buttons, self.columns, self.snippet, self.status], layout=widgets.Layout(flex="1")
        )
        super().__init__([header, self.search, widgets.HBox([self.tree, right]), self.output], **kwargs)
        self.search.observe(self._on_search, "value")
        self.tree.observe(self._on_select, "value")
        self.columns.observe(self._on_column, "value")
        self.sample_button.on_click(self._on_sample)
        self.insert_button.on_click(self._on_insert)
        self._list(self.mesh.datasets())
        if not self.mesh.datasets():
            self.detail.value = EMPTY_MESH_HTML
        _front_end()  # made now so that its front end is up by the first click

    @property
    def selected(self) -> Dataset | None:
        """The dataset picked in the list, if any."""
        value = self.tree.value
        return self.mesh.dataset(value[1]) if value and value[0] == "dataset" else None

    def _header(self) -> str:
        datasets = self.mesh.datasets()
        domains = len({ds.domain for ds in datasets})
        errors = len(self.mesh.errors)
        broken = f" · ⚠ {errors} contract{'' if errors == 1 else 's'} failed to load" if errors else ""
        failing = sum(s.status != "passed" for s in self.statuses.values())
        if failing:
            broken += f" · ✗ {failing} dataset{'' if failing == 1 else 's'} did not pass the last check"
        return f"<b>{html.escape(self.mesh.name)}</b> · {len(datasets)} datasets in {domains} domains{broken}"

    def _list(self, datasets: list[Dataset]) -> None:
        keep = self.tree.value
        options = tree_options(datasets, self.statuses)
        self.tree.options = options
        values = [value for _, value in options]
        self.tree.value = keep if keep in values else None

    def _on_search(self, change) -> None:
        text = change["new"].strip()
        found = self.mesh.search(text) if text else self.mesh.datasets()
        self._list(found)
        if text and found:
            self.tree.value = ("dataset", found[0].address)  # show the best hit at once

    def _on_select(self, change) -> None:
        value = change["new"]
        dataset = self.selected
        self.sample_button.disabled = self.insert_button.disabled = dataset is None
        self.status.value = ""
        if dataset is None:
            self.columns.options = []
            self.snippet.value = ""
            self.detail.value = "" if value is None else self._domain_detail(value[1])
            return
        self.detail.value = dataset_html(dataset, self.statuses.get(dataset.address))
        self.columns.options = [(f"{c.name} · {c.type}", c.name) for c in dataset.columns]
        self.columns.value = None
        self.snippet.value = dataset_cell(dataset)

    def _domain_detail(self, domain: str) -> str:
        return _domain_html(domain, [ds for ds in self.mesh.datasets() if ds.domain == domain])

    def _on_column(self, change) -> None:
        dataset = self.selected
        if dataset is None or change["new"] is None:
            return
        self.snippet.value = column_address(dataset, change["new"])
        self.status.value = "Column address above: copy it into your SQL."

    def _on_sample(self, _button=None) -> None:
        dataset = self.selected
        if dataset is None:
            return
        try:
            result = self.mesh.sql(sample_sql(dataset))
        except MeshError as exc:
            # One short line, like the %%mesh magic: a traceback would bury the cause.
            self.output.outputs = ({"output_type": "stream", "name": "stderr", "text": f"{exc}\n"},)
            return
        bundle = {"text/plain": repr(result), "text/html": result._repr_html_()}
        self.output.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    def _on_insert(self, _button=None) -> None:
        dataset = self.selected
        if dataset is None:
            return
        code = dataset_cell(dataset)
        self.snippet.value = code
        if insert_cell_below(code):
            self.status.value = "Inserted a <code>%%mesh</code> cell below."
        else:
            self.status.value = "Copy the cell above into a new cell (inserting needs JupyterLab with ipylab)."
