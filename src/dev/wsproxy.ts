/**
 * Local stand-ins for Neon's edge endpoints, so the Neon driver can reach an ordinary Postgres in
 * dev and tests (Node only):
 * - `GET /v1?address=host:port` (WebSocket upgrade): raw Postgres protocol tunnelled to TCP, as
 *   Neon's WebSocket proxy does. Use with `neonPoolDb({ wsProxy })` or `configureNeonForLocal`.
 * - `POST /sql`: Neon's HTTP query protocol, so `neonHttpDb({ fetchEndpoint })` works.
 * Both only reach the targets `allow` accepts (loopback by default): this is not an open relay.
 */
import { STATUS_CODES, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import { WebSocketServer, type WebSocket } from 'ws';
import { describeError } from '../db/errors.ts';
import { inTransaction } from '../db/shared.ts';

export interface WsProxyOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Which Postgres targets may be reached; default loopback only. */
  allow?: (host: string, port: number) => boolean;
  /** One-way delay on each direction of every tunnel, to mimic an edge-to-database link. */
  delayMs?: number;
}

export interface WsProxy {
  port: number;
  /** Ends tunnels, HTTP connections and the /sql pools. */
  close(): Promise<void>;
  /** WebSocket tunnels open now and opened since start. */
  stats(): { open: number; total: number };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return /^::ffff:127\.\d+\.\d+\.\d+$/i.test(host);
}

interface Target {
  host: string;
  port: number;
}

/** `host:port`, `[v6]:port` or `v6:port` (the driver does not bracket IPv6 hosts). */
function parseAddress(address: string | null): Target | undefined {
  const i = address?.lastIndexOf(':') ?? -1;
  if (!address || i <= 0) return undefined;
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(i + 1));
  return Number.isInteger(port) && port > 0 && port < 65536 ? { host, port } : undefined;
}

/**
 * Runs each queued action `delayMs` after it was queued, in queue order, so delayed frames never
 * overtake each other or the close that follows them.
 */
