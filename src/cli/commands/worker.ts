import { hostname } from 'node:os';
import type { Command } from 'commander';
import { describeError } from '../../db/errors.ts';
import { drain, type DrainSummary } from '../../drain.ts';
import { drainOptionsFromConfig } from '../../drain/options.ts';
import { parseDuration } from '../../duration.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/types.ts';
import { ConfigError, ReproqError } from '../../errors.ts';
import { consoleLogger, type Logger } from '../../logger.ts';
import { checkSchema } from '../../migrate.ts';
import { reclaim } from '../../reclaim.ts';
import { TOUCH_WORKER } from '../../sql/touchWorker.ts';
import { warnAllowList } from '../../tasks/allowlist.ts';
import { TaskRegistry } from '../../tasks/registry.ts';
import { openMetricsWarning, startNodeServer, type NodeServer } from '../../../workers/node.ts';
import { int, list, number } from '../args.ts';
import type { FlagSetting } from '../config-file.ts';
import { commandConfig, loadTasks, openDatabase, withDbFlags, type DbFlags } from '../context.ts';
import { fileLogSink } from '../logs-dir.ts';
import { liveLine } from '../progress.ts';

/** Flags that are config keys: set only when given, so the file and env below them still apply. */
const CONFIG_FLAGS: readonly { option: string; flag: string; key: string }[] = [
  { option: 'workerId', flag: '--worker-id', key: 'worker.worker_id' },
  { option: 'processRole', flag: '--process-role', key: 'worker.process_role' },
  { option: 'queues', flag: '--queues', key: 'worker.queues' },
  { option: 'allowedTaskModules', flag: '--allowed-task-modules', key: 'worker.allowed_task_modules' },
  { option: 'concurrency', flag: '--concurrency', key: 'worker.concurrency' },
  { option: 'leaseSeconds', flag: '--lease-seconds', key: 'worker.lease_seconds' },
  { option: 'heartbeatSeconds', flag: '--heartbeat-seconds', key: 'worker.heartbeat_seconds' },
  { option: 'reclaimIntervalSeconds', flag: '--reclaim-interval-seconds', key: 'worker.reclaim_interval_seconds' },
  { option: 'priorityAgingFactor', flag: '--priority-aging-factor', key: 'worker.priority_aging_factor' },
  { option: 'logsDir', flag: '--logs-dir', key: 'worker.logs_dir' },
  { option: 'batchSize', flag: '--batch-size', key: 'drain.batch_size' },
  { option: 'unknownTasks', flag: '--unknown-tasks', key: 'drain.unknown_tasks' },
  { option: 'metricsPort', flag: '--metrics-port', key: 'metrics.port' },
  { option: 'metricsAddr', flag: '--metrics-addr', key: 'metrics.addr' },
  { option: 'metricsAuthToken', flag: '--metrics-auth-token', key: 'metrics.auth_token' },
  { option: 'metricsAllowCidrs', flag: '--metrics-allow-cidrs', key: 'metrics.allow_cidrs' },
  { option: 'metricsAuthLimit', flag: '--metrics-auth-limit', key: 'metrics.auth_limit' },
  { option: 'metricsAuthWindow', flag: '--metrics-auth-window', key: 'metrics.auth_window' },
  { option: 'metricsAuthMaxEntries', flag: '--metrics-auth-max-entries', key: 'metrics.auth_max_entries' },
  { option: 'metricsTlsCert', flag: '--metrics-tls-cert', key: 'metrics.tls_cert' },
  { option: 'metricsTlsKey', flag: '--metrics-tls-key', key: 'metrics.tls_key' },
  { option: 'metricsTlsClientCa', flag: '--metrics-tls-client-ca', key: 'metrics.tls_client_ca' },
];

/**
 * A drain cycle's budget. The worker is long-lived, so a cycle ends when the queues are empty or on SIGTERM,
 * not on a platform deadline; the budget only has to outlast any task (timeout_seconds is capped at 7 days).
 */
const CYCLE_BUDGET_MS = 7 * 24 * 3600 * 1000 + 60_000;
const TOUCH_INTERVAL_MS = 30_000;
/** After the grace period, time to record the aborted tasks before the process gives up on the database. */
const RECORD_MARGIN_MS = 10_000;

type WorkerFlags = DbFlags & Record<string, unknown> & { tasks?: string; queue?: string; payloadMode?: string };

