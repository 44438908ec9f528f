/**
 * Unit tests of the catalog model (node's test runner): searching, paging,
 * stale answers, the domain tree, selection and the cells it inserts.
 *
 * The API is an in-memory catalog that ranks like the server's empty search
 * (by address) and filters by substring: the model's logic is what is tested.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  ApiError,
  CatalogApi,
  CatalogModel,
  DatasetDetail,
  DatasetSummary,
  loadsMeshlab,
  meshCells,
  MeshStatus,
  relativePath,
  Sample,
  SearchPage
} from '../model';

function summary(address: string, status = 'active'): DatasetSummary {
  const [domain, name] = address.split('.');
  return {
    address,
    title: name,
    domain,
    owner: 'ana',
    status,
    description: `All ${name}.`,
    tags: [],
    columns: ['id', `${name}_value`]
  };
}

const STATUS: MeshStatus = {
  mesh: 'music',
  path: '/srv/lab/demo/mesh.yaml',
  relative_path: 'demo/mesh.yaml',
  datasets: 3,
  domains: [],
  errors: [],
  warnings: []
};

/** An in-memory API; each call can be held back to answer out of order. */
class MemoryApi implements CatalogApi {
  constructor(readonly datasets: DatasetSummary[]) {}
  calls: string[] = [];
  delays = new Map<string, number>();
  failStatus: ApiError | null = null;

  private async wait(key: string): Promise<void> {
    const delay = this.delays.get(key) ?? 0;
    await new Promise(resolve => setTimeout(resolve, delay));
  }

  async status(): Promise<MeshStatus> {
    this.calls.push('status');
    if (this.failStatus) {
      throw this.failStatus;
    }
    return STATUS;
  }

  async search(text: string, limit: number, offset: number): Promise<SearchPage> {
    this.calls.push(`search:${text}:${limit}:${offset}`);
    await this.wait(`search:${text}`);
    const found = this.datasets.filter(d => d.address.includes(text));
    return { datasets: found.slice(offset, offset + limit), total: found.length };
  }

  async detail(address: string): Promise<DatasetDetail> {
    this.calls.push(`detail:${address}`);
    await this.wait(`detail:${address}`);
    const found = this.datasets.find(d => d.address === address);
    if (!found) {
      throw new ApiError(`unknown dataset '${address}'`, 404, 'UnknownDatasetError', []);
    }
    return {
      ...found,
      name: address.split('.')[1],
      product: 'p',
      version: '1.0.0',
      contract_id: null,
      contract_path: '/x.odcs.yaml',
      contract_description: {},
      columns: [],
      sla: [],
      servers: [],
      query: `SELECT * FROM ${address} LIMIT 100`
    };
  }

  async sample(address: string, limit: number): Promise<Sample> {
    this.calls.push(`sample:${address}:${limit}`);
    await this.wait(`sample:${address}`);
    return { address, sql: '', columns: [{ name: 'id', type: 'Int64' }], rows: [[1]] };
  }
}

const CATALOG = [
  summary('artists.tracks'),
  summary('plays.daily_track_plays'),
  summary('plays.play_events'),
  summary('podcasts.episodes', 'draft')
];

