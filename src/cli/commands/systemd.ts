import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { int } from '../args.ts';
import { output } from '../context.ts';
import { packagePath } from '../../package-root.ts';

interface SystemdFlags {
  user?: string;
  group?: string;
  concurrency: number;
  queues?: string;
  tasks?: string;
  allowedTaskModules?: string;
  logsDir?: string;
  metricsPort?: number;
  metricsAddr?: string;
  metricsAuthToken?: string;
  metricsAllowCidrs?: string;
  metricsTlsCert?: string;
  metricsTlsKey?: string;
  metricsTlsClientCa?: string;
  envFile?: string;
  schedule?: boolean;
  scheduleOnCalendar: string;
  workdir?: string;
  outputDir: string;
  project?: string;
  json?: boolean;
}

/** This package's CLI script: units run it with the node binary that generated them, both absolute. */
const BIN = packagePath('bin', 'reproq.mjs');

export function registerSystemd(program: Command): void {
  program
    .command('systemd')
    .description('write systemd units: reproq-worker.service and reproq-beat.service (with --schedule, a oneshot schedule service and its timer)')
    .option('--user <name>', 'User= of the units (default: the current user)')
    .option('--group <name>', 'Group= of the units (default: the user)')
    .option('--concurrency <n>', 'worker --concurrency', int(1, 1000), 10)
    .option('--queues <list>', 'worker --queues')
    .option('--tasks <path>', 'worker --tasks (default: REPROQ_TASKS from the env file)')
    .option('--allowed-task-modules <list>', 'worker --allowed-task-modules')
    .option('--logs-dir <dir>', 'worker --logs-dir')
    .option('--metrics-port <n>', 'worker --metrics-port', int(0, 65535))
    .option('--metrics-addr <host:port>', 'worker --metrics-addr (wins over --metrics-port)')
    .option('--metrics-auth-token <token>', 'Environment=METRICS_AUTH_TOKEN (prefer --env-file for secrets)')
    .option('--metrics-allow-cidrs <list>', 'Environment=METRICS_ALLOW_CIDRS')
    .option('--metrics-tls-cert <file>', 'worker --metrics-tls-cert')
    .option('--metrics-tls-key <file>', 'worker --metrics-tls-key')
    .option('--metrics-tls-client-ca <file>', 'worker --metrics-tls-client-ca')
    .option('--env-file <file>', 'EnvironmentFile= (DATABASE_URL, REPROQ_TASKS, REPROQ_SCHEDULER_MODE, …)')
    .option('--schedule', 'also write reproq-schedule.service + .timer; REPROQ_SCHEDULER_MODE=cron then idles the beat unit')
    .option('--schedule-on-calendar <spec>', 'OnCalendar= of the timer', '*-*-* *:*:00')
    .option('--workdir <dir>', 'WorkingDirectory=, where reproq.yaml is found (default: the current directory)')
    .option('--output-dir <dir>', 'where to write the files', '.')
    .option('--project <name>', 'suffix the unit names (reproq-worker-NAME.service) to run several projects on one host')
    .option('--json', 'print the written files as JSON')
    .action((flags: SystemdFlags) => {
      const files = renderUnits(flags);
      mkdirSync(flags.outputDir, { recursive: true });
      const written = Object.entries(files).map(([name, text]) => {
        const file = path.join(flags.outputDir, name);
        writeFileSync(file, text);
        return file;
      });
      output(flags.json, { files: written }, () => written.map((f) => `Generated ${f}`).join('\n'));
    });
}

