/** Node-only entry to the Neon Pool adapter: Node 20 has no global WebSocket, so use `ws`. */
import WebSocket from 'ws';
import { neonPoolDb, type NeonPoolOptions } from './neon.ts';
import type { Db } from './types.ts';

export function neonNodePoolDb(opts: Omit<NeonPoolOptions, 'webSocketConstructor'>): Db {
  return neonPoolDb({ ...opts, webSocketConstructor: WebSocket });
}
