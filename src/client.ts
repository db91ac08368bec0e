/**
 * A typed client of the HTTP API, for any runtime with `fetch` (browsers, Workers, Node 20, Deno, Bun).
 * One method per route of ENDPOINTS, typed from the zod schemas the server validates with
 * (src/http/api.ts); at run time it carries only the route table, no schema and no dependency.
 *
 *   const reproq = createClient({ baseUrl: 'https://queue.example.com', token });
 *   const { resultId } = await reproq.enqueue({ json: { taskPath: 'app.tasks.send_email', kwargs: { to } } });
 *   const task = await reproq.getTask({ param: { id: resultId } });
 */
import type * as z from 'zod/mini';
import type { ApiRoutes } from './http/api.ts';
import { ENDPOINTS, type EndpointName } from './http/endpoints.ts';

export interface ClientOptions {
  /** The app's origin and route prefix, e.g. `https://queue.example.com/reproq`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`: the operator token (REPROQ_AUTH_TOKEN), or a metrics token. */
  token?: string;
  /** Default: the global fetch. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  headers?: Record<string, string>;
}

type Schema<K extends EndpointName, F extends string> = ApiRoutes[K] extends { [P in F]: infer S extends z.ZodMiniType } ? S : never;
type Optional<T> = {} extends T ? true : false;

/** What a route takes: path params (numbers welcome), query fields and a JSON body, as hono's `hc` names them. */
export type RouteInput<K extends EndpointName> = ([Schema<K, 'params'>] extends [never] ? {} : { param: { [P in keyof z.input<Schema<K, 'params'>>]: string | number } }) &
  ([Schema<K, 'query'>] extends [never] ? {} : { query?: z.input<Schema<K, 'query'>> }) &
  ([Schema<K, 'body'>] extends [never]
    ? {}
    : Optional<z.input<Schema<K, 'body'>>> extends true
      ? { json?: z.input<Schema<K, 'body'>> }
      : { json: z.input<Schema<K, 'body'>> });

/** What a route answers on success: its response schema's output type (text for /metrics and /healthz). */
export type RouteOutput<K extends EndpointName> = z.output<ApiRoutes[K]['response']>;

export type ClientMethod<K extends EndpointName> =
  Optional<RouteInput<K>> extends true
    ? (input?: RouteInput<K>, init?: RequestInit) => Promise<RouteOutput<K>>
    : (input: RouteInput<K>, init?: RequestInit) => Promise<RouteOutput<K>>;

type EnqueueItem = Exclude<z.input<Schema<'enqueue', 'body'>>, readonly unknown[]>;
type Bulk = Extract<RouteOutput<'enqueue'>, { results: unknown }>;

export type ReproqClient = { [K in Exclude<EndpointName, 'enqueue'>]: ClientMethod<K> } & {
  /** One task answers its result; an array is enqueued all-or-nothing and answers `{ results }` in order. */
  enqueue: {
    (input: { json: EnqueueItem }, init?: RequestInit): Promise<Exclude<RouteOutput<'enqueue'>, Bulk>>;
    (input: { json: EnqueueItem[] }, init?: RequestInit): Promise<Bulk>;
  };
};

/** A refusal or failure, with the app's error body (`{"error": {"code", "message", "field"?}}`) taken apart. */
export class ReproqHttpError extends Error {
  override readonly name = 'ReproqHttpError';
  readonly status: number;
  /** The app's error code (`not_found`, `invalid_input`, ...), or `http_<status>` for an answer without one. */
  readonly code: string;
  /** The input at fault, when the app names one. */
  readonly field: string | undefined;
  /** The whole body: a failed drain's also carries its `summary`. */
  readonly body: unknown;

  constructor(status: number, code: string, message: string, field: string | undefined, body: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.body = body;
  }
}

export function createClient(options: ClientOptions): ReproqClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const send = options.fetch ?? ((input, init) => fetch(input, init));

  const call = async (name: EndpointName, input: { param?: Record<string, string | number>; query?: object; json?: unknown } = {}, init: RequestInit = {}) => {
    const { method, path } = ENDPOINTS[name];
    const url = base + path.replace(/:(\w+)/g, (_, p: string) => encodeURIComponent(String(input.param?.[p] ?? ''))) + queryString(input.query);
    const headers: Record<string, string> = { accept: 'application/json, text/plain', ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (input.json !== undefined) headers['content-type'] = 'application/json';
    const res = await send(url, {
      ...init,
      method: method.toUpperCase(),
      headers: { ...headers, ...(init.headers as Record<string, string> | undefined) },
      body: input.json === undefined ? undefined : JSON.stringify(input.json),
    });
    const body: unknown = /\bjson\b/.test(res.headers.get('content-type') ?? '') ? await res.json() : await res.text();
    if (res.ok) return body;
    const error = (body as { error?: { code?: unknown; message?: unknown; field?: unknown } } | null)?.error;
    throw new ReproqHttpError(
      res.status,
      typeof error?.code === 'string' ? error.code : `http_${res.status}`,
      typeof error?.message === 'string' ? error.message : `${method.toUpperCase()} ${path} answered ${res.status}: ${String(body).slice(0, 200)}`,
      typeof error?.field === 'string' ? error.field : undefined,
      body,
    );
  };

  return Object.fromEntries(
    (Object.keys(ENDPOINTS) as EndpointName[]).map((name) => [name, (input?: object, init?: RequestInit) => call(name, input, init)]),
  ) as ReproqClient;
}

/** Arrays as repeated keys (`queues=a&queues=b`), which the app reads as a list. */
function queryString(query: object | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) params.append(key, String(v));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}
