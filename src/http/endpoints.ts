/**
 * Every route of the JSON API: its method and its path (Hono's syntax) under `http.route_prefix`.
 * The server's route table (ROUTES, src/http/api.ts), the OpenAPI document and the typed client read
 * it. It imports nothing, so a client bundle carries only these strings.
 */
export const ENDPOINTS = {
  drain: { method: 'post', path: '/drain' },
  beat: { method: 'post', path: '/beat' },
  reclaim: { method: 'post', path: '/reclaim' },
  enqueue: { method: 'post', path: '/enqueue' },
  listFailed: { method: 'get', path: '/tasks/failed' },
  retryFailed: { method: 'post', path: '/tasks/failed/retry' },
  getTask: { method: 'get', path: '/tasks/:id' },
  cancel: { method: 'post', path: '/tasks/:id/cancel' },
  retry: { method: 'post', path: '/tasks/:id/retry' },
  replay: { method: 'post', path: '/tasks/:id/replay' },
  queues: { method: 'get', path: '/queues' },
  pause: { method: 'post', path: '/queues/:queue/pause' },
  resume: { method: 'post', path: '/queues/:queue/resume' },
  listPeriodic: { method: 'get', path: '/periodic' },
  putPeriodic: { method: 'put', path: '/periodic/:name' },
  deletePeriodic: { method: 'delete', path: '/periodic/:name' },
  enablePeriodic: { method: 'post', path: '/periodic/:name/enable' },
  disablePeriodic: { method: 'post', path: '/periodic/:name/disable' },
  metrics: { method: 'get', path: '/metrics' },
  stats: { method: 'get', path: '/stats' },
  healthz: { method: 'get', path: '/healthz' },
  openapi: { method: 'get', path: '/openapi.json' },
} as const satisfies Record<string, Endpoint>;

export interface Endpoint {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
}

export type EndpointName = keyof typeof ENDPOINTS;
