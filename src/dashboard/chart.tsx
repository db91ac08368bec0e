/** @jsxImportSource hono/jsx */
import { count } from './format.ts';

/**
 * Server-rendered SVG bar charts of tasks finished per minute: successes (green) with failures
 * (red) stacked on top, oldest minute on the left. Index 0 of each series is the current minute.
 * Colours come from the stylesheet's classes, so the page needs neither script nor inline style.
 */
export interface Series {
  succeeded: number[];
  failed: number[];
}

const W = 720;
const H = 160;
const LEFT = 44;
const TOP = 10;
const BOTTOM = 22;

export function ThroughputChart({ series, minutes }: { series: Series; minutes: number }) {
  const totals = series.succeeded.map((s, i) => s + (series.failed[i] ?? 0));
  const max = niceMax(Math.max(0, ...totals));
  const slot = W / minutes;
  const y = (n: number) => ((H - TOP - BOTTOM) * n) / max;
  const done = totals.reduce((a, b) => a + b, 0);
  return (
    <svg class="chart" viewBox={`0 0 ${LEFT + W} ${H}`} role="img" aria-label={`${count(done)} tasks finished in the last ${minutes} minutes`}>
      {[0, 0.5, 1].map((f) => (
        <g>
          <line class="grid" x1={LEFT} x2={LEFT + W} y1={H - BOTTOM - y(max * f)} y2={H - BOTTOM - y(max * f)} />
          <text x={LEFT - 8} y={H - BOTTOM - y(max * f) + 4} text-anchor="end">
            {count(max * f)}
          </text>
        </g>
      ))}
      {totals.map((_, i) => {
        const x = LEFT + (minutes - 1 - i) * slot + 1;
        const ok = series.succeeded[i] ?? 0;
        const bad = series.failed[i] ?? 0;
        return (
          <g>
            <title>{`${i === 0 ? 'this minute' : `${i} min ago`}: ${count(ok)} succeeded, ${count(bad)} failed`}</title>
            {ok > 0 && <rect class="bar-ok" x={x} width={slot - 2} y={H - BOTTOM - y(ok)} height={y(ok)} rx="1" />}
            {bad > 0 && <rect class="bar-bad" x={x} width={slot - 2} y={H - BOTTOM - y(ok + bad)} height={y(bad)} rx="1" />}
          </g>
        );
      })}
      <text x={LEFT} y={H - 5}>{`${minutes} min ago`}</text>
      <text x={LEFT + W / 2} y={H - 5} text-anchor="middle">{`${minutes / 2} min ago`}</text>
      <text x={LEFT + W} y={H - 5} text-anchor="end">
        now
      </text>
    </svg>
  );
}

/** A queue row's sparkline: the same bars without axes, scaled to its own peak. */
export function Sparkline({ series, minutes }: { series: Series | undefined; minutes: number }) {
  const ok = series?.succeeded ?? [];
  const bad = series?.failed ?? [];
  const peak = Math.max(1, ...ok.map((s, i) => s + (bad[i] ?? 0)));
  const w = 120 / minutes;
  const h = (n: number) => (22 * n) / peak;
  return (
    <svg
      class="spark"
      viewBox="0 0 120 24"
      role="img"
      aria-label={`${count(ok.reduce((a, b) => a + b, 0))} succeeded, ${count(bad.reduce((a, b) => a + b, 0))} failed in the last hour`}
    >
      <line class="grid" x1="0" x2="120" y1="23.5" y2="23.5" />
      {ok.map((s, i) => {
        const x = (minutes - 1 - i) * w;
        const f = bad[i] ?? 0;
        return (
          <>
            {s > 0 && <rect class="bar-ok" x={x} width={w * 0.8} y={23 - h(s)} height={h(s)} />}
            {f > 0 && <rect class="bar-bad" x={x} width={w * 0.8} y={23 - h(s + f)} height={h(f)} />}
          </>
        );
      })}
    </svg>
  );
}

/** A round axis maximum (one significant digit) whose half is a whole number, for the middle grid line. */
function niceMax(n: number): number {
  if (n <= 2) return 2;
  const step = 10 ** Math.floor(Math.log10(n));
  const max = Math.ceil(n / step) * step;
  return max % 2 === 0 ? max : max + step;
}
