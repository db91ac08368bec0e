/**
 * Node entry (Render web services, a VM, a container): the Hono app on @hono/node-server, behind
 * `reproq serve`. With METRICS_TLS_CERT and METRICS_TLS_KEY it serves HTTPS (TLS 1.2+), and with
 * METRICS_TLS_CLIENT_CA it requires client certificates signed by that CA, as upstream's
 * metrics server does.
 */
import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Config } from '../src/config.ts';
import { describeError } from '../src/db/errors.ts';
import type { Db } from '../src/db/types.ts';
import { ConfigError } from '../src/errors.ts';
import { dashboard } from '../src/dashboard/routes.tsx';
import { createApp } from '../src/http/app.ts';
import type { Ops } from '../src/jobs.ts';
import type { Logger } from '../src/logger.ts';
import type { TaskRegistry } from '../src/tasks/registry.ts';

export interface NodeServerOptions {
  config: Config;
  registry: TaskRegistry;
  db: Db;
  ops?: Ops;
  logger?: Logger;
  port: number;
  hostname?: string;
  /** `metrics`: serve only /metrics, /stats and /healthz (the worker's --metrics-addr listener). */
  only?: 'metrics';
}

export interface NodeServer {
  port: number;
  protocol: 'http' | 'https';
  close(): Promise<void>;
}

/** Refuses to start a server whose mutating routes could never be used, or would be open. */
export function assertServable(config: Config): void {
  if (!config.http.auth_token && !config.http.allow_insecure) {
    throw new ConfigError(
      'REPROQ_AUTH_TOKEN',
      'is not set: the server would refuse every mutating route. Set it, or REPROQ_ALLOW_INSECURE=true on a development machine',
    );
  }
}

/** The https options from METRICS_TLS_*, or undefined for plain HTTP. Upstream's rules and messages. */
export async function tlsOptions(metrics: Config['metrics']): Promise<HttpsOptions | undefined> {
  const { tls_cert, tls_key, tls_client_ca } = metrics;
  if (!tls_cert && !tls_key && !tls_client_ca) return undefined;
  if (!tls_cert || !tls_key) throw new ConfigError(tls_cert ? 'METRICS_TLS_KEY' : 'METRICS_TLS_CERT', 'metrics TLS requires both cert and key');
  const read = async (variable: string, file: string) => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new ConfigError(variable, `cannot read ${file}: ${describeError(err)}`);
    }
  };
  const options: HttpsOptions = {
    cert: await read('METRICS_TLS_CERT', tls_cert),
    key: await read('METRICS_TLS_KEY', tls_key),
    minVersion: 'TLSv1.2',
  };
  if (tls_client_ca) {
    const ca = await read('METRICS_TLS_CLIENT_CA', tls_client_ca);
    if (!ca.toString('utf8').includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError('METRICS_TLS_CLIENT_CA', 'metrics TLS client CA has no valid certificates');
    }
    Object.assign(options, { ca, requestCert: true, rejectUnauthorized: true });
  }
  return options;
}

/**
 * Upstream's warning, for a server whose metrics routes anyone who reaches the address can read: no
 * METRICS_AUTH_TOKEN, no METRICS_ALLOW_CIDRS, no client certificates, and a host other than loopback.
 */
export function openMetricsWarning(config: Config, host: string | undefined, port: number): string | undefined {
  const m = config.metrics;
  if (m.auth_token || m.allow_cidrs.length > 0 || m.tls_client_ca) return undefined;
  if (host !== undefined && /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(host)) return undefined;
  return (
    `/metrics, /stats and /healthz on ${host || '*'}:${port} have no auth and answer anyone who can reach them ` +
    '(REPROQ_AUTH_TOKEN guards only the operator routes): set METRICS_AUTH_TOKEN or METRICS_ALLOW_CIDRS, or bind to 127.0.0.1'
  );
}

export async function startNodeServer(opts: NodeServerOptions): Promise<NodeServer> {
  if (opts.only !== 'metrics') assertServable(opts.config);
  const tls = await tlsOptions(opts.config.metrics);
  const app = createApp({
    config: opts.config,
    registry: opts.registry,
    db: opts.db,
    ops: opts.ops,
    logger: opts.logger,
    connInfo: getConnInfo,
    only: opts.only,
    dashboard,
  });
  let server: ReturnType<typeof serve>;
  const info = await new Promise<AddressInfo>((resolve, reject) => {
    server = serve(
      {
        fetch: app.fetch,
        port: opts.port,
        hostname: opts.hostname,
        ...(tls ? { createServer: createHttpsServer, serverOptions: tls } : {}),
      },
      resolve,
    );
    server.once('error', reject);
  });
  return {
    port: info.port,
    protocol: tls ? 'https' : 'http',
    close: () => new Promise<void>((resolve, reject) => server!.close((err) => (err ? reject(err) : resolve()))),
  };
}
