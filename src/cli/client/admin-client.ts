import { ApiError, CommandFailure } from '../errors.js';
import type { AdminCredential } from './connection.js';

export type QueryValue = string | readonly string[] | undefined;

interface RequestOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
}

/** Minting an RSA key on a busy server can take a while; anything slower is a hung server. */
const requestTimeoutMs = 30_000;

function describeFetchFailure(err: unknown, address: string): string {
  const error = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (error.name === 'TimeoutError') return `no answer within ${requestTimeoutMs / 1000}s`;
  if (error.cause?.message === 'bad port') {
    const port = /:(\d+)$/.exec(address)?.[1] ?? '';
    return `Node's fetch never connects to port ${port} (one of the ports the Fetch standard blocks, such as 1, 25 and 6000); run the admin API on another port`;
  }
  return error.cause?.message ?? error.cause?.code ?? error.message ?? String(err);
}

function isErrorBody(value: unknown): value is { error: { code: string; message: string } } {
  const error = (value as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

/** The admin REST API of a Sigil server, over HTTP with Node's fetch. */
export class AdminClient {
  constructor(
    readonly address: string,
    private readonly credential: AdminCredential | undefined,
  ) {}

  async getJson<T>(path: string, query?: Record<string, QueryValue>): Promise<T> {
    return (await this.send('GET', path, { ...(query && { query }) }).then((r) => r.json())) as T;
  }

  async getText(path: string, query?: Record<string, QueryValue>): Promise<string> {
    return this.send('GET', path, { ...(query && { query }) }).then((r) => r.text());
  }

  async postJson<T>(path: string, body: unknown): Promise<T> {
    return (await this.send('POST', path, { body }).then((r) => r.json())) as T;
  }

  async patchJson<T>(path: string, body: unknown): Promise<T> {
    return (await this.send('PATCH', path, { body }).then((r) => r.json())) as T;
  }

  async delete(path: string): Promise<void> {
    await this.send('DELETE', path, {});
  }

  /** Every item of a paged list, following next_page_token to the end. */
  async listAll<T>(path: string, key: string, query: Record<string, QueryValue> = {}): Promise<T[]> {
    const items: T[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.getJson<Record<string, unknown>>(path, { ...query, page_size: '1000', page_token: pageToken });
      items.push(...((page[key] as T[] | undefined) ?? []));
      pageToken = typeof page.next_page_token === 'string' && page.next_page_token !== '' ? page.next_page_token : undefined;
    } while (pageToken);
    return items;
  }

  /** A request that is answered at all (any status), for callers that read non-2xx bodies themselves. */
  async fetchRaw(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(path, `http://${this.address}`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      for (const item of typeof value === 'string' ? [value] : (value ?? [])) url.searchParams.append(name, item);
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.credential?.token) headers.authorization = `Bearer ${this.credential.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(url, {
        method,
        headers,
        ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (err) {
      throw new CommandFailure(`cannot reach the Sigil server at ${this.address}: ${describeFetchFailure(err, this.address)}`, { cause: err });
    }
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const response = await this.fetchRaw(method, path, options);
    if (!response.ok) throw await this.errorOf(response);
    return response;
  }

  private async errorOf(response: Response): Promise<ApiError> {
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!isErrorBody(body)) {
      return new ApiError(response.status, 'http_error', `the server answered HTTP ${response.status} ${response.statusText}: ${text.slice(0, 200)}`);
    }
    let message = body.error.message;
    if (response.status === 401 && this.credential && !this.credential.token) {
      message += ` (no admin token in ${this.credential.tokenFile}; pass --token-file, --config or set SIGIL_DATA_DIR)`;
    }
    return new ApiError(response.status, body.error.code, message);
  }
}
