import type { Command } from 'commander';
import { startWsProxy } from '../../dev/wsproxy.ts';

export function registerDevProxy(program: Command): void {
  program
    .command('dev-proxy')
    .description('serve a local WebSocket→TCP proxy and Neon HTTP endpoint so the Neon driver reaches a plain Postgres')
    .option('--port <n>', 'port to listen on', '8433')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--delay-ms <n>', 'one-way delay added to each direction (simulates an edge link)', '0')
    .action(async (flags: { port: string; host: string; delayMs: string }) => {
      const proxy = await startWsProxy({ port: Number(flags.port), host: flags.host, delayMs: Number(flags.delayMs) });
      console.log(`dev proxy on ${flags.host}:${proxy.port}: set WS_PROXY=${flags.host}:${proxy.port}`);
      console.log(`Neon HTTP endpoint: http://${flags.host}:${proxy.port}/sql`);
      await new Promise<void>((resolve) => {
        const stop = () => void proxy.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
