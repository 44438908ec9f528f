/**
 * The left-sidebar panel: mesh header, search box, results tree and detail view.
 *
 * A Lumino widget that renders the model's state on every change; the search
 * box itself is built once, so typing never loses focus.
 */
import { Widget } from '@lumino/widgets';

import { CatalogModel } from '../model';
import { DetailActions, renderDetail } from './detail';
import { button, h } from './element';
import { renderTree } from './tree';

function header(model: CatalogModel): HTMLElement {
  const status = model.status;
  if (!status) {
    return h('div', { className: 'jp-meshlab-summary' });
  }
  const shown = model.query.trim() ? `${model.total} of ${status.datasets} datasets` : `${status.datasets} datasets`;
  const summary = h('div', { className: 'jp-meshlab-summary' }, h('strong', {}, status.mesh), ` · ${shown}`);
  if (status.errors.length) {
    const count = status.errors.length;
    summary.appendChild(
      h(
        'details',
        { className: 'jp-meshlab-load-errors' },
        h('summary', {}, `⚠ ${count} contract${count === 1 ? '' : 's'} failed to load`),
        h(
          'ul',
          {},
          ...status.errors.map(e => h('li', {}, `${e.path}${e.field ? `: ${e.field}` : ''}: ${e.message}`))
        )
      )
    );
  }
  return summary;
}

export class CatalogPanel extends Widget {
  constructor(
    readonly model: CatalogModel,
    private readonly actions: DetailActions
  ) {
    super();
    this.id = 'meshlab-catalog';
    this.addClass('jp-meshlab-panel');
    this.title.caption = 'Data mesh catalog';

    this._input = h('input', {
      className: 'jp-meshlab-search-input jp-mod-styled',
      attrs: { type: 'search', placeholder: 'Search datasets, columns, tags…', 'aria-label': 'Search the mesh' }
    });
    this._input.addEventListener('input', () => void model.setQuery(this._input.value));
    const refresh = button('⟳', () => void model.refresh(), 'jp-meshlab-refresh', 'Reload the catalog');
    this.node.appendChild(
      h(
        'div',
        { className: 'jp-meshlab-top' },
        h('div', { className: 'jp-meshlab-heading' }, h('span', {}, 'Data mesh'), refresh),
        h('div', { className: 'jp-meshlab-search' }, this._input)
      )
    );
    this.node.appendChild(this._summary);
    this.node.appendChild(this._treeHost);
    this.node.appendChild(this._detailHost);
    model.changed.connect(this.render, this);
    this.render();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.changed.disconnect(this.render, this);
    super.dispose();
  }

  /** Put the cursor in the search box. */
  focusSearch(): void {
    this._input.focus();
  }

  private render(): void {
    this._summary.replaceChildren(header(this.model));
    this._treeHost.replaceChildren(renderTree(this.model));
    this._detailHost.replaceChildren(renderDetail(this.model, this.actions));
    this.toggleClass('jp-meshlab-mod-detail', this.model.selected !== null);
    // What the view shows, as attributes: tests wait on these rather than on the clock.
    this.node.dataset.state = this.model.state;
    this.node.dataset.shownQuery = this.model.shownQuery ?? '';
  }

  private _input: HTMLInputElement;
  private _summary = h('div', { className: 'jp-meshlab-summary-host' });
  private _treeHost = h('div', { className: 'jp-meshlab-tree-host' });
  private _detailHost = h('div', { className: 'jp-meshlab-detail-host' });
}
