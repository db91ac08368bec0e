/**
 * `npm run bench [-- --quick | --smoke]`: the benchmark of issue 6. Prints the tables, writes
 * bench-results/<timestamp>.json, and ends with the one-line summary (batch 100, 16, pg driver).
 * Talks only to the Postgres on 127.0.0.1 and to a proxy it starts there.
 */
import { cpus, loadavg } from 'node:os';
import { startWsProxy } from '../../src/dev/wsproxy.ts';
import { measureBeat } from './beatBench.ts';
import { measureBundle } from './bundle.ts';
import { dropOwnAndOrphans, serverUrl, serverVersion } from './databases.ts';
import { measureEnqueue } from './enqueueBench.ts';
import { measureForeignClaim } from './foreignClaim.ts';
import { measureLatency } from './latency.ts';
import { FORMAT, FORMAT_VERSION, type Results, renderTables, summarize, summarizeRest, summaryLine, writeResults } from './report.ts';
import { installRoundTripCounter } from './roundTrips.ts';
import { measureScaling } from './scaling.ts';
import { parseSettings } from './settings.ts';
import { measureThroughput } from './throughput.ts';

const settings = parseSettings(process.argv.slice(2));
const startedAt = new Date();
const loadAtStart = loadavg();
const t0 = performance.now();
const round2 = (x: number) => Math.round(x * 100) / 100;
const log = (line: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}`);

serverUrl(); // refuses anything but loopback before any work
installRoundTripCounter();
await dropOwnAndOrphans();
const proxy = await startWsProxy({ port: 0 });
try {
  log(`mode ${settings.mode}: n=${settings.n}, ${settings.rounds} rounds`);
  const throughput = await measureThroughput(settings, { wsProxy: `127.0.0.1:${proxy.port}`, log });
  log('latency');
  const latency = await measureLatency(settings.latencyTasks, settings.delaysMs);
  log('enqueue');
  const enqueue = await measureEnqueue(settings.enqueueRows, settings.rounds, log);
  log('claims on a shared database');
  const foreignClaim = await measureForeignClaim(settings.claimOtherRows, settings.rounds, log);
  log('beat');
  const beat = await measureBeat(settings.beatTasks);
  log('bundle');
  const bundle = await measureBundle(settings.evalRuns);
  log('scaling');
  const scaling = await measureScaling(settings.historyRows, settings.n);

  const { outDir, ...kept } = settings;
  const results: Results = {
    format: FORMAT,
    version: FORMAT_VERSION,
    startedAt: startedAt.toISOString(),
    wallSeconds: Math.round((performance.now() - t0) / 100) / 10,
    mode: settings.mode,
    settings: kept,
    machine: {
      cpus: cpus().length,
      node: process.version,
      postgres: await serverVersion(),
      platform: process.platform,
      loadAverage: { start: loadAtStart.map(round2), end: loadavg().map(round2) },
    },
    throughput,
    latency,
    enqueue,
    foreignClaim,
    beat,
    bundle,
    scaling,
    summary: { ...summarize(throughput, settings.n), ...summarizeRest(enqueue, bundle, foreignClaim) },
  };
  const file = writeResults(outDir, results);
  console.log(renderTables(results));
  console.log(`\nresults: ${file} (${results.wallSeconds} s)`);
  console.log(summaryLine(results.summary));
} finally {
  await proxy.close();
  await dropOwnAndOrphans();
}
