/**
 * The domains → datasets → columns tree of the current search results.
 */
import { CatalogModel, DatasetSummary } from '../model';
import { button, checkBadge, h, statusBadge } from './element';

function datasetRow(model: CatalogModel, dataset: DatasetSummary): HTMLElement {
  const open = model.isOpen(dataset.address);
  const name = dataset.address.slice(dataset.domain.length + 1);
  const caret = h(
    'span',
    {
      className: 'jp-meshlab-caret',
      title: open ? 'Hide columns' : 'Show columns',
      onClick: event => {
        event.stopPropagation();
        model.toggleDataset(dataset.address);
      }
    },
    open ? '▾' : '▸'
  );
  const selected = model.selected === dataset.address ? ' jp-mod-selected' : '';
  const row = h(
    'div',
    {
      className: `jp-meshlab-dataset${selected}`,
      title: dataset.description,
      attrs: { 'data-address': dataset.address, role: 'treeitem' },
      onClick: () => void model.select(dataset.address)
    },
    caret,
    h('span', { className: 'jp-meshlab-dataset-name' }, name),
    h('span', { className: 'jp-meshlab-dataset-title' }, dataset.title),
    dataset.status === 'active' ? null : statusBadge(dataset.status),
    checkBadge(dataset.last_check),
    dataset.not_queryable
      ? h(
          'span',
          { className: 'jp-meshlab-badge jp-meshlab-badge-other', title: `not queryable here: ${dataset.not_queryable}` },
          'not queryable here'
        )
      : null
  );
  if (!open) {
    return row;
  }
  const columns = h(
    'ul',
    { className: 'jp-meshlab-columns' },
    ...dataset.columns.map(column => h('li', { className: 'jp-meshlab-column' }, column))
  );
  return h('div', {}, row, columns);
}

/** What to do when the mesh has no dataset yet. */
function gettingStarted(): HTMLElement {
  return h(
    'div',
    { className: 'jp-meshlab-message jp-meshlab-getting-started' },
    h('p', {}, h('strong', {}, 'This mesh has no dataset yet.')),
    h(
      'p',
      {},
      'Add an ODCS contract to a domain folder of the mesh — ',
      h('code', {}, 'meshlab init DATA --domain D --name N --mesh mesh.yaml'),
      ' drafts one from a parquet, CSV, JSON or SQLite file — then press ⟳. ',
      'To try meshlab first, ',
      h('code', {}, 'meshlab lab --demo'),
      ' starts JupyterLab on the demo music mesh.'
    )
  );
}

/** The tree, or the reason there is none (an error, no match, still loading). */
export function renderTree(model: CatalogModel): HTMLElement {
  const tree = h('div', { className: 'jp-meshlab-tree', attrs: { role: 'tree' } });
  if (model.error) {
    tree.appendChild(
      h(
        'div',
        { className: 'jp-meshlab-message jp-meshlab-error' },
        h('p', {}, model.error),
        button('Retry', () => void model.refresh(), 'jp-meshlab-retry')
      )
    );
    return tree;
  }
  if (model.isEmptyMesh && !model.searching) {
    tree.appendChild(gettingStarted());
    return tree;
  }
  if (!model.results.length) {
    const text = model.searching
      ? 'Searching…'
      : model.query.trim()
        ? `No dataset matches “${model.query.trim()}”.`
        : 'This mesh has no dataset yet.';
    tree.appendChild(h('div', { className: 'jp-meshlab-message' }, text));
    return tree;
  }
  for (const group of model.groups) {
    const collapsed = model.isCollapsed(group.name);
    tree.appendChild(
      h(
        'div',
        {
          className: 'jp-meshlab-domain',
          attrs: { 'data-domain': group.name, role: 'treeitem' },
          onClick: () => model.toggleDomain(group.name)
        },
        h('span', { className: 'jp-meshlab-caret' }, collapsed ? '▸' : '▾'),
        h('span', { className: 'jp-meshlab-domain-name' }, group.name),
        h('span', { className: 'jp-meshlab-count' }, String(group.datasets.length))
      )
    );
    if (!collapsed) {
      tree.appendChild(
        h('div', { className: 'jp-meshlab-group' }, ...group.datasets.map(d => datasetRow(model, d)))
      );
    }
  }
  if (model.hasMore) {
    tree.appendChild(
      h(
        'div',
        { className: 'jp-meshlab-more' },
        `Showing ${model.results.length} of ${model.total}. `,
        button('Show more', () => void model.showMore(), 'jp-meshlab-show-more')
      )
    );
  }
  return tree;
}