describe('search', () => {
  it('loads the status, then the first page', async () => {
    const api = new MemoryApi(CATALOG);
    const model = new CatalogModel(api);
    await model.refresh();
    assert.equal(model.status?.mesh, 'music');
    assert.equal(model.error, null);
    assert.deepEqual(
      model.results.map(d => d.address),
      CATALOG.map(d => d.address)
    );
    assert.deepEqual(api.calls, ['status', 'search::200:0']);
  });

  it('debounces typing into one search for the last text', async () => {
    const api = new MemoryApi(CATALOG);
    const model = new CatalogModel(api, { debounceMs: 20 });
    const first = model.setQuery('p');
    const second = model.setQuery('pl');
    const third = model.setQuery('play');
    await Promise.all([first, second, third]);
    assert.deepEqual(api.calls, ['search:play:200:0']);
    assert.deepEqual(
      model.results.map(d => d.address),
      ['plays.daily_track_plays', 'plays.play_events']
    );
  });

  it('drops an answer that arrives after a newer search', async () => {
    const api = new MemoryApi(CATALOG);
    api.delays.set('search:a', 60); // the first search answers last
    const model = new CatalogModel(api);
    model.query = 'a';
    const slow = model.search();
    model.query = 'episodes';
    await model.search();
    await slow;
    assert.deepEqual(
      model.results.map(d => d.address),
      ['podcasts.episodes']
    );
    assert.equal(model.searching, false);
  });

  it('pages through results beyond the page size', async () => {
    const many = Array.from({ length: 450 }, (_, i) => summary(`big.set_${String(i).padStart(3, '0')}`));
    const model = new CatalogModel(new MemoryApi(many));
    await model.search();
    assert.equal(model.results.length, 200);
    assert.equal(model.total, 450);
    assert.equal(model.hasMore, true);
    await model.showMore();
    await model.showMore();
    assert.equal(model.results.length, 450);
    assert.equal(model.hasMore, false);
    assert.equal(model.results[449].address, 'big.set_449');
  });

  it('shows the server error when there is no mesh', async () => {
    const api = new MemoryApi(CATALOG);
    api.failStatus = new ApiError('no mesh configured: start JupyterLab with --MeshlabApp.mesh=PATH', 503, 'NoMeshConfiguredError');
    const model = new CatalogModel(api);
    await model.refresh();
    assert.match(model.error ?? '', /^no mesh configured/);
    assert.deepEqual(model.results, []);
    assert.deepEqual(api.calls, ['status']);
  });

  it('emits a change for every visible step', async () => {
    const model = new CatalogModel(new MemoryApi(CATALOG));
    let changes = 0;
    model.changed.connect(() => changes++);
    await model.search();
    assert.ok(changes >= 2); // searching, then answered
  });
});

describe('tree', () => {
  it('groups results by domain in the order of their best hit', async () => {
    const ranked = [summary('plays.play_events'), summary('artists.tracks'), summary('plays.daily_track_plays')];
    const model = new CatalogModel(new MemoryApi(ranked));
    await model.search();
    assert.deepEqual(
      model.groups.map(g => [g.name, g.datasets.map(d => d.address)]),
      [
        ['plays', ['plays.play_events', 'plays.daily_track_plays']],
        ['artists', ['artists.tracks']]
      ]
    );
  });

  it('collapses domains and opens datasets on toggle', () => {
    const model = new CatalogModel(new MemoryApi(CATALOG));
    assert.equal(model.isCollapsed('plays'), false);
    model.toggleDomain('plays');
    assert.equal(model.isCollapsed('plays'), true);
    model.toggleDomain('plays');
    assert.equal(model.isCollapsed('plays'), false);
    model.toggleDataset('plays.play_events');
    assert.equal(model.isOpen('plays.play_events'), true);
  });
});

describe('selection', () => {
  it('loads the detail and the sample of the selected dataset', async () => {
    const api = new MemoryApi(CATALOG);
    const model = new CatalogModel(api, { sampleRows: 5 });
    await model.select('plays.play_events');
    assert.equal(model.detail?.address, 'plays.play_events');
    assert.deepEqual(model.sample?.rows, [[1]]);
    assert.equal(model.loadingDetail, false);
    assert.equal(model.loadingSample, false);
    assert.ok(api.calls.includes('sample:plays.play_events:5'));
  });

  it('keeps only the last selection when answers cross', async () => {
    const api = new MemoryApi(CATALOG);
    api.delays.set('detail:artists.tracks', 50);
    api.delays.set('sample:artists.tracks', 50);
    const model = new CatalogModel(api);
    const first = model.select('artists.tracks');
    await model.select('plays.play_events');
    await first;
    assert.equal(model.selected, 'plays.play_events');
    assert.equal(model.detail?.address, 'plays.play_events');
    assert.equal(model.sample?.address, 'plays.play_events');
  });

  it('shows an unknown dataset as an error of the detail view', async () => {
    const model = new CatalogModel(new MemoryApi(CATALOG));
    await model.select('plays.nothing');
    assert.equal(model.detail, null);
    assert.equal(model.detailError, "unknown dataset 'plays.nothing'");
  });

  it('drops answers after the detail view is closed', async () => {
    const api = new MemoryApi(CATALOG);
    api.delays.set('detail:plays.play_events', 30);
    const model = new CatalogModel(api);
    const pending = model.select('plays.play_events');
    model.closeDetail();
    await pending;
    assert.equal(model.selected, null);
    assert.equal(model.detail, null);
  });
});