export function registerWorker(program: Command): void {
  withDbFlags(
    program
      .command('worker')
      .description(
        'run the long-lived drain loop (systemd, Render background workers); SIGTERM stops claiming, lets running tasks finish within worker.shutdown_timeout, releases the rest, then exits',
      ),
  )
    .option('--tasks <path>', 'tasks module (default: REPROQ_TASKS, then tasks in the config file)')
    .option('--worker-id <id>', 'reproq_workers id (default: WORKER_ID, then <hostname>-<pid>)')
    .option('--process-role <role>', 'role shown in logs (default: worker)')
    .option('--concurrency <n>', 'tasks run at once (default: 10, or worker.concurrency)', int(1, 1000))
    .option('--queues <list>', 'comma-separated queues (default: QUEUE_NAMES, then default)', list)
    .option('--queue <name>', 'deprecated: one queue; use --queues')
    .option('--allowed-task-modules <list>', 'task path prefixes allowed to run; * allows all (default: ALLOWED_TASK_MODULES)', list)
    .option('--lease-seconds <n>', 'lease length (default: 300)', int(1))
    .option('--heartbeat-seconds <n>', 'lease renewal interval, shorter than the lease (default: min(60, lease/5))', int(0))
    .option('--reclaim-interval-seconds <n>', 'requeue or fail tasks whose lease expired, this often (0: never)', int(0))
    .option('--priority-aging-factor <n>', 'seconds of waiting worth one priority point; 0 disables (default: 60)', number(0))
    .option('--logs-dir <dir>', "write each attempt's task log there and set logs_uri (default: REPROQ_LOGS_DIR)")
    .option('--batch-size <n>', 'tasks claimed per statement (default: 100)', int(1, 1000))
    .option('--unknown-tasks <policy>', 'skip | fail tasks this worker has no handler for (default: skip)')
    .option('--payload-mode <mode>', "accepted for upstream parity and ignored: tasks run in-process, there is no executor payload")
    .option('--metrics-port <n>', 'serve /metrics, /stats and /healthz on this port, all interfaces (--metrics-addr wins)', int(0, 65535))
    .option('--metrics-addr <host:port>', 'serve /metrics, /stats and /healthz here, e.g. 127.0.0.1:9090 (METRICS_ADDR, metrics.addr)')
    .option('--metrics-auth-token <token>', 'bearer token (or TUI JWT secret) the metrics routes require (METRICS_AUTH_TOKEN)')
    .option('--metrics-allow-cidrs <list>', 'client addresses allowed, CIDRs or IPs (METRICS_ALLOW_CIDRS)', list)
    .option('--metrics-auth-limit <n>', 'failed authentications per client per window before 429 (default: 30)', int(1))
    .option('--metrics-auth-window <duration>', 'window of --metrics-auth-limit (default: 1m)')
    .option('--metrics-auth-max-entries <n>', 'clients the limiter tracks (default: 1000)', int(1))
    .option('--metrics-tls-cert <file>', 'serve HTTPS with this certificate (METRICS_TLS_CERT)')
    .option('--metrics-tls-key <file>', 'its key (METRICS_TLS_KEY)')
    .option('--metrics-tls-client-ca <file>', 'require client certificates from this CA (METRICS_TLS_CLIENT_CA)')
    .action(async (flags: WorkerFlags) => {
      try {
        await runWorker(flags);
      } finally {
        // A handler that ignores its abort signal may still hold a timer; once the main module has reported
        // the outcome (and set the exit code), it must not keep the process alive.
        setTimeout(() => process.exit(), 100).unref();
      }
    });
}

