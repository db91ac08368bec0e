/** @jsxImportSource hono/jsx */
import { type Context, type MiddlewareHandler } from 'hono';
import { Hono } from 'hono/tiny';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { basePath } from 'hono/route';
import { secureHeaders } from 'hono/secure-headers';
import { timingSafeEqual } from 'hono/utils/buffer';
import type { Child } from 'hono/jsx';
import { classifyDbError } from '../db/errors.ts';
import type { Db } from '../db/types.ts';
import { QueueNameSchema } from '../enqueue.ts';
import { ValidationError } from '../errors.ts';
import { countDenial, matchesAny, operatorAuth, type AuthSetup } from '../http/auth.ts';
import { RETRY_AFTER_SECONDS } from '../http/errors.ts';
import { TaskIdSchema } from '../http/schemas.ts';
import { MetricsOptionsSchema } from '../metrics/collect.ts';
import { ActionRefused, actions } from './actions.ts';
import * as data from './data.ts';
import { ConfirmPage, ErrorPage, LoginPage, type PageContext } from './layout.tsx';
import { type Done, PeriodicPage, QueuesPage, TaskPage, TriagePage, WorkersPage } from './pages.tsx';
import { type Session, Sessions } from './session.ts';
import { STYLE } from './style.ts';

export interface DashboardOptions {
  auth: AuthSetup;
  /** The request's database (the app's shared `Db`, or one opened for this request). */
  db: (c: Context) => Promise<Db>;
}

type Env = { Variables: { session?: Session } };

/**
 * No script at all, styles only from the app's own stylesheet, forms only to this origin, never
 * framed. Set on every dashboard response, the error pages and the stylesheet included.
 */
const headers = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    styleSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
  // "no-referrer" would make browsers send `Origin: null` with the forms, which the CSRF check refuses.
  referrerPolicy: 'same-origin',
  xFrameOptions: 'DENY',
  // HSTS (with includeSubDomains, by default) would bind the whole host: that is the deployment's choice.
  strictTransportSecurity: false,
});

const DONE = new Set<Done>(['retried', 'cancelled', 'cancel_requested', 'replayed', 'paused', 'resumed']);
const TASK_ACTIONS = 'retry|cancel|replay';
const QUEUE_ACTIONS = 'pause|resume';
const CURSOR_AT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const TASK_PATH_MAX = 500;
const REASON_MAX = 500;

/**
 * The operator's dashboard: server-rendered pages over the queue, and the actions an operator
 * takes on it, each a confirmed POST. Mounted by `createApp` at `<route_prefix>/dashboard`.
 *
 * Auth: the operator token, as a bearer header (scripts) or through a sign-in form that sets a
 * session cookie (browsers; see session.ts). The metrics token does not open it: the pages show
 * task arguments, results and tracebacks, which only the operator token may read over the API.
 * With no token and `http.allow_insecure`, it is open, as the API is.
 *
 * CSRF: a POST made with the session cookie must come from this origin (hono's csrf: Origin or
 * Sec-Fetch-Site) and carry the session's token in `_csrf`. A bearer POST needs neither: a browser
 * never attaches that header by itself.
 */
