/**
 * The catalog sidebar's state, apart from any view: the mesh's status, the
 * search (debounced, stale answers dropped, paged), the domain tree, the
 * selected dataset with its detail and sample, and the cells it inserts.
 *
 * It imports nothing from JupyterLab, so the unit tests run it under node.
 */
import { ISignal, Signal } from '@lumino/signaling';

/** Datasets asked for per page: the panel never renders more than this at once. */
export const PAGE_SIZE = 200;
/** Rows of a dataset's sample in the detail view. */
export const SAMPLE_ROWS = 10;
/** Milliseconds of quiet typing before a search is sent. */
export const DEBOUNCE_MS = 200;

/** One failed or errored check of a dataset's latest check run. */
export interface CheckProblem {
  check: string;
  status: string;
  message: string;
}

/** A dataset's latest stored check run (`meshlab check`, `mesh.check()`); see meshlab.quality.status. */
export interface LastCheck {
  /** passed | failed | error */
  status: string;
  checked_at: string;
  as_of: string;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  /** In words: `2 of 31 checks failed`. */
  summary: string;
  freshness: { status: string; newest: string | null; age: string | null; max_age: string | null; message: string } | null;
  problems: CheckProblem[];
}

export interface DatasetSummary {
  address: string;
  title: string;
  domain: string;
  owner: string | null;
  status: string;
  description: string;
  tags: string[];
  columns: string[];
  /** Null when the dataset was never checked. */
  last_check?: LastCheck | null;
  /** Why a valid contract cannot be queried here (no server, no reader for its type); null when it can. */
  not_queryable?: string | null;
}

export interface ColumnDetail {
  name: string;
  type: string;
  physical_type: string | null;
  description: string;
  classification: string | null;
  required: boolean;
  primary_key: boolean;
  unique: boolean;
}

export interface ServerInfo {
  server?: string;
  type?: string;
  format?: string;
  database?: string;
  schema?: string;
  location?: string;
  default: boolean;
}

export interface DatasetDetail extends Omit<DatasetSummary, 'columns'> {
  name: string;
  product: string;
  version: string | null;
  contract_id: string | null;
  contract_path: string;
  contract_description: { purpose?: string; usage?: string; limitations?: string };
  columns: ColumnDetail[];
  sla: Record<string, unknown>[];
  servers: ServerInfo[];
  /** A ready query reading the dataset (`SELECT * FROM … LIMIT 100`). */
  query: string;
  /** Every other contract field (team, support, roles, customProperties, …): nothing is dropped. */
  other_fields?: Record<string, unknown>;
}

export interface Sample {
  address: string;
  sql: string;
  columns: { name: string; type: string }[];
  rows: unknown[][];
}

export interface LoadError {
  path: string;
  field: string | null;
  message: string;
}

export interface MeshStatus {
  mesh: string;
  path: string;
  relative_path: string | null;
  datasets: number;
  domains: { name: string; datasets: number }[];
  errors: LoadError[];
  warnings: string[];
}

export interface SearchPage {
  datasets: DatasetSummary[];
  total: number;
}

/** What the model needs from the server (see handler.ts for the HTTP one). */
export interface CatalogApi {
  status(): Promise<MeshStatus>;
  search(text: string, limit: number, offset: number): Promise<SearchPage>;
  detail(address: string): Promise<DatasetDetail>;
  sample(address: string, limit: number): Promise<Sample>;
}

/** A failed request: the server's message, HTTP status, error kind and suggestions. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly kind: string,
    readonly suggestions: string[] = []
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface DomainGroup {
  name: string;
  datasets: DatasetSummary[];
}

export interface ModelOptions {
  debounceMs?: number;
  pageSize?: number;
  sampleRows?: number;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * `to` relative to the folder `fromDir` (both relative to the server root, `/`-separated).
 */
export function relativePath(fromDir: string, to: string): string {
  const from = fromDir.split('/').filter(part => part && part !== '.');
  const target = to.split('/').filter(part => part && part !== '.');
  let common = 0;
  while (common < from.length && common < target.length && from[common] === target[common]) {
    common++;
  }
  const ups = from.slice(common).map(() => '..');
  return [...ups, ...target.slice(common)].join('/') || '.';
}

