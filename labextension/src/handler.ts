/**
 * The one place that talks to the server extension (`/meshlab/api/`).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  ApiError,
  CatalogApi,
  DatasetDetail,
  MeshStatus,
  Sample,
  SearchPage
} from './model';

const NAMESPACE = 'meshlab/api';

/**
 * A JSON request to the meshlab server extension.
 *
 * Resolves with the parsed body and the response; rejects with an
 * `ApiError` carrying the server's message (and suggestions) on failure.
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<{ body: T; response: Response }> {
  const url = URLExt.join(settings.baseUrl, NAMESPACE, endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(
      `the Jupyter server cannot be reached (${String(error)})`,
      0,
      'NetworkError'
    );
  }
  const text = await response.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message =
      body?.message ??
      (response.status === 404
        ? 'the meshlab server extension is not enabled (jupyter server extension enable meshlab)'
        : `the server answered ${response.status} ${response.statusText}`);
    throw new ApiError(
      message,
      response.status,
      body?.error ?? 'HttpError',
      body?.suggestions ?? []
    );
  }
  return { body: body as T, response };
}

function query(params: Record<string, string | number>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    search.set(key, String(value));
  }
  return `?${search.toString()}`;
}

/**
 * The catalog API over HTTP, as the model wants it.
 */
export class HttpCatalogApi implements CatalogApi {
  async status(): Promise<MeshStatus> {
    return (await requestAPI<MeshStatus>('status')).body;
  }

  async search(text: string, limit: number, offset: number): Promise<SearchPage> {
    const { body, response } = await requestAPI<SearchPage['datasets']>(
      'datasets' + query({ q: text, limit, offset })
    );
    const total = Number(response.headers.get('X-Total-Count') ?? body.length);
    return { datasets: body, total };
  }

  async detail(address: string): Promise<DatasetDetail> {
    return (
      await requestAPI<DatasetDetail>(
        `datasets/${encodeURIComponent(address)}`
      )
    ).body;
  }

  async sample(address: string, limit: number): Promise<Sample> {
    return (
      await requestAPI<Sample>(
        `datasets/${encodeURIComponent(address)}/sample` + query({ limit })
      )
    ).body;
  }
}