async function runWorker(flags: WorkerFlags): Promise<void> {
  const settings: FlagSetting[] = CONFIG_FLAGS.map(({ option, flag, key }) => ({ key, flag, value: flags[option] }));
  if (flags.queue !== undefined && flags.queues === undefined) settings.push({ key: 'worker.queues', flag: '--queue', value: [flags.queue] });
  const cfg = commandConfig(flags, settings);
  const c = cfg.config;
  const workerName = c.worker.worker_id ?? `${hostname()}-${process.pid}`;
  const log: Logger = consoleLogger({ worker_id: workerName, role: c.worker.process_role });
  if (flags.queue !== undefined) log.warn('--queue is deprecated; use --queues');
  if (flags.payloadMode !== undefined) log.info('--payload-mode is ignored: tasks run in-process, with no executor payload');
  const graceMs = parseDuration(c.worker.shutdown_timeout, 'worker.shutdown_timeout');
  const minBackoff = parseDuration(c.worker.poll_min_backoff, 'worker.poll_min_backoff');
  const maxBackoff = Math.max(parseDuration(c.worker.poll_max_backoff, 'worker.poll_max_backoff'), minBackoff);

  const status = liveLine();
  status.set('loading tasks…');
  const registry = await loadTasks(flags.tasks ?? c.tasks);
  warnAllowList(c.worker.allowed_task_modules, registry, log);
  status.set('connecting…');
  const db = await openDatabase(flags, cfg);
  const claiming = new AbortController();
  const stopping = new AbortController();
  const timers: NodeJS.Timeout[] = [];
  let metrics: NodeServer | undefined;
  const onSignal = (signal: string) => {
    if (claiming.signal.aborted) return;
    log.info('shutting down: no new claims; running tasks get the grace period', { signal, grace_ms: graceMs });
    claiming.abort();
    timers.push(setTimeout(() => stopping.abort(), graceMs));
    // Last resort if the database does not answer: exit; unrecorded tasks come back through lease expiry.
    timers.push(setTimeout(() => (log.error('shutdown did not complete; exiting'), process.exit(1)), graceMs + RECORD_MARGIN_MS).unref());
  };
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);

  try {
    status.set('checking schema…');
    const schema = await checkSchema(db);
    if (!schema.ok) throw new ReproqError(`the database schema is incomplete (${schema.issues[0]?.object}: ${schema.issues[0]?.message}); run \`reproq migrate\``);
    metrics = await startMetricsListener(cfg.config, db, log);
    status.done(`worker ${workerName} ready: queues ${c.worker.queues.join(',')}, concurrency ${c.worker.concurrency}, ${registry.size} task(s)`);
    timers.push(setInterval(() => void db.query(TOUCH_WORKER, [workerName]).catch((err) => log.warn('worker heartbeat failed', { error: describeError(err) })), TOUCH_INTERVAL_MS));
    // Upstream's worker reclaims expired leases at startup and then every reclaim_interval_seconds.
    const reclaimExpired = () =>
      reclaim(db)
        .then((r) => r.matched > 0 && log.info('Reclaimed expired tasks', { requeued: r.requeued, failed: r.failed }))
        .catch((err) => log.warn('reclaim failed', { error: describeError(err) }));
    if (c.worker.reclaim_interval_seconds > 0) {
      await reclaimExpired();
      timers.push(setInterval(() => void reclaimExpired(), c.worker.reclaim_interval_seconds * 1000));
    }

    const deps = { db, registry, logger: log, signal: claiming.signal, stop: stopping.signal, ...(c.worker.logs_dir && { logSink: fileLogSink(c.worker.logs_dir) }) };
    const options = drainOptionsFromConfig(c, { budgetMs: CYCLE_BUDGET_MS, workerName, hostname: hostname() });
    let backoff = minBackoff;
    const total = { claimed: 0, succeeded: 0, failed: 0, retried: 0, released: 0 };
    while (!claiming.signal.aborted) {
      const summary: DrainSummary = await drain(deps, options);
      for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += summary[k];
      if (summary.claimed > 0 || summary.stoppedBecause === 'db_error') log.info('drain cycle', { ...summary });
      // Idle or failing: back off towards poll_max_backoff; busy: poll again at once.
      backoff = summary.claimed > 0 && summary.stoppedBecause !== 'db_error' ? minBackoff : Math.min(backoff * 2, maxBackoff);
      if (summary.claimed === 0 || summary.stoppedBecause === 'db_error') await sleep(backoff, claiming.signal);
    }
    log.info('worker stopped', total);
  } finally {
    timers.forEach((t) => clearTimeout(t));
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
    await metrics?.close().catch((err: unknown) => log.warn('metrics listener did not close', { error: String(err) }));
    await db.close();
  }
}

/**
 * Upstream's metrics server: /metrics, /stats and /healthz on --metrics-addr (or all interfaces on
 * --metrics-port), with the same token, CIDR, limiter and TLS rules as `reproq serve`. Off when neither is
 * set, or with LOW_MEMORY_MODE as upstream.
 */
async function startMetricsListener(config: Config, db: Db, log: Logger): Promise<NodeServer | undefined> {
  const { addr, port } = config.metrics;
  if (!addr && !port) return undefined;
  if (/^(1|true|yes|on)$/i.test(process.env.LOW_MEMORY_MODE?.trim() ?? '')) {
    log.info('LOW_MEMORY_MODE: the metrics listener is off');
    return undefined;
  }
  const at = addr ? listenAddress(addr) : { port };
  let server: NodeServer;
  try {
    server = await startNodeServer({ config, registry: new TaskRegistry(), db, logger: log.child({ component: 'metrics' }), port: at.port, hostname: at.host, only: 'metrics' });
  } catch (err) {
    // Bad settings stop the worker, as upstream's; a port that cannot be bound only costs the metrics.
    if (err instanceof ConfigError) throw err;
    log.error('metrics listener failed; the worker runs without it', { addr: addr || `:${port}`, error: (err as Error).message });
    return undefined;
  }
  const open = openMetricsWarning(config, at.host, server.port);
  if (open) log.warn(open);
  log.info('metrics listening', { url: `${server.protocol}://${at.host ?? '0.0.0.0'}:${server.port}/metrics` });
  return server;
}

/** Go's listen address: `host:port`, `:port` (all interfaces) or `[v6]:port`. */
export function listenAddress(addr: string): { host?: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new ConfigError('metrics.addr', `expected host:port or :port, got ${JSON.stringify(addr)}`);
  const host = m[1] ?? m[2];
  return { ...(host && { host }), port };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