/** The folder of a file path relative to the server root ('' for the root). */
export function folderOf(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut < 0 ? '' : path.slice(0, cut);
}

/** Does one of the notebook's cells already load the extension? */
export function loadsMeshlab(sources: string[]): boolean {
  return sources.some(source => /^\s*%load_ext\s+meshlab\s*$/m.test(source));
}

/**
 * The cells to insert for `query`: a set-up cell (load the extension, connect
 * to the server's mesh, relative to the notebook when the mesh is under the
 * server root) unless the notebook already has one, then the `%%mesh` cell.
 */
export function meshCells(
  query: string,
  status: MeshStatus | null,
  existingSources: string[],
  notebookPath: string
): string[] {
  const cells: string[] = [];
  if (!loadsMeshlab(existingSources)) {
    const setup = ['%load_ext meshlab'];
    if (status) {
      const target =
        status.relative_path !== null
          ? relativePath(folderOf(notebookPath), status.relative_path)
          : status.path;
      setup.push(`%mesh connect ${target}`);
    }
    cells.push(setup.join('\n'));
  }
  cells.push(`%%mesh\n${query}`);
  return cells;
}

export class CatalogModel {
  constructor(
    private readonly api: CatalogApi,
    options: ModelOptions = {}
  ) {
    this.debounceMs = options.debounceMs ?? DEBOUNCE_MS;
    this.pageSize = options.pageSize ?? PAGE_SIZE;
    this.sampleRows = options.sampleRows ?? SAMPLE_ROWS;
  }

  readonly debounceMs: number;
  readonly pageSize: number;
  readonly sampleRows: number;

  /** Emitted whenever anything a view shows has changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  status: MeshStatus | null = null;
  /** Why there is nothing to browse (no mesh, server error), else null. */
  error: string | null = null;
  query = '';
  /** The search text whose answer `results` hold (null before the first answer). */
  shownQuery: string | null = null;
  results: DatasetSummary[] = [];
  total = 0;
  searching = false;

  selected: string | null = null;
  detail: DatasetDetail | null = null;
  detailError: string | null = null;
  sample: Sample | null = null;
  sampleError: string | null = null;
  loadingDetail = false;
  loadingSample = false;
  loadingStatus = false;

  /** Load the mesh's status, then the first page of the current search. */
  async refresh(): Promise<void> {
    this.loadingStatus = true;
    this.emit();
    try {
      this.status = await this.api.status();
      this.error = null;
    } catch (error) {
      this.status = null;
      this.error = messageOf(error);
      this.results = [];
      this.total = 0;
      this.loadingStatus = false;
      this.emit();
      return;
    }
    this.loadingStatus = false;
    await this.search();
  }

  /**
   * Set the search text; the search runs once typing pauses for `debounceMs`.
   * Resolves when the search that includes this text has answered.
   */
  setQuery(text: string): Promise<void> {
    this.query = text;
    if (this._timer !== null) {
      clearTimeout(this._timer);
    }
    const done = new Promise<void>(resolve => this._waiting.push(resolve));
    this._timer = setTimeout(() => {
      this._timer = null;
      const waiting = this._waiting.splice(0);
      void this.search().then(() => waiting.forEach(resolve => resolve()));
    }, this.debounceMs);
    this.emit();
    return done;
  }

  /** Search now for the current text: the first page, replacing the results. */
  async search(): Promise<void> {
    const ticket = ++this._searchTicket;
    this.searching = true;
    this.emit();
    try {
      const page = await this.api.search(this.query, this.pageSize, 0);
      if (ticket !== this._searchTicket) {
        return; // a newer search is under way: its answer wins
      }
      this.results = page.datasets;
      this.total = page.total;
      this.error = null;
      this.shownQuery = this.query;
    } catch (error) {
      if (ticket !== this._searchTicket) {
        return;
      }
      this.results = [];
      this.total = 0;
      this.error = messageOf(error);
      this.shownQuery = this.query;
    } finally {
      if (ticket === this._searchTicket) {
        this.searching = false;
        this.emit();
      }
    }
  }

