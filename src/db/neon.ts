/**
 * Adapters on @neondatabase/serverless. This module must bundle for Cloudflare Workers, so it
 * imports no Node built-ins (and not `ws`): Node callers pass `webSocketConstructor`, or use
 * `./neon-node.ts`.
 */
import {
  Client,
  Pool,
  neon,
  neonConfig,
  types,
  type CustomTypesConfig,
  type NeonConfig,
  type QueryConfig,
  type QueryResult as NeonQueryResult,
  type WebSocketConstructor,
} from '@neondatabase/serverless';
import { ReproqError } from '../errors.ts';
import { INT8, INT8_ARRAY, inTransaction, mapInt8, parseInt8, usePreparedStatements } from './shared.ts';
import type { Db, QueryOptions, QueryResult } from './types.ts';

const parseInt8Strings = types.getTypeParser(INT8_ARRAY) as (text: string) => unknown;

/** Same row shapes as the pg adapter: int8 (and int8[]) as number, the rest pg-types' defaults. */
const rowTypes: CustomTypesConfig = {
  getTypeParser: (oid, format) => {
    if (oid === INT8) return parseInt8;
    if (oid === INT8_ARRAY) return (text: string) => mapInt8(parseInt8Strings(text));
    return types.getTypeParser(oid, format);
  },
};

type SocketSettings = Pick<NeonConfig, 'wsProxy' | 'useSecureWebSocket' | 'pipelineTLS' | 'pipelineConnect'>;

/** Plain `ws:` to a local proxy in front of an ordinary Postgres (see src/dev/wsproxy.ts). */
function useLocalProxy(target: SocketSettings, wsProxy: string): void {
  target.wsProxy = (host, port) => `${wsProxy}/v1?address=${host}:${port}`;
  target.useSecureWebSocket = false;
  target.pipelineTLS = false;
  // Pipelining the startup only works with cleartext password auth; scram, md5 and trust fail.
  target.pipelineConnect = false;
}

/**
 * Points every Neon WebSocket connection of this process at a local proxy (`host:port`).
 * neonConfig is global in the driver: call this once per process (e.g. a Worker's local dev
 * env), not per request. `neonPoolDb({ wsProxy })` configures a single pool instead.
 */
export function configureNeonForLocal(wsProxy: string): void {
  useLocalProxy(neonConfig, wsProxy);
}

export interface NeonPoolOptions {
  connectionString: string;
  max?: number;
  /** `host:port` of a local WebSocket proxy; applies to this pool's connections only. */
  wsProxy?: string;
  /** Needed where there is no global WebSocket (Node 20). */
  webSocketConstructor?: WebSocketConstructor;
  /** Named prepared statements (default: on, unless the URL says `pgbouncer=true`); see pgDb. */
  preparedStatements?: boolean;
}

/** `Db` over Neon's Pool (Postgres protocol over WebSocket): sessions, transactions, scripts. */
export function neonPoolDb(opts: NeonPoolOptions): Db {
  const pool = new Pool({ connectionString: opts.connectionString, max: opts.max });
  const prepared = usePreparedStatements(opts.preparedStatements, opts.connectionString);
  const { wsProxy, webSocketConstructor } = opts;
  if (wsProxy !== undefined || webSocketConstructor !== undefined) {
    // Per-client settings rather than the global neonConfig, so pools behind different proxies
    // can live in one process. The Pool ignores a `Client` option but uses this typed field.
    pool.Client = class extends Client {
      constructor(config?: ConstructorParameters<typeof Client>[0]) {
        super(config);
        if (wsProxy !== undefined) useLocalProxy(this.neonConfig, wsProxy);
        if (webSocketConstructor !== undefined) this.neonConfig.webSocketConstructor = webSocketConstructor;
      }
    };
  }
  // Without a listener, an idle connection dropping would crash a Node process.
  pool.on('error', () => {});
  let closing: Promise<void> | undefined;

  return {
    driver: 'neon-ws',
    ...statements((c) => pool.query(c), prepared),
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      return inTransaction(client, 'BEGIN', () =>
        // The connection belongs to the transaction and is released when `fn` settles.
        fn({ driver: 'neon-ws', ...statements((c) => client.query(c), prepared), close: async () => {} }),
      );
    },
    close: () => (closing ??= pool.end()),
  };
}

type Send = (config: QueryConfig) => Promise<NeonQueryResult>;

function statements(send: Send, prepared: boolean): Pick<Db, 'query' | 'exec'> {
  return {
    async query<R>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
      const res: NeonQueryResult | NeonQueryResult[] = await send({ name: prepared ? options?.name : undefined, text, values: params ? [...params] : [], types: rowTypes });
      // The driver's pg has no `queryMode`, so a parameterless string goes out as a simple query,
      // which accepts several statements. They have run by now, but the caller still learns that
      // the other adapters refuse such a string.
      if (Array.isArray(res)) throw new ReproqError('query() takes one statement; run scripts with exec()');
      return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await send({ text: sql });
    },
  };
}

export interface NeonHttpOptions {
  connectionString: string;
  /**
   * URL of a Neon-compatible `/sql` endpoint, e.g. the local shim in src/dev/wsproxy.ts. The
   * driver only has this as a global setting: the last value set wins for the whole process.
   */
  fetchEndpoint?: string;
}

/**
 * `Db` over Neon's HTTP query endpoint: one statement per request, no session, so no
 * `transaction` and no multi-statement `exec`.
 */
export function neonHttpDb(opts: NeonHttpOptions): Db {
  if (opts.fetchEndpoint !== undefined) neonConfig.fetchEndpoint = opts.fetchEndpoint;
  const sql = neon(opts.connectionString, { fullResults: true });
  return {
    driver: 'neon-http',
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      // Per query: the driver (1.2.0) ignores `types` given to neon() itself.
      const res = await sql.query(text, params ? [...params] : [], { types: rowTypes });
      return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
    },
    async exec(): Promise<void> {
      throw new ReproqError('multi-statement scripts need a pooled connection (driver pg or neon-ws), not neon-http');
    },
    // Stateless: each query is its own HTTP request.
    close: async () => {},
  };
}
