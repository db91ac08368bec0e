/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import type { PeriodicTask } from '../periodic.ts';
import type { MetricsSnapshot } from '../metrics/collect.ts';
import { Sparkline, ThroughputChart } from './chart.tsx';
import { CHART_MINUTES, TEXT_CAP, type Overview, type TaskDetail, type TriageFilter, type TriageRow, type Workflow } from './data.ts';
import { count, duration, toDate } from './format.ts';
import { Badge, Layout, Num, When, type PageContext } from './layout.tsx';

/** A finished action, named in the redirect after its POST and shown once on the next page. */
export type Done = 'retried' | 'cancelled' | 'cancel_requested' | 'replayed' | 'paused' | 'resumed';

const DONE_TEXT: Record<Done, string> = {
  retried: 'Retried: the task is READY again, with attempts reset and its error history kept.',
  cancelled: 'Cancelled.',
  cancel_requested: 'Cancel requested: the task stops at its next lease renewal.',
  replayed: 'Replayed: this is the new copy, READY to run now.',
  paused: 'Paused: workers stop claiming from this queue; running tasks finish.',
  resumed: 'Resumed: workers claim from this queue again.',
};

export function Notice({ done, subject }: { done: Done | undefined; subject?: string }) {
  if (!done) return null;
  return <p class="notice">{subject ? `${subject}: ${DONE_TEXT[done]}` : DONE_TEXT[done]}</p>;
}

function Stat({ label, value, tone }: { label: string; value: string; tone?: 'bad' | 'warn' | 'ok' }) {
  return (
    <div class={tone ? `stat ${tone}` : 'stat'}>
      <b>{value}</b>
      <span>{label}</span>
    </div>
  );
}

