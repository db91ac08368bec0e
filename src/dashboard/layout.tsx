/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import { relative, toDate, utc } from './format.ts';
import { STYLE_VERSION } from './style.ts';

export type Section = 'queues' | 'failed' | 'periodic' | 'workers';

/** What every page needs to know about the request. */
export interface PageContext {
  /** The dashboard's path, e.g. `/dashboard` or `/reproq/dashboard`. */
  base: string;
  /** The session's CSRF token; absent for bearer requests and on a server with no token configured. */
  csrf?: string;
  /** The database's idea of now, or the server's. */
  now: Date;
}

const NAV: [Section, string, string][] = [
  ['queues', 'Queues', ''],
  ['failed', 'Failed & retrying', '/failed'],
  ['periodic', 'Periodic', '/periodic'],
  ['workers', 'Workers', '/workers'],
];

function Document(props: { base: string; title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex, nofollow" />
        <title>{`${props.title} · Reproq`}</title>
        <link rel="stylesheet" href={`${props.base}/style.css?v=${STYLE_VERSION}`} />
      </head>
      <body>{props.children}</body>
    </html>
  );
}

export function Layout(props: { ctx: PageContext; title: string; section?: Section; children: Child }) {
  const { base, csrf } = props.ctx;
  return (
    <Document base={base} title={props.title}>
      <header class="top">
        <a class="brand" href={base}>
          <span class="logo" />
          Reproq
        </a>
        <nav>
          {NAV.map(([key, label, path]) => (
            <a href={`${base}${path}`} class={props.section === key ? 'on' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        {csrf && (
          <form method="post" action={`${base}/logout`}>
            <CsrfField token={csrf} />
            <button class="link" type="submit">
              Sign out
            </button>
          </form>
        )}
      </header>
      <main>{props.children}</main>
    </Document>
  );
}

export function CsrfField({ token }: { token: string | undefined }) {
  return token ? <input type="hidden" name="_csrf" value={token} /> : null;
}

export function Badge({ status, label }: { status: string; label?: string }) {
  return <span class={`badge s-${status}`}>{label ?? status}</span>;
}

/** A time as "3 min ago", with the exact UTC time on hover and for machines. */
export function When({ at, now }: { at: Date | string | null | undefined; now: Date }) {
  const d = toDate(at);
  if (!d) return <span class="zero">—</span>;
  return (
    <time datetime={d.toISOString()} title={utc(d)} class="nowrap">
      {relative(d, now)}
    </time>
  );
}

/** A count that fades when zero, so the non-zero cells stand out. */
export function Num({ n }: { n: number }) {
  return <span class={n === 0 ? 'zero' : undefined}>{n.toLocaleString('en-US')}</span>;
}

export function ErrorPage(props: { ctx: PageContext; title: string; message: string; back?: string }) {
  return (
    <Layout ctx={props.ctx} title={props.title}>
      <h1>{props.title}</h1>
      <p class="problem">{props.message}</p>
      <a class="btn" href={props.back ?? props.ctx.base}>
        Back
      </a>
    </Layout>
  );
}

export function LoginPage(props: { ctx: PageContext; next: string; error?: string; unconfigured?: boolean }) {
  const { base } = props.ctx;
  return (
    <Document base={base} title="Sign in">
      <div class="center">
        <div class="card">
          <h1>
            <span class="logo" />
            Reproq dashboard
          </h1>
          {props.unconfigured ? (
            <p class="problem">
              This server has no operator token. Set REPROQ_AUTH_TOKEN (or REPROQ_ALLOW_INSECURE=true on a development machine) and restart it.
            </p>
          ) : (
            <form method="post" action={`${base}/login`}>
              {props.error && <p class="problem">{props.error}</p>}
              <label>
                Operator token (REPROQ_AUTH_TOKEN)
                <input type="password" name="token" autocomplete="current-password" required autofocus />
              </label>
              <input type="hidden" name="next" value={props.next} />
              <button class="btn primary" type="submit">
                Sign in
              </button>
            </form>
          )}
        </div>
      </div>
    </Document>
  );
}

/** The page between a button and its POST: says what will happen, and asks. Works without JavaScript. */
export function ConfirmPage(props: {
  ctx: PageContext;
  title: string;
  action: string;
  button: string;
  danger?: boolean;
  back: string;
  children: Child;
  reason?: boolean;
}) {
  return (
    <Layout ctx={props.ctx} title={props.title}>
      <div class="center">
        <div class="card">
          <h2>{props.title}</h2>
          {props.children}
          <form method="post" action={props.action}>
            <CsrfField token={props.ctx.csrf} />
            {props.reason && (
              <label>
                Reason (shown in status and the Django admin)
                <input type="text" name="reason" maxlength={500} />
              </label>
            )}
            <div class="actions">
              <button class={`btn ${props.danger ? 'danger' : 'primary'}`} type="submit">
                {props.button}
              </button>
              <a class="btn" href={props.back}>
                Back
              </a>
            </div>
          </form>
        </div>
      </div>
    </Layout>
  );
}