  /**
   * Where the view stands, for people (a spinner) and for tests that wait on it:
   * `busy` while a search is pending or under way or the open detail is loading,
   * `error` when the catalog could not be loaded, else `ready`.
   */
  get state(): 'busy' | 'error' | 'ready' {
    if (this._timer !== null || this.searching || this.loadingStatus || this.loadingDetail || this.loadingSample) {
      return 'busy';
    }
    if (this.error) {
      return 'error';
    }
    return this.status === null ? 'busy' : 'ready';
  }

  /** Is the mesh loaded and empty (no contract yet)? */
  get isEmptyMesh(): boolean {
    return this.status !== null && this.status.datasets === 0 && !this.query.trim();
  }

  /** Are there ranked results beyond those loaded? */
  get hasMore(): boolean {
    return this.results.length < this.total;
  }

  /** Append the next page of the current search. */
  async showMore(): Promise<void> {
    const ticket = this._searchTicket;
    try {
      const page = await this.api.search(this.query, this.pageSize, this.results.length);
      if (ticket !== this._searchTicket) {
        return;
      }
      this.results = [...this.results, ...page.datasets];
      this.total = page.total;
    } catch (error) {
      if (ticket === this._searchTicket) {
        this.error = messageOf(error);
      }
    }
    this.emit();
  }

  /** The loaded results grouped by domain; domains in the order of their best hit. */
  get groups(): DomainGroup[] {
    const byDomain = new Map<string, DatasetSummary[]>();
    for (const dataset of this.results) {
      const members = byDomain.get(dataset.domain) ?? [];
      members.push(dataset);
      byDomain.set(dataset.domain, members);
    }
    return [...byDomain].map(([name, datasets]) => ({ name, datasets }));
  }

  isCollapsed(domain: string): boolean {
    return this._collapsed.has(domain);
  }

  toggleDomain(domain: string): void {
    this.toggle(this._collapsed, domain);
  }

  /** Does the tree show the columns of `address`? */
  isOpen(address: string): boolean {
    return this._open.has(address);
  }

  toggleDataset(address: string): void {
    this.toggle(this._open, address);
  }

  /** Show `address` in the detail view: its detail and its sample, loaded side by side. */
  async select(address: string): Promise<void> {
    const ticket = ++this._selectTicket;
    this.selected = address;
    this.detail = this.sample = null;
    this.detailError = this.sampleError = null;
    this.loadingDetail = this.loadingSample = true;
    this.emit();
    const current = () => ticket === this._selectTicket;
    const detail = this.api.detail(address).then(
      found => current() && (this.detail = found),
      error => current() && (this.detailError = messageOf(error))
    );
    const sample = this.api.sample(address, this.sampleRows).then(
      found => current() && (this.sample = found),
      error => current() && (this.sampleError = messageOf(error))
    );
    await Promise.all([
      detail.then(() => current() && this.settle('loadingDetail')),
      sample.then(() => current() && this.settle('loadingSample'))
    ]);
  }

  /** Close the detail view (answers still on their way are dropped). */
  closeDetail(): void {
    this._selectTicket++;
    this.selected = this.detail = this.sample = null;
    this.detailError = this.sampleError = null;
    this.loadingDetail = this.loadingSample = false;
    this.emit();
  }

  /** The cells "Insert %%mesh cell" adds below the active cell of the notebook at `notebookPath`. */
  cellsToInsert(existingSources: string[], notebookPath: string): string[] {
    if (!this.detail) {
      return [];
    }
    return meshCells(this.detail.query, this.status, existingSources, notebookPath);
  }

  dispose(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    Signal.clearData(this);
  }

  private settle(flag: 'loadingDetail' | 'loadingSample'): void {
    this[flag] = false;
    this.emit();
  }

  private toggle(set: Set<string>, key: string): void {
    if (!set.delete(key)) {
      set.add(key);
    }
    this.emit();
  }

  private emit(): void {
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _collapsed = new Set<string>();
  private _open = new Set<string>();
  private _searchTicket = 0;
  private _selectTicket = 0;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _waiting: (() => void)[] = [];
}