export function renderUnits(flags: SystemdFlags): Record<string, string> {
  const suffix = flags.project ? `-${flags.project}` : '';
  const workdir = path.resolve(flags.workdir ?? '.');
  const user = flags.user ?? userInfo().username;
  const reproq = (...args: string[]) => [process.execPath, BIN, ...args];
  const opt = (flag: string, value: string | number | undefined) => (value === undefined || value === '' ? [] : [flag, String(value)]);
  const worker = reproq(
    'worker',
    '--concurrency',
    String(flags.concurrency),
    ...opt('--queues', flags.queues),
    ...opt('--tasks', flags.tasks),
    ...opt('--allowed-task-modules', flags.allowedTaskModules),
    ...opt('--logs-dir', flags.logsDir),
    ...(flags.metricsAddr ? ['--metrics-addr', flags.metricsAddr] : opt('--metrics-port', flags.metricsPort)),
    ...opt('--metrics-tls-cert', flags.metricsTlsCert),
    ...opt('--metrics-tls-key', flags.metricsTlsKey),
    ...opt('--metrics-tls-client-ca', flags.metricsTlsClientCa),
  );
  const env = [
    ...(flags.envFile ? [`EnvironmentFile=${path.resolve(flags.envFile)}`] : []),
    ...(flags.metricsAuthToken ? [`Environment=${quote(`METRICS_AUTH_TOKEN=${flags.metricsAuthToken}`)}`] : []),
    ...(flags.metricsAllowCidrs ? [`Environment=${quote(`METRICS_ALLOW_CIDRS=${flags.metricsAllowCidrs}`)}`] : []),
  ];
  // The mode switch is evaluated by bash at start ($$ keeps systemd from expanding it first). In cron mode
  // the beat unit idles instead of exiting, which Restart=always would turn into a restart loop.
  const gated = (mode: string, fallback: string, cmd: string[], otherwise: string) =>
    ['/bin/bash', '-c', `if [ "\${REPROQ_SCHEDULER_MODE:-${fallback}}" = "${mode}" ]; then exec ${cmd.map(shellQuote).join(' ')}; else echo "REPROQ_SCHEDULER_MODE=\${REPROQ_SCHEDULER_MODE:-${fallback}}; ${otherwise}"; ${mode === 'beat' ? 'exec sleep infinity' : 'true'}; fi`];

  const service = (name: string, type: 'simple' | 'oneshot', cmd: string[]) =>
    [
      '[Unit]',
      `Description=Reproq ${name}${flags.project ? ` - ${flags.project}` : ''}`,
      'After=network.target postgresql.service',
      '',
      '[Service]',
      `Type=${type}`,
      `User=${user}`,
      `Group=${flags.group ?? user}`,
      `WorkingDirectory=${workdir}`,
      ...env,
      `ExecStart=${cmd.map(quote).join(' ')}`,
      ...(type === 'simple' ? ['Restart=always', 'RestartSec=5', 'KillSignal=SIGTERM', 'TimeoutStopSec=45'] : []),
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n');

  const files: Record<string, string> = {
    [`reproq-worker${suffix}.service`]: service('Worker', 'simple', worker),
    [`reproq-beat${suffix}.service`]: service('Beat', 'simple', gated('beat', 'beat', reproq('beat'), 'skipping reproq beat.')),
  };
  if (flags.schedule) {
    files[`reproq-schedule${suffix}.service`] = service('Schedule', 'oneshot', gated('cron', '', reproq('schedule'), 'skipping reproq schedule.'));
    files[`reproq-schedule${suffix}.timer`] = [
      '[Unit]',
      `Description=Reproq Schedule Timer${flags.project ? ` - ${flags.project}` : ''}`,
      '',
      '[Timer]',
      `OnCalendar=${flags.scheduleOnCalendar}`,
      'Persistent=true',
      '',
      '[Install]',
      'WantedBy=timers.target',
      '',
    ].join('\n');
  }
  return files;
}

/** One ExecStart/Environment word in systemd's syntax: `$` and `%` doubled, quoted when it needs to be. */
function quote(word: string): string {
  const escaped = word.replaceAll('$', () => '$$').replaceAll('%', '%%');
  return /^[A-Za-z0-9_@%+=:,./$-]+$/.test(escaped) ? escaped : `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** POSIX shell quoting for a word inside the bash -c script. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
