/**
 * The detail view of the selected dataset: description, owner, SLA, servers,
 * columns and sample rows, with the "Insert %%mesh cell" and "Copy address" actions.
 */
import { CatalogModel, DatasetDetail, LastCheck, Sample } from '../model';
import { button, checkBadge, h, statusBadge } from './element';

export interface DetailActions {
  /** Insert the set-up and `%%mesh` cells into the active notebook. */
  insertCell(): void;
  /** Put `address` on the clipboard. */
  copyAddress(address: string): Promise<void>;
}

function field(label: string, value: string | Node | null | undefined): HTMLElement | null {
  if (value === null || value === undefined || value === '') {
    return null;
  }
  return h(
    'div',
    { className: 'jp-meshlab-field' },
    h('span', { className: 'jp-meshlab-label' }, label),
    h('span', { className: 'jp-meshlab-value' }, value)
  );
}

/** The contract's fields the view does not show otherwise, as JSON: nothing is dropped silently. */
function otherFields(fields: Record<string, unknown> | undefined): HTMLElement[] {
  const names = Object.keys(fields ?? {});
  if (names.length === 0) {
    return [];
  }
  return [h(
    'details',
    { className: 'jp-meshlab-other-fields' },
    h('summary', {}, `More of the contract (${names.join(', ')})`),
    h('pre', {}, JSON.stringify(fields, null, 2))
  )];
}

function slaText(item: Record<string, unknown>): string {
  const value = [item.value, item.unit].filter(part => part !== undefined && part !== null).join(' ');
  const element = item.element ? ` (${String(item.element)})` : '';
  return `${String(item.property)}: ${value}${element}`;
}

/** The latest check run: its outcome, when, freshness, and each failed or errored check. */
function checksSection(check: LastCheck | null | undefined): HTMLElement {
  const section = h('section', { className: 'jp-meshlab-checks' }, h('h3', {}, 'Checks'));
  if (!check) {
    section.appendChild(
      h('div', { className: 'jp-meshlab-message' }, 'Never checked: run meshlab check or mesh.check().')
    );
    return section;
  }
  section.appendChild(
    h(
      'div',
      { className: 'jp-meshlab-check-summary' },
      checkBadge(check, true),
      ` ${check.summary}, checked ${check.checked_at.replace('T', ' ').slice(0, 16)} UTC`
    )
  );
  // A failed freshness check is listed with the problems below; a passed one is worth a line.
  const freshness = check.freshness?.status === 'passed' ? field('freshness', check.freshness.message) : null;
  if (freshness) {
    section.appendChild(freshness);
  }
  if (check.problems.length) {
    section.appendChild(
      h(
        'ul',
        { className: 'jp-meshlab-problems' },
        ...check.problems.map(problem =>
          h(
            'li',
            { className: `jp-meshlab-problem jp-meshlab-problem-${problem.status}` },
            h('code', {}, problem.check),
            ` ${problem.message}`
          )
        )
      )
    );
  }
  return section;
}