export function dashboard(opts: DashboardOptions): Hono<Env> {
  const { auth } = opts;
  const { config, log } = auth;
  const sessions = new Sessions(config);
  const bearer = operatorAuth(auth, { cron: false });
  const sameOrigin = csrf();
  const limitBody = bodyLimit({
    maxSize: 16 * 1024,
    onError: () => {
      throw new HTTPException(413, { message: 'the form is too large' });
    },
  });
  const app = new Hono<Env>();

  const ctx = (c: Context<Env>, now = new Date()): PageContext => ({ base: basePath(c), csrf: c.get('session')?.csrf, now });
  const render = async (c: Context, node: Child, status: 200 | 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 503 = 200) =>
    c.html(`<!doctype html>${await node}`, status);
  const problem = (c: Context<Env>, status: 400 | 401 | 403 | 404 | 409 | 413 | 500 | 503, title: string, message: string) =>
    render(c, <ErrorPage ctx={ctx(c)} title={title} message={message} />, status);

  app.use(headers);
  app.use(async (c, next) => {
    await next();
    // Pages hold task data: a shared cache or the back button after signing out must not keep them.
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  });

  app.onError((err, c) => {
    if (err instanceof ActionRefused) return problem(c, err.status, err.status === 404 ? 'Not found' : 'Not done', err.message);
    if (err instanceof ValidationError) return problem(c, 400, 'Bad request', err.message);
    if (err instanceof HTTPException && err.status === 403) {
      return problem(
        c,
        403,
        'Refused',
        'This form was not sent from the dashboard itself (cross-site request), or its page is too old: reload the page and try again.',
      );
    }
    if (err instanceof HTTPException && err.status === 413) return problem(c, 413, 'Too large', err.message);
    if (err instanceof HTTPException && err.status < 500) return problem(c, 400, 'Bad request', err.message || 'the request is malformed');
    // Database errors by kind, as the API answers them: only an outage is worth retrying.
    const db = classifyDbError(err);
    const bug = err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError;
    log.error('dashboard request failed', {
      path: c.req.path,
      method: c.req.method,
      kind: bug ? 'bug' : db.kind,
      ...(db.code && { sqlstate: db.code }),
      error: db.message,
    });
    if (!bug && db.kind === 'transient') {
      c.header('Retry-After', String(RETRY_AFTER_SECONDS));
      return problem(c, 503, 'Unavailable', 'The database did not answer. Try again in a few seconds.');
    }
    return problem(
      c,
      500,
      'Server error',
      db.code
        ? `The database refused this page's statement (SQLSTATE ${db.code}); the server log says why. If the schema is missing or old, run reproq migrate.`
        : 'The server failed on this page; its log says why.',
    );
  });

  app.get('/style.css', (c) =>
    c.body(STYLE, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=31536000, immutable' }),
  );

  app.get('/login', async (c) => {
    const base = basePath(c);
    if (!config.http.auth_token) {
      if (config.http.allow_insecure) return c.redirect(base, 303);
      return render(c, <LoginPage ctx={ctx(c)} next={base} unconfigured />, 503);
    }
    if (await sessions.read(c)) return c.redirect(safeNext(c.req.query('next'), base), 303);
    return render(c, <LoginPage ctx={ctx(c)} next={safeNext(c.req.query('next'), base)} />);
  });

  app.post('/login', limitBody, sameOrigin, async (c) => {
    const base = basePath(c);
    const token = config.http.auth_token;
    if (!token) return c.redirect(`${base}/login`, 303);
    const form = await c.req.parseBody();
    const next = safeNext(form.next, base);
    if (typeof form.token === 'string' && (await matchesAny(form.token, [token]))) {
      await sessions.start(c, base);
      return c.redirect(next, 303);
    }
    // Counted with the API's refusals: guessing through this form is as slow as through a header.
    const limited = countDenial(c, auth);
    const error = limited ? 'Too many failed attempts from this address; wait a minute.' : 'That is not the operator token.';
    return render(c, <LoginPage ctx={ctx(c)} next={next} error={error} />, limited ? 429 : 401);
  });

  const requireOperator: MiddlewareHandler<Env> = async (c, next) => {
    if (!config.http.auth_token) {
      if (config.http.allow_insecure) return next();
      return isRead(c) ? c.redirect(`${basePath(c)}/login`, 303) : problem(c, 503, 'Not configured', 'REPROQ_AUTH_TOKEN is not set.');
    }
    if (c.req.header('authorization') !== undefined) return bearer(c, next);
    const session = await sessions.read(c);
    if (session) {
      c.set('session', session);
      return next();
    }
    if (isRead(c)) return c.redirect(`${basePath(c)}/login?next=${encodeURIComponent(c.req.path + query(c))}`, 303);
    return problem(c, 401, 'Sign in first', 'This action needs the operator to be signed in.');
  };

  const csrfGuard: MiddlewareHandler<Env> = async (c, next) => {
    if (c.req.header('authorization') !== undefined) return next();
    return sameOrigin(c, async () => {
      const session = c.get('session');
      if (session) {
        const sent = (await c.req.parseBody())._csrf;
        if (typeof sent !== 'string' || !(await timingSafeEqual(sent, session.csrf)))
          throw new HTTPException(403, { message: 'no valid CSRF token' });
      }
      await next();
    });
  };

  app.use(requireOperator);
  app.post('*', limitBody, csrfGuard);

  app.post('/logout', (c) => {
    const base = basePath(c);
    sessions.end(c, base);
    return c.redirect(`${base}/login`, 303);
  });

  app.get('/', async (c) => {
    const overview = await data.overview(await opts.db(c));
    const queue = c.req.query('queue');
    return render(
      c,
      <QueuesPage
        ctx={ctx(c, overview.metrics.collectedAt)}
        data={overview}
        done={done(c)}
        subject={queue && validQueue(queue) ? queue : undefined}
      />,
    );
  });

  app.get('/failed', async (c) => {
    const q = c.req.query();
    const filter: data.TriageFilter = { kind: q.kind === 'retrying' ? 'retrying' : 'failed' };
    if (q.queue) {
      if (!validQueue(q.queue)) return problem(c, 400, 'Bad request', `${JSON.stringify(q.queue)} is not a queue name`);
      filter.queue = q.queue;
    }
    if (q.task) filter.taskPath = q.task.slice(0, TASK_PATH_MAX);
    if (q.id) {
      if (!TaskIdSchema.shape.id.safeParse(q.id).success || (q.at && !CURSOR_AT.test(q.at)))
        return problem(c, 400, 'Bad request', 'the page cursor is malformed');
      filter.after = { at: q.at ?? '', id: q.id };
    }
    const page = await data.triagePage(await opts.db(c), filter);
    return render(c, <TriagePage ctx={ctx(c)} filter={filter} rows={page.rows} more={page.more} />);
  });

  app.get('/periodic', async (c) => {
    const tasks = await data.periodic(await opts.db(c));
    return render(c, <PeriodicPage ctx={ctx(c)} tasks={tasks} graceSeconds={MetricsOptionsSchema.shape.periodicGraceSeconds.parse(undefined)} />);
  });

  app.get('/workers', async (c) => {
    const metrics = await data.workers(await opts.db(c));
    return render(c, <WorkersPage ctx={ctx(c, metrics.collectedAt)} metrics={metrics} />);
  });

  app.get('/tasks/:id', async (c) => {
    const id = taskId(c);
    const found = await data.task(await opts.db(c), id);
    if (!found) throw new ActionRefused(404, `no task ${id}`);
    return render(c, <TaskPage ctx={ctx(c)} task={found.task} workflow={found.workflow} done={done(c)} />);
  });

  app.get(`/tasks/:id/:action{${TASK_ACTIONS}}`, async (c) => {
    const id = taskId(c);
    const action = c.req.param('action') as 'retry' | 'cancel' | 'replay';
    const found = await data.task(await opts.db(c), id);
    if (!found) throw new ActionRefused(404, `no task ${id}`);
    const t = found.task;
    const base = basePath(c);
    const what = `task ${id} (${t.task_path ?? 'no task path'}, ${t.status})`;
    const page = {
      retry: {
        title: `Retry task ${id}?`,
        button: 'Retry',
        text: `This sets ${what} back to READY to run now, with its attempts reset to 0. Its error history is kept.`,
      },
      cancel: {
        title: `Cancel task ${id}?`,
        button: 'Cancel the task',
        text: `A READY or WAITING task becomes CANCELLED now; a RUNNING one is asked to stop and stops at its next lease renewal. This is ${what}.`,
      },
      replay: {
        title: `Replay task ${id}?`,
        button: 'Replay',
        text: `This enqueues a new copy of ${what} to run now. The original is left as it is.`,
      },
    }[action];
    return render(
      c,
      <ConfirmPage
        ctx={ctx(c)}
        title={page.title}
        action={`${base}/tasks/${id}/${action}`}
        button={page.button}
        danger={action === 'cancel'}
        back={`${base}/tasks/${id}`}
      >
        <p>{page.text}</p>
      </ConfirmPage>,
    );
  });

  app.post(`/tasks/:id/:action{${TASK_ACTIONS}}`, async (c) => {
    const id = taskId(c);
    const db = await opts.db(c);
    const base = basePath(c);
    switch (c.req.param('action')) {
      case 'retry':
        await actions.retry(db, id);
        return c.redirect(`${base}/tasks/${id}?done=retried`, 303);
      case 'cancel':
        return c.redirect(`${base}/tasks/${id}?done=${await actions.cancel(db, id)}`, 303);
      default:
        return c.redirect(`${base}/tasks/${await actions.replay(db, id)}?done=replayed`, 303);
    }
  });

  app.get(`/queues/:queue/:action{${QUEUE_ACTIONS}}`, (c) => {
    const queue = queueParam(c);
    const pause = c.req.param('action') === 'pause';
    const base = basePath(c);
    return render(
      c,
      <ConfirmPage
        ctx={ctx(c)}
        title={`${pause ? 'Pause' : 'Resume'} queue ${queue}?`}
        action={`${base}/queues/${encodeURIComponent(queue)}/${pause ? 'pause' : 'resume'}`}
        button={pause ? 'Pause' : 'Resume'}
        danger={pause}
        back={base}
        reason={pause}
      >
        <p>
          {pause
            ? `Workers stop claiming tasks from ${queue}. Tasks already running finish; new ones wait until the queue is resumed.`
            : `Workers start claiming tasks from ${queue} again.`}
        </p>
      </ConfirmPage>,
    );
  });

  app.post(`/queues/:queue/:action{${QUEUE_ACTIONS}}`, async (c) => {
    const queue = queueParam(c);
    const db = await opts.db(c);
    const pause = c.req.param('action') === 'pause';
    if (pause) {
      const reason = (await c.req.parseBody()).reason;
      await actions.pause(db, queue, typeof reason === 'string' ? reason.trim().slice(0, REASON_MAX) : '');
    } else {
      await actions.resume(db, queue);
    }
    return c.redirect(`${basePath(c)}?done=${pause ? 'paused' : 'resumed'}&queue=${encodeURIComponent(queue)}`, 303);
  });

  app.all('*', (c) => problem(c, 404, 'Not found', `There is no dashboard page at ${c.req.path}.`));

  return app;
}

function isRead(c: Context): boolean {
  return c.req.method === 'GET' || c.req.method === 'HEAD';
}

function query(c: Context): string {
  const i = c.req.url.indexOf('?');
  return i < 0 ? '' : c.req.url.slice(i);
}

function done(c: Context): Done | undefined {
  const d = c.req.query('done') as Done | undefined;
  return d && DONE.has(d) ? d : undefined;
}

function validQueue(name: string): boolean {
  return QueueNameSchema.safeParse(name).success;
}

function taskId(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!TaskIdSchema.shape.id.safeParse(id).success) throw new ValidationError('id', `${JSON.stringify(id)} is not a task id`);
  return id;
}

function queueParam(c: Context): string {
  const queue = c.req.param('queue') ?? '';
  if (!validQueue(queue)) throw new ValidationError('queue', `${JSON.stringify(queue)} is not a queue name`);
  return queue;
}

/** Where to go after signing in: a page of this dashboard, never another site. */
function safeNext(next: unknown, base: string): string {
  if (typeof next !== 'string' || next.startsWith('//') || next.includes('\\')) return base;
  return next === base || next.startsWith(`${base}/`) || next.startsWith(`${base}?`) ? next : base;
}
