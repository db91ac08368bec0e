/**
 * Driver-side statement counting: every `query()` a pg or Neon client sends is one round trip
 * (none of the systems measured pipelines). Patching the client prototypes counts what the peers
 * send too, without touching their code; Neon's Client is a fork of pg's and needs its own patch.
 */
import { Client as NeonClient } from '@neondatabase/serverless';
import pg from 'pg';

let count = 0;
let installed = false;

function patch(proto: { query: (...args: unknown[]) => unknown }): void {
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    count++;
    return original.apply(this, args);
  };
}

/** Installs the counters once per process; the harness is the only thing running in it. */
export function installRoundTripCounter(): void {
  if (installed) return;
  installed = true;
  patch(pg.Client.prototype as never);
  patch(NeonClient.prototype as never);
}

/** Runs `fn` and returns its value with the statements sent while it ran. */
export async function counted<T>(fn: () => Promise<T>): Promise<{ value: T; roundTrips: number }> {
  installRoundTripCounter();
  const before = count;
  const value = await fn();
  return { value, roundTrips: count - before };
}