function columnsTable(detail: DatasetDetail): HTMLElement {
  // The description goes under the name: the sidebar is too narrow for a fourth column.
  const header = h('tr', {}, ...['column', 'type', 'class'].map(t => h('th', {}, t)));
  const rows = detail.columns.map(column =>
    h(
      'tr',
      {},
      h(
        'td',
        { className: 'jp-meshlab-colname' },
        h('code', {}, column.name),
        column.primary_key ? h('span', { className: 'jp-meshlab-key', title: 'primary key' }, ' ⚷') : null,
        column.description ? h('div', { className: 'jp-meshlab-coldesc' }, column.description) : null
      ),
      h('td', { title: column.physical_type ?? '' }, column.type),
      h('td', {}, column.classification ?? '')
    )
  );
  return h(
    'table',
    { className: 'jp-meshlab-table jp-meshlab-columns-table' },
    h('thead', {}, header),
    h('tbody', {}, ...rows)
  );
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) {
    return 'null';
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function sampleTable(sample: Sample): HTMLElement {
  const header = h('tr', {}, ...sample.columns.map(c => h('th', { title: c.type }, c.name)));
  const rows = sample.rows.map(row =>
    h('tr', {}, ...row.map(value => h('td', { className: value === null ? 'jp-meshlab-null' : '' }, cellText(value))))
  );
  return h(
    'div',
    { className: 'jp-meshlab-scroll' },
    h('table', { className: 'jp-meshlab-table jp-meshlab-sample-table' }, h('thead', {}, header), h('tbody', {}, ...rows))
  );
}

function sampleSection(model: CatalogModel): HTMLElement {
  const section = h('section', { className: 'jp-meshlab-sample' }, h('h3', {}, 'Sample rows'));
  if (model.loadingSample) {
    section.appendChild(h('div', { className: 'jp-meshlab-message' }, 'Reading a sample…'));
  } else if (model.sampleError) {
    section.appendChild(h('div', { className: 'jp-meshlab-message jp-meshlab-error' }, model.sampleError));
  } else if (model.sample) {
    section.appendChild(sampleTable(model.sample));
  }
  return section;
}

function body(model: CatalogModel, detail: DatasetDetail, actions: DetailActions): HTMLElement[] {
  const copy = button('Copy address', () => {
    void actions.copyAddress(detail.address).then(() => {
      copy.textContent = 'Copied';
      setTimeout(() => (copy.textContent = 'Copy address'), 1500);
    });
  }, 'jp-meshlab-copy');
  const parts = detail.contract_description;
  const servers = detail.servers.map(s =>
    [s.server, [s.type, s.format].filter(Boolean).join(' '), s.default ? '(default)' : ''].filter(Boolean).join(' · ')
  );
  return [
    h('code', { className: 'jp-meshlab-address' }, detail.address),
    h(
      'div',
      { className: 'jp-meshlab-actions' },
      button('Insert %%mesh cell', () => actions.insertCell(), 'jp-mod-accept jp-meshlab-insert',
        'Insert a %%mesh cell reading this dataset below the active cell of the current notebook'),
      copy
    ),
    h('p', { className: 'jp-meshlab-description' }, detail.description),
    h(
      'div',
      { className: 'jp-meshlab-fields' },
      field('status', statusBadge(detail.status)),
      field('not queryable here', detail.not_queryable),
      field('owner', detail.owner),
      field('domain', detail.domain),
      field('version', detail.version),
      field('usage', parts.usage),
      field('limitations', parts.limitations),
      field('tags', detail.tags.join(', ')),
      field('SLA', detail.sla.map(slaText).join('; ')),
      field('servers', servers.join('; '))
    ),
    ...otherFields(detail.other_fields),
    checksSection(detail.last_check),
    h('h3', {}, `Columns (${detail.columns.length})`),
    columnsTable(detail),
    sampleSection(model)
  ];
}

/** The detail view of `model.selected` (empty when nothing is selected). */
export function renderDetail(model: CatalogModel, actions: DetailActions): HTMLElement {
  const view = h('div', { className: 'jp-meshlab-detail', attrs: { 'data-address': model.selected ?? '' } });
  if (!model.selected) {
    return view;
  }
  const detail = model.detail;
  view.appendChild(
    h(
      'div',
      { className: 'jp-meshlab-detail-header' },
      h('h2', {}, detail?.title ?? model.selected),
      h(
        'button',
        { className: 'jp-meshlab-close', title: 'Close', attrs: { type: 'button', 'aria-label': 'Close' }, onClick: () => model.closeDetail() },
        '×'
      )
    )
  );
  if (model.loadingDetail) {
    view.appendChild(h('div', { className: 'jp-meshlab-message' }, 'Loading…'));
  } else if (model.detailError) {
    view.appendChild(h('div', { className: 'jp-meshlab-message jp-meshlab-error' }, model.detailError));
  } else if (detail) {
    body(model, detail, actions).forEach(node => view.appendChild(node));
  }
  return view;
}