describe('cells', () => {
  it('adds a set-up cell with a connect relative to the notebook', () => {
    const cells = meshCells('SELECT * FROM plays.play_events LIMIT 100', STATUS, ['x = 1'], 'work/nb.ipynb');
    assert.deepEqual(cells, [
      '%load_ext meshlab\n%mesh connect ../demo/mesh.yaml',
      '%%mesh\nSELECT * FROM plays.play_events LIMIT 100'
    ]);
  });

  it('only adds the %%mesh cell once the notebook loads meshlab', () => {
    const cells = meshCells('SELECT 1', STATUS, ['%load_ext meshlab\n%mesh connect x'], 'nb.ipynb');
    assert.deepEqual(cells, ['%%mesh\nSELECT 1']);
  });

  it('connects by absolute path to a mesh outside the server root', () => {
    const outside = { ...STATUS, relative_path: null, path: '/data/mesh.yaml' };
    assert.equal(meshCells('SELECT 1', outside, [], 'nb.ipynb')[0], '%load_ext meshlab\n%mesh connect /data/mesh.yaml');
  });

  it('inserts nothing before a detail is loaded', async () => {
    const model = new CatalogModel(new MemoryApi(CATALOG));
    assert.deepEqual(model.cellsToInsert([], 'nb.ipynb'), []);
    await model.refresh();
    await model.select('plays.play_events');
    assert.deepEqual(model.cellsToInsert([], 'nb.ipynb'), [
      '%load_ext meshlab\n%mesh connect demo/mesh.yaml',
      '%%mesh\nSELECT * FROM plays.play_events LIMIT 100'
    ]);
  });

  it('finds %load_ext meshlab on any line of any cell', () => {
    assert.equal(loadsMeshlab(['import os', 'x = 1\n%load_ext meshlab']), true);
    assert.equal(loadsMeshlab(['%load_ext meshlabx', '# %load_ext meshlab']), false);
  });

  it('computes relative paths', () => {
    assert.equal(relativePath('', 'demo/mesh.yaml'), 'demo/mesh.yaml');
    assert.equal(relativePath('demo', 'demo/mesh.yaml'), 'mesh.yaml');
    assert.equal(relativePath('a/b', 'demo/mesh.yaml'), '../../demo/mesh.yaml');
    assert.equal(relativePath('demo/sub', 'demo/mesh.yaml'), '../mesh.yaml');
  });
});

describe('state', () => {
  it('is busy from typing until the answer, then ready with the text it answers', async () => {
    const api = new MemoryApi(CATALOG);
    const model = new CatalogModel(api, { debounceMs: 20 });
    assert.equal(model.state, 'busy'); // nothing loaded yet
    await model.refresh();
    assert.equal(model.state, 'ready');
    assert.equal(model.shownQuery, '');
    api.delays.set('search:play', 30);
    const typed = model.setQuery('play');
    assert.equal(model.state, 'busy'); // waiting for the pause in typing
    assert.equal(model.shownQuery, '');
    await typed;
    assert.equal(model.state, 'ready');
    assert.equal(model.shownQuery, 'play');
  });

  it('is busy while the status reloads and error when it fails', async () => {
    const api = new MemoryApi(CATALOG);
    const model = new CatalogModel(api);
    await model.refresh();
    api.failStatus = new ApiError('no mesh configured', 404, 'NoMeshConfiguredError');
    const states: string[] = [];
    model.changed.connect(() => states.push(model.state));
    await model.refresh();
    assert.equal(states[0], 'busy');
    assert.equal(model.state, 'error');
  });

  it('is busy while the selected dataset loads', async () => {
    const api = new MemoryApi(CATALOG);
    const model = new CatalogModel(api);
    await model.refresh();
    const selecting = model.select('plays.play_events');
    assert.equal(model.state, 'busy');
    await selecting;
    assert.equal(model.state, 'ready');
  });

  it('knows an empty mesh from a search without a match', async () => {
    const empty = new MemoryApi([]);
    empty.status = async () => ({ ...STATUS, datasets: 0 });
    const model = new CatalogModel(empty);
    await model.refresh();
    assert.equal(model.isEmptyMesh, true);
    const some = new CatalogModel(new MemoryApi(CATALOG));
    await some.refresh();
    await some.setQuery('zebra');
    assert.equal(some.isEmptyMesh, false);
  });
});