function lane(delayMs: number): (action: () => void) => void {
  if (delayMs <= 0) return (action) => action();
  let tail = Promise.resolve();
  return (action) => {
    const due = performance.now() + delayMs;
    tail = tail.then(
      () =>
        new Promise<void>((resolve) =>
          setTimeout(() => {
            try {
              action();
            } finally {
              resolve();
            }
          }, due - performance.now()),
        ),
    );
  };
}

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`,
  );
}

export async function startWsProxy(opts: WsProxyOptions = {}): Promise<WsProxy> {
  const { port = 0, host = '127.0.0.1', allow = isLoopback, delayMs = 0 } = opts;
  if (!(Number.isFinite(delayMs) && delayMs >= 0)) throw new RangeError(`delayMs must be a number >= 0, got ${delayMs}`);
  const sockets = new Set<net.Socket>();
  const pools = new Map<string, pg.Pool>();
  const counts = { open: 0, total: 0 };

  const server = createServer((req, res) => {
    handleSql(req, res, allow, pools).catch((err: unknown) => reply(res, 500, { message: describeError(err) }));
  });
  const wss = new WebSocketServer({ noServer: true });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const target = url.pathname === '/v1' ? parseAddress(url.searchParams.get('address')) : undefined;
    if (!target) return refuseUpgrade(socket, 400, 'expected /v1?address=host:port');
    if (!allow(target.host, target.port)) return refuseUpgrade(socket, 403, `target ${target.host}:${target.port} is not allowed`);
    wss.handleUpgrade(req, socket, head, (ws) => tunnel(ws, target));
  });

  function tunnel(ws: WebSocket, target: Target): void {
    counts.open++;
    counts.total++;
    const up = lane(delayMs);
    const down = lane(delayMs);
    // A net.Socket queues writes made while it is still connecting, so frames that arrive before
    // the TCP connect completes are kept, in order.
    const tcp = net.connect(target.port, target.host);
    tcp.setNoDelay(true);
    sockets.add(tcp);
    let failure: string | undefined;

    ws.on('message', (data) => up(() => tcp.write(data as Buffer)));
    ws.on('close', () => {
      counts.open--;
      up(() => tcp.end());
    });
    ws.on('error', () => tcp.destroy());
    tcp.on('data', (chunk) => down(() => ws.send(chunk)));
    tcp.on('error', (err: NodeJS.ErrnoException) => {
      failure = err.code ?? err.message;
    });
    tcp.on('close', () => {
      sockets.delete(tcp);
      // 1011 with the TCP error tells the client why, e.g. ECONNREFUSED.
      down(() => (failure ? ws.close(1011, failure.slice(0, 120)) : ws.close()));
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    stats: () => ({ ...counts }),
    close: () =>
      (closing ??= (async () => {
        for (const ws of wss.clients) ws.terminate();
        for (const tcp of sockets) tcp.destroy();
        wss.close();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await Promise.all([stopped, ...[...pools.values()].map((p) => p.end())]);
      })()),
  };
}

// ---- Neon HTTP protocol (POST /sql) ----

interface SqlRequest {
  query: string;
  params?: unknown[];
}

const ERROR_FIELDS = [
  'severity', 'code', 'detail', 'hint', 'position', 'internalPosition', 'internalQuery', 'where',
  'schema', 'table', 'column', 'dataType', 'constraint', 'file', 'line', 'routine',
] as const;

const ISOLATION: Record<string, string> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
};

/** Values go back as Postgres text; the driver parses them by dataTypeID, as with Neon. */
const rawText: pg.CustomTypesConfig = { getTypeParser: () => (value: string) => value };

function reply(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
  res.end(json);
}

function isSqlRequest(v: unknown): v is SqlRequest {
  const r = v as SqlRequest | null;
  return typeof r?.query === 'string' && (r.params === undefined || Array.isArray(r.params));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function handleSql(
  req: IncomingMessage,
  res: ServerResponse,
  allow: (host: string, port: number) => boolean,
  pools: Map<string, pg.Pool>,
): Promise<void> {
  if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://proxy').pathname !== '/sql') {
    return reply(res, 404, { message: 'POST /sql or a WebSocket on /v1' });
  }
  const connectionString = req.headers['neon-connection-string'];
  if (typeof connectionString !== 'string') return reply(res, 400, { message: 'missing Neon-Connection-String header' });
  let target: URL;
  try {
    target = new URL(connectionString);
  } catch {
    return reply(res, 400, { message: 'Neon-Connection-String is not a valid URL' });
  }
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!allow(host, Number(target.port || 5432))) return reply(res, 403, { message: `target ${host} is not allowed` });

  let body: unknown;
  try {
    body = await readJson(req);
  } catch {
    return reply(res, 400, { message: 'request body is not JSON' });
  }
  const batch = (body as { queries?: unknown } | null)?.queries;
  if (!(Array.isArray(batch) ? batch.every(isSqlRequest) : isSqlRequest(body))) {
    return reply(res, 400, { message: 'expected {query, params} or {queries: [{query, params}, ...]}' });
  }

  let pool = pools.get(connectionString);
  if (!pool) {
    pool = new pg.Pool({ connectionString, types: rawText });
    pool.on('error', () => {}); // idle connection dropped: pg discards it; do not crash the proxy
    pools.set(connectionString, pool);
  }
  const arrayMode = req.headers['neon-array-mode'] === 'true';
  const run = async (q: pg.Pool | pg.PoolClient, { query, params = [] }: SqlRequest) => {
    // Extended protocol even without params: one statement per query, like Neon's endpoint.
    const r = await (q as pg.Pool).query({ text: query, values: params, rowMode: 'array', queryMode: 'extended' } as pg.QueryArrayConfig);
    const fields = r.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID }));
    const rows = arrayMode ? r.rows : r.rows.map((row) => Object.fromEntries(fields.map((f, i) => [f.name, row[i]])));
    return { command: r.command, rowCount: r.rowCount, fields, rows, rowAsArray: arrayMode };
  };

  try {
    if (!Array.isArray(batch)) return reply(res, 200, await run(pool, body as SqlRequest));
    const client = await pool.connect();
    const h = req.headers;
    const level = ISOLATION[String(h['neon-batch-isolation-level'])];
    const mode = [
      level && `ISOLATION LEVEL ${level}`,
      h['neon-batch-read-only'] === 'true' && 'READ ONLY',
      h['neon-batch-deferrable'] === 'true' && 'DEFERRABLE',
    ];
    const results = await inTransaction(client, `BEGIN ${mode.filter(Boolean).join(' ')}`, async () => {
      const out = [];
      for (const q of batch as SqlRequest[]) out.push(await run(client, q));
      return out;
    });
    reply(res, 200, { results });
  } catch (err) {
    // Neon answers database errors with 400 and the error's fields; anything else is a server error.
    if (!(err instanceof pg.DatabaseError)) return reply(res, 500, { message: describeError(err) });
    reply(res, 400, { message: err.message, ...Object.fromEntries(ERROR_FIELDS.map((k) => [k, err[k]])) });
  }
}