export function QueuesPage({ ctx, data, done, subject }: { ctx: PageContext; data: Overview; done?: Done; subject?: string }) {
  const { metrics: m, throughput } = data;
  const sum = (f: (q: MetricsSnapshot['queues'][number]) => number) => m.queues.reduce((n, q) => n + f(q), 0);
  const all = { succeeded: Array<number>(CHART_MINUTES).fill(0), failed: Array<number>(CHART_MINUTES).fill(0) };
  for (const s of throughput.values()) {
    s.succeeded.forEach((n, i) => (all.succeeded[i]! += n));
    s.failed.forEach((n, i) => (all.failed[i]! += n));
  }
  const hour = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const failedHour = hour(all.failed);
  const oldest = Math.max(0, ...m.queues.map((q) => q.oldestReadyAgeSeconds ?? 0));
  const estimates = Object.entries(m.statusEstimates ?? {}).filter(([s]) => !['READY', 'RUNNING', 'WAITING'].includes(s));
  return (
    <Layout ctx={ctx} title="Queues" section="queues">
      <h1>Queues</h1>
      <Notice done={done} subject={subject} />
      <div class="stats">
        <Stat label="Ready" value={count(sum((q) => q.ready))} />
        <Stat label="Running" value={count(sum((q) => q.running))} />
        <Stat label="Waiting" value={count(sum((q) => q.waiting))} />
        <Stat label="Retrying" value={count(sum((q) => q.retryPending))} tone={sum((q) => q.retryPending) > 0 ? 'warn' : undefined} />
        <Stat label="Done 1 h" value={count(hour(all.succeeded))} tone="ok" />
        <Stat label="Failed 1 h" value={count(failedHour)} tone={failedHour > 0 ? 'bad' : undefined} />
        <Stat label="Oldest ready" value={oldest > 0 ? duration(oldest) : '—'} />
        <Stat label="Workers up" value={`${count(m.workers.alive)} / ${count(m.workers.count)}`} />
      </div>
      <div class="card">
        <h2>
          Throughput <small>tasks finished per minute, last hour</small>
        </h2>
        <ThroughputChart series={all} minutes={CHART_MINUTES} />
        <div class="legend">
          <span>
            <i class="ok" />
            succeeded
          </span>
          <span>
            <i class="bad" />
            failed
          </span>
        </div>
      </div>
      <div class="card flush">
        <h2>By queue</h2>
        {m.queues.length === 0 ? (
          <p class="empty">No queues yet: nothing was enqueued.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Queue</th>
                <th>State</th>
                <th class="num">Ready</th>
                <th class="num">Due</th>
                <th class="num">Oldest ready</th>
                <th class="num">Running</th>
                <th class="num">Waiting</th>
                <th class="num">Retrying</th>
                <th class="num">Done 1 h</th>
                <th class="num">Failed 1 h</th>
                <th>Last hour</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {m.queues.map((q) => {
                const t = throughput.get(q.queue);
                const ok = t ? hour(t.succeeded) : 0;
                const bad = t ? hour(t.failed) : 0;
                const path = `${ctx.base}/queues/${encodeURIComponent(q.queue)}`;
                return (
                  <tr>
                    <td>
                      <b>{q.queue}</b>
                    </td>
                    <td>{q.paused ? <Badge status="paused" /> : <Badge status="active" />}</td>
                    <td class="num">
                      <Num n={q.ready} />
                    </td>
                    <td class="num">
                      <Num n={q.readyDue} />
                    </td>
                    <td class="num">{q.oldestReadyAgeSeconds === null ? <span class="zero">—</span> : duration(q.oldestReadyAgeSeconds)}</td>
                    <td class="num">
                      <Num n={q.running} />
                    </td>
                    <td class="num">
                      <Num n={q.waiting} />
                    </td>
                    <td class="num">
                      <Num n={q.retryPending} />
                    </td>
                    <td class="num">
                      <Num n={ok} />
                    </td>
                    <td class="num">
                      {bad > 0 ? <a href={`${ctx.base}/failed?queue=${encodeURIComponent(q.queue)}`}>{count(bad)}</a> : <Num n={0} />}
                    </td>
                    <td>
                      <Sparkline series={t} minutes={CHART_MINUTES} />
                    </td>
                    <td class="num">
                      {q.paused ? (
                        <a class="btn small" href={`${path}/resume`}>
                          Resume
                        </a>
                      ) : (
                        <a class="btn small" href={`${path}/pause`}>
                          Pause
                        </a>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </div>
      <div class="split">
        <div class="card flush">
          <h2>
            Top failing tasks <small>among the latest failures</small>
          </h2>
          {m.topFailing.length === 0 ? (
            <p class="empty">No failures.</p>
          ) : (
            <table>
              <tbody>
                {m.topFailing.map((t) => (
                  <tr>
                    <td class="mono">
                      {t.taskPath ? <a href={`${ctx.base}/failed?task=${encodeURIComponent(t.taskPath)}`}>{t.taskPath}</a> : '(no path)'}
                    </td>
                    <td class="num">{count(t.count)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div class="card flush">
          <h2>
            All tasks <small>planner estimate</small>
          </h2>
          {estimates.length === 0 ? (
            <p class="empty">No estimate until the table is analysed.</p>
          ) : (
            <table>
              <tbody>
                {estimates.map(([status, n]) => (
                  <tr>
                    <td>
                      <Badge status={status} />
                    </td>
                    <td class="num">~{count(n)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </Layout>
  );
}

/** The failed/retrying list's URL with these filters (and a cursor, for the next page). */
export function triageHref(base: string, f: TriageFilter): string {
  const q = new URLSearchParams();
  if (f.kind !== 'failed') q.set('kind', f.kind);
  if (f.queue) q.set('queue', f.queue);
  if (f.taskPath) q.set('task', f.taskPath);
  if (f.after) {
    q.set('at', f.after.at);
    q.set('id', f.after.id);
  }
  const s = q.toString();
  return `${base}/failed${s ? `?${s}` : ''}`;
}

export function TriagePage(props: { ctx: PageContext; filter: TriageFilter; rows: TriageRow[]; more: boolean }) {
  const { ctx, filter: f, rows } = props;
  const base = ctx.base;
  const last = rows.at(-1);
  const failed = f.kind === 'failed';
  return (
    <Layout ctx={ctx} title={failed ? 'Failed tasks' : 'Retrying tasks'} section="failed">
      <h1>{failed ? 'Failed tasks' : 'Retrying tasks'}</h1>
      <div class="tabs">
        <a class={failed ? 'on' : undefined} href={triageHref(base, { ...f, kind: 'failed', after: undefined })}>
          Failed
        </a>
        <a class={failed ? undefined : 'on'} href={triageHref(base, { ...f, kind: 'retrying', after: undefined })}>
          Retrying
        </a>
      </div>
      <form class="filters" method="get" action={`${base}/failed`}>
        {!failed && <input type="hidden" name="kind" value="retrying" />}
        <label>
          Queue
          <input type="text" name="queue" value={f.queue ?? ''} placeholder="any" />
        </label>
        <label>
          Task path
          <input type="text" name="task" value={f.taskPath ?? ''} placeholder="any" />
        </label>
        <button class="btn" type="submit">
          Filter
        </button>
        {(f.queue || f.taskPath) && (
          <a class="btn" href={triageHref(base, { kind: f.kind })}>
            Clear
          </a>
        )}
      </form>
      <div class="card flush">
        {rows.length === 0 ? (
          <p class="empty">{failed ? 'No failed tasks match.' : 'No task is waiting for another attempt.'}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>ID</th>
                <th>Task</th>
                <th>Queue</th>
                <th class="num">Attempts</th>
                <th>{failed ? 'Failed' : 'Last attempt'}</th>
                {!failed && <th>Next attempt</th>}
                <th>Error</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr>
                  <td class="mono">
                    <a href={`${base}/tasks/${r.result_id}`}>{r.result_id}</a>
                  </td>
                  <td class="mono">{r.task_path ?? '—'}</td>
                  <td>{r.queue_name}</td>
                  <td class="num">{`${r.attempts} / ${r.max_attempts}`}</td>
                  <td>
                    <When at={r.at} now={ctx.now} />
                  </td>
                  {!failed && (
                    <td>
                      <When at={r.run_after} now={ctx.now} />
                    </td>
                  )}
                  <td class="err" title={r.last_error ?? undefined}>
                    {r.last_error ?? ''}
                  </td>
                  <td class="num">
                    {failed ? (
                      <a class="btn small" href={`${base}/tasks/${r.result_id}/retry`}>
                        Retry
                      </a>
                    ) : (
                      <a class="btn small" href={`${base}/tasks/${r.result_id}/cancel`}>
                        Cancel
                      </a>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {(f.after || props.more) && (
          <div class="pager">
            {f.after ? <a href={triageHref(base, { ...f, after: undefined })}>← Newest</a> : <span />}
            {props.more && last ? (
              <a href={triageHref(base, { ...f, after: { at: last.cursor_at ?? '', id: last.result_id } })}>Older →</a>
            ) : (
              <span />
            )}
          </div>
        )}
      </div>
    </Layout>
  );
}

interface ErrorEntry {
  kind?: unknown;
  message?: unknown;
  exception_class?: unknown;
  traceback?: unknown;
  attempt?: unknown;
  at?: unknown;
  worker_id?: unknown;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

function ErrorItem({ entry, n, open, now }: { entry: unknown; n: number; open: boolean; now: Date }) {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    return (
      <details open={open}>
        <summary>{`#${n}`}</summary>
        <pre>{JSON.stringify(entry, null, 2)}</pre>
      </details>
    );
  }
  const e = entry as ErrorEntry;
  const headline = [text(e.exception_class), text(e.message)].filter(Boolean).join(': ');
  const traceback = text(e.traceback);
  const rest = Object.fromEntries(
    Object.entries(e).filter(([k]) => !['kind', 'message', 'exception_class', 'traceback', 'attempt', 'at', 'worker_id'].includes(k)),
  );
  return (
    <details open={open}>
      <summary>
        <b>{text(e.attempt) ? `Attempt ${text(e.attempt)}` : `#${n}`}</b>
        {text(e.kind) && <Badge status="FAILED" label={text(e.kind)} />}
        <span>{headline || '(no message)'}</span>
        <span class="muted">
          {text(e.at) && <When at={text(e.at)} now={now} />}
          {text(e.worker_id) && ` · ${text(e.worker_id)}`}
        </span>
      </summary>
      {traceback ? <pre>{traceback}</pre> : null}
      {Object.keys(rest).length > 0 && <pre>{JSON.stringify(rest, null, 2)}</pre>}
    </details>
  );
}

function Json({ title, value, cut }: { title: string; value: string | null; cut: boolean | null }) {
  return (
    <div class="card">
      <h2>
        {title}
        {cut && <small>{`first ${count(TEXT_CAP)} characters`}</small>}
      </h2>
      {value === null ? <p class="muted">None.</p> : <pre>{value}</pre>}
    </div>
  );
}

function Field({ label, children }: { label: string; children?: Child }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children ?? <span class="zero">—</span>}</dd>
    </div>
  );
}

/** A logs_uri is shown as a link only when it is a web address; anything else (s3://, a path) is text. */
function LogsLink({ uri }: { uri: string | null }) {
  if (!uri) return <span class="zero">—</span>;
  return /^https?:\/\//i.test(uri) ? (
    <a href={uri} rel="noreferrer noopener" class="mono">
      {uri}
    </a>
  ) : (
    <span class="mono">{uri}</span>
  );
}

export function TaskPage({ ctx, task: t, workflow, done }: { ctx: PageContext; task: TaskDetail; workflow: Workflow; done?: Done }) {
  const base = ctx.base;
  const path = `${base}/tasks/${t.result_id}`;
  const errors = t.errors ?? [];
  const firstShown = (t.error_count ?? 0) - errors.length + 1;
  const workers = Array.isArray(t.worker_ids) ? (t.worker_ids as unknown[]).map(String) : [];
  const canCancel = ['READY', 'WAITING'].includes(t.status) || (t.status === 'RUNNING' && !t.cancel_requested);
  return (
    <Layout ctx={ctx} title={`Task ${t.result_id}`} section="failed">
      <h1>
        {`Task ${t.result_id}`}
        <Badge status={t.status} />
        {t.cancel_requested && <Badge status="requested" label="cancel requested" />}
        <small class="mono">{t.task_path ?? ''}</small>
      </h1>
      <Notice done={done} />
      <div class="actions bar">
        {t.status === 'FAILED' && (
          <a class="btn primary" href={`${path}/retry`}>
            Retry
          </a>
        )}
        {canCancel && (
          <a class="btn danger" href={`${path}/cancel`}>
            Cancel
          </a>
        )}
        <a class="btn" href={`${path}/replay`}>
          Replay
        </a>
      </div>
      <div class="card">
        <dl class="grid">
          <Field label="Queue">{t.queue_name}</Field>
          <Field label="Attempts">{`${t.attempts} of ${t.max_attempts}`}</Field>
          <Field label="Priority">{String(t.priority)}</Field>
          <Field label="Timeout">{duration(t.timeout_seconds)}</Field>
          <Field label="Enqueued">
            <When at={t.enqueued_at} now={ctx.now} />
          </Field>
          <Field label="Run after">
            <When at={t.run_after} now={ctx.now} />
          </Field>
          <Field label="Started">
            <When at={t.started_at} now={ctx.now} />
          </Field>
          <Field label="Last attempt">
            <When at={t.last_attempted_at} now={ctx.now} />
          </Field>
          <Field label="Finished">
            <When at={t.finished_at} now={ctx.now} />
          </Field>
          <Field label="Failed">
            <When at={t.failed_at} now={ctx.now} />
          </Field>
          <Field label="Expires">
            <When at={t.expires_at} now={ctx.now} />
          </Field>
          <Field label="Lease">
            {t.leased_by ? (
              <>
                <span class="mono">{t.leased_by}</span>, expires <When at={t.leased_until} now={ctx.now} />
              </>
            ) : null}
          </Field>
          <Field label="Logs">
            <LogsLink uri={t.logs_uri} />
          </Field>
          <Field label="Artifacts">
            <LogsLink uri={t.artifacts_uri} />
          </Field>
          <Field label="Workers">{workers.length > 0 ? <span class="mono">{workers.join(', ')}</span> : null}</Field>
          <Field label="Lock key">{t.lock_key ? <span class="mono">{t.lock_key}</span> : null}</Field>
          <Field label="Concurrency">
            {t.concurrency_key ? <span class="mono">{`${t.concurrency_key} (limit ${t.concurrency_limit})`}</span> : null}
          </Field>
          <Field label="Spec hash">
            <span class="mono">{t.spec_hash.trim()}</span>
          </Field>
        </dl>
      </div>
      {t.last_error && <p class="problem">{t.last_error}</p>}
      <div class="card">
        <h2>
          Errors{' '}
          <small>
            {t.error_count === null
              ? 'errors_json is not an array'
              : `${count(t.error_count)} recorded${firstShown > 1 ? `, latest ${errors.length} shown` : ''}`}
          </small>
        </h2>
        {t.errors_text !== null ? (
          <pre>{t.errors_text}</pre>
        ) : errors.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          errors.map((e, i) => <ErrorItem entry={e} n={firstShown + i} open={i === errors.length - 1} now={ctx.now} />).reverse()
        )}
      </div>
      <WorkflowCard ctx={ctx} task={t} workflow={workflow} />
      <Json title="Result" value={t.result} cut={t.result_cut} />
      <Json title="Spec" value={t.spec} cut={t.spec_cut} />
      {t.metadata.replace(/\s/g, '') !== '{}' && <Json title="Metadata" value={t.metadata} cut={t.metadata_cut} />}
    </Layout>
  );
}

function WorkflowCard({ ctx, task: t, workflow: w }: { ctx: PageContext; task: TaskDetail; workflow: Workflow }) {
  if (!w.workflow_id && w.tasks.length === 0 && !w.run) return null;
  const callback = w.run?.callback_result_id ?? null;
  const relation = (r: { result_id: string; parent_id: string | null }) =>
    r.result_id === t.parent_id ? 'parent' : r.parent_id === t.result_id ? 'next in chain' : r.result_id === callback ? 'chord callback' : 'member';
  const kind = w.run ? 'Chord' : t.parent_id || w.tasks.some((r) => r.parent_id === t.result_id || r.parent_id !== null) ? 'Chain' : 'Group';
  return (
    <div class="card flush">
      <h2>
        {`Workflow · ${kind}`}
        {w.workflow_id && <small class="mono">{w.workflow_id}</small>}
        {w.run && <Badge status={w.run.status} />}
        {w.run && (
          <small>{`${w.run.success_count} of ${w.run.expected_count} members succeeded${w.run.failure_count ? `, ${w.run.failure_count} failed` : ''}`}</small>
        )}
        {t.result_id === callback && <small>this task is the callback</small>}
      </h2>
      <table>
        <thead>
          <tr>
            <th>ID</th>
            <th>Relation</th>
            <th>Task</th>
            <th>Queue</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {[{ result_id: t.result_id, parent_id: t.parent_id, status: t.status, task_path: t.task_path, queue_name: t.queue_name }, ...w.tasks]
            .sort((a, b) => Number(a.result_id) - Number(b.result_id))
            .map((r) => (
              <tr class={r.result_id === t.result_id ? 'me' : undefined}>
                <td class="mono">
                  <a href={`${ctx.base}/tasks/${r.result_id}`}>{r.result_id}</a>
                </td>
                <td>{r.result_id === t.result_id ? 'this task' : relation(r)}</td>
                <td class="mono">{r.task_path ?? '—'}</td>
                <td>{r.queue_name}</td>
                <td>
                  <Badge status={r.status} />
                </td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}

/** Overdue as the metrics count it: enabled and due for longer than the beat's grace. */
export function PeriodicPage({ ctx, tasks, graceSeconds }: { ctx: PageContext; tasks: PeriodicTask[]; graceSeconds: number }) {
  const overdue = (p: PeriodicTask) => p.enabled && toDate(p.nextRunAt)!.getTime() < ctx.now.getTime() - graceSeconds * 1000;
  const late = tasks.filter(overdue).length;
  return (
    <Layout ctx={ctx} title="Periodic tasks" section="periodic">
      <h1>Periodic tasks</h1>
      <div class="stats">
        <Stat label="Enabled" value={count(tasks.filter((p) => p.enabled).length)} />
        <Stat label="Disabled" value={count(tasks.filter((p) => !p.enabled).length)} />
        <Stat label="Overdue" value={count(late)} tone={late > 0 ? 'bad' : undefined} />
      </div>
      <div class="card flush">
        {tasks.length === 0 ? (
          <p class="empty">No periodic tasks.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Task</th>
                <th>Queue</th>
                <th>Cron</th>
                <th>Next run</th>
                <th>Last run</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {tasks.map((p) => (
                <tr>
                  <td>
                    <b>{p.name}</b>
                  </td>
                  <td class="mono">{p.taskPath}</td>
                  <td>{p.queue}</td>
                  <td class="mono nowrap">{p.cronExpr}</td>
                  <td>
                    <When at={p.nextRunAt} now={ctx.now} />
                  </td>
                  <td>
                    <When at={p.lastRunAt} now={ctx.now} />
                  </td>
                  <td>{!p.enabled ? <Badge status="disabled" /> : overdue(p) ? <Badge status="overdue" /> : <Badge status="enabled" />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </Layout>
  );
}

export function WorkersPage({ ctx, metrics: m }: { ctx: PageContext; metrics: MetricsSnapshot }) {
  const shown = m.workers.list.length;
  return (
    <Layout ctx={ctx} title="Workers" section="workers">
      <h1>Workers and invocations</h1>
      <div class="stats">
        <Stat label="Registered" value={count(m.workers.count)} />
        <Stat label="Alive (seen < 2 min)" value={count(m.workers.alive)} tone={m.workers.alive > 0 ? 'ok' : undefined} />
        <Stat label="Total concurrency" value={count(m.workers.concurrency)} />
      </div>
      <div class="card flush">
        {shown === 0 ? (
          <p class="empty">No worker has registered: no worker or drain has run against this database.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Worker</th>
                <th>Host</th>
                <th>Queues</th>
                <th class="num">Concurrency</th>
                <th>Version</th>
                <th>Started</th>
                <th>Last seen</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {m.workers.list.map((w) => (
                <tr>
                  <td class="mono">{w.workerId}</td>
                  <td>{w.hostname ?? '—'}</td>
                  <td>{Array.isArray(w.queues) ? w.queues.join(', ') : JSON.stringify(w.queues)}</td>
                  <td class="num">{w.concurrency === null ? '—' : count(w.concurrency)}</td>
                  <td class="mono">{w.version ?? '—'}</td>
                  <td>
                    <When at={w.startedAt} now={ctx.now} />
                  </td>
                  <td>
                    <When at={w.lastSeenAt} now={ctx.now} />
                  </td>
                  <td>{w.lastSeenAgeSeconds < 120 ? <Badge status="alive" /> : <Badge status="stale" />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {shown < m.workers.count && <div class="pager">{`The ${count(shown)} most recently seen of ${count(m.workers.count)}.`}</div>}
      </div>
    </Layout>
  );
}
