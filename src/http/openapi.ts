import * as z from 'zod/mini';
import type { Config } from '../config.ts';
import { EnqueueInputSchema } from '../enqueue.ts';
import { InstantSchema, JsonArraySchema, JsonObjectSchema, MAX_OFFSET_SECONDS, RunAfterSchema } from '../storable.ts';
import { VERSION } from '../version.ts';
import { apiRoutes, DrainSummarySchema, ErrorBodySchema, type Access, type ApiRoute } from './api.ts';
import { ENDPOINTS, type EndpointName } from './endpoints.ts';
import { ROUTES } from './task-routes.ts';

/**
 * The OpenAPI 3.1 document of the JSON API, made from the same zod schemas the routes validate with
 * (src/http/api.ts) by zod's own JSON Schema conversion: requests as their input type, answers as their
 * output type. It takes the app's config, so the caps (`http.max_*`) and the route prefix are the
 * deployment's.
 */
export function openApiDocument(config: Config): OpenApiDocument {
  const routes: Record<EndpointName, ApiRoute> = apiRoutes(config.http);
  const schemas = new Components();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [name, endpoint] of Object.entries(ENDPOINTS) as [EndpointName, (typeof ENDPOINTS)[EndpointName]][]) {
    const route = routes[name];
    const path = endpoint.path.replace(/:(\w+)/g, '{$1}');
    paths[path] = { ...paths[path], [endpoint.method]: operation(name, route, schemas) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Reproq Edge',
      version: VERSION,
      description:
        'The HTTP API of a Reproq Edge app. Errors answer `{"error": {"code", "message", "field"?}}`, `field` naming the bad input. ' +
        'This document is public: it describes the routes and holds no data.',
    },
    ...(config.http.route_prefix ? { servers: [{ url: config.http.route_prefix }] } : {}),
    paths,
    components: { schemas: schemas.emit(), responses: ERROR_RESPONSES, securitySchemes: SECURITY_SCHEMES },
  };
}

export type OpenApiDocument = {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers?: { url: string }[];
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; responses: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};
type JsonSchema = Record<string, unknown>;

const SECURITY_SCHEMES = {
  operatorToken: { type: 'http', scheme: 'bearer', description: 'REPROQ_AUTH_TOKEN' },
  cronSecret: { type: 'http', scheme: 'bearer', description: "CRON_SECRET (Vercel's cron calls): the job and metrics routes" },
  metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_AUTH_TOKEN. Unset, the metrics routes need no token' },
  tuiJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: "an HS256 JWT signed with METRICS_AUTH_TOKEN (reproq-django's TUI token)" },
};

/** Any one of the listed schemes will do; `{}` means no credential (the metrics routes without METRICS_AUTH_TOKEN). */
const SECURITY: Record<Access, Record<string, string[]>[]> = {
  operator: [{ operatorToken: [] }],
  job: [{ operatorToken: [] }, { cronSecret: [] }],
  metrics: [{ metricsToken: [] }, { tuiJwt: [] }, { operatorToken: [] }, { cronSecret: [] }, {}],
  public: [],
};

const errorAnswer = (description: string, retryAfter = false) => ({
  description,
  ...(retryAfter ? { headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } } } : {}),
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const ERROR_RESPONSES = {
  BadRequest: errorAnswer('invalid input (`field` names it), or an Authorization header that is not "Bearer <token>"'),
  Unauthorized: errorAnswer('no valid bearer token'),
  Forbidden: errorAnswer('the client address is outside METRICS_ALLOW_CIDRS'),
  NotFound: errorAnswer('no such task or periodic task (`field` names it)'),
  Conflict: errorAnswer("the task's state forbids it, or an active task has the same spec"),
  TooLarge: errorAnswer('the body is over http.max_body_bytes'),
  UnsupportedType: errorAnswer('the body is not sent as application/json'),
  RateLimited: errorAnswer('too many failed authentications from this client', true),
  Unavailable: errorAnswer("the database is unavailable, or the route's credential is not configured", true),
  Error: errorAnswer('any other refusal or failure, in the same shape: 422 for a value the database refused, 500 for a missing migration or a bug'),
};
const STATUS_ANSWERS: Record<number, keyof typeof ERROR_RESPONSES> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  413: 'TooLarge',
  415: 'UnsupportedType',
  429: 'RateLimited',
  503: 'Unavailable',
  500: 'Error',
};
/** What every route of an access kind may answer, besides its own errors. */
const ACCESS_ERRORS: Record<Access, number[]> = {
  operator: [400, 401, 429, 503],
  job: [400, 401, 429, 503],
  metrics: [400, 401, 403, 429, 503],
  public: [],
};

function operation(name: EndpointName, route: ApiRoute, schemas: Components) {
  const label = name[0]!.toUpperCase() + name.slice(1);
  const parameters = [...schemas.parameters(route.params, 'path'), ...schemas.parameters(route.query, 'query')];
  const type = route.text ? 'text/plain' : 'application/json';
  const answer = (schema: z.ZodMiniType, id: string) => ({ content: { [type]: { schema: schemas.ref('output', schema, id) } } });
  const responses: Record<string, unknown> = {
    [route.status]: {
      description: route.status === 201 ? 'created (Location names the new task, for one task)' : 'OK',
      ...answer(route.response, `${label}Response`),
    },
  };
  const statuses = new Set([...ACCESS_ERRORS[route.access], ...(route.body ? [413] : []), ...Object.keys(route.errors ?? {}).map(Number)]);
  for (const status of [...statuses].sort()) {
    const own = route.errors?.[status];
    responses[status] =
      own && own !== ErrorBodySchema
        ? { description: ERROR_RESPONSES[STATUS_ANSWERS[status]!].description, ...answer(own, `${label}${status}`) }
        : { $ref: `#/components/responses/${STATUS_ANSWERS[status]}` };
  }
  if (route.access !== 'public') responses.default = { $ref: '#/components/responses/Error' };
  return {
    operationId: name,
    summary: route.summary,
    security: SECURITY[route.access],
    ...(parameters.length ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            // A body that accepts `{}` may be left out altogether (the jobs, pause).
            required: !z.safeParse(route.body, {}).success,
            content: { 'application/json': { schema: schemas.ref('input', route.body, `${label}Request`) } },
          },
        }
      : {}),
    responses,
  };
}

/** Schemas under their own names wherever they appear; every other one is named for its route. */
const SHARED = {
  input: [[EnqueueInputSchema, 'EnqueueInput']],
  output: [
    [ErrorBodySchema, 'Error'],
    [ROUTES.getTask.response, 'TaskView'],
    [ROUTES.enablePeriodic.response, 'PeriodicTask'],
    [DrainSummarySchema, 'DrainSummary'],
  ],
} as const satisfies Record<'input' | 'output', readonly (readonly [z.core.$ZodType, string])[]>;

/** components.schemas: one registry per direction, converted at once so shared schemas become $refs. */
class Components {
  readonly #registries = { input: z.registry<{ id: string }>(), output: z.registry<{ id: string }>() };

  constructor() {
    for (const io of ['input', 'output'] as const) for (const [schema, id] of SHARED[io]) this.#registries[io].add(schema, { id });
  }

  ref(io: 'input' | 'output', schema: z.core.$ZodType, id: string): { $ref: string } {
    const registry = this.#registries[io];
    if (!registry.has(schema)) registry.add(schema, { id });
    return { $ref: `#/components/schemas/${registry.get(schema)!.id}` };
  }

  /** An object schema's properties as path or query parameters. */
  parameters(schema: z.core.$ZodType | undefined, where: 'path' | 'query') {
    if (!schema) return [];
    const json = z.toJSONSchema(schema, options('input')) as { properties: Record<string, JsonSchema>; required?: string[] };
    return Object.entries(json.properties).map(([name, s]) => ({ name, in: where, required: where === 'path' || !!json.required?.includes(name), schema: s }));
  }

  emit(): Record<string, JsonSchema> {
    const out: Record<string, JsonSchema> = {};
    for (const io of ['input', 'output'] as const) {
      const { schemas } = z.toJSONSchema(this.#registries[io], { ...options(io), uri: (id) => `#/components/schemas/${id}` }) as { schemas: Record<string, JsonSchema> };
      for (const [id, { $schema: _s, $id: _i, ...schema }] of Object.entries(schemas)) out[id] = schema;
    }
    return out;
  }
}

const INSTANT = { type: 'string', format: 'date-time', description: 'ISO-8601 with Z or an offset' };
/** How the core's custom input schemas (src/storable.ts), which JSON Schema cannot read, travel in JSON. */
const HINTS = new Map<z.core.$ZodType, JsonSchema>([
  [InstantSchema, INSTANT],
  [
    RunAfterSchema,
    {
      anyOf: [
        INSTANT,
        { type: 'object', properties: { delaySeconds: { type: 'number', minimum: 0, maximum: MAX_OFFSET_SECONDS } }, required: ['delaySeconds'], additionalProperties: false },
      ],
    },
  ],
  [JsonArraySchema, { type: 'array' }],
  [JsonObjectSchema, { type: 'object' }],
]);

/** Options for zod's conversion; what JSON Schema cannot say (a refinement) is left open, for the route's own validation. */
function options(io: 'input' | 'output') {
  return {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }: { zodSchema: z.core.$ZodTypes; jsonSchema: JsonSchema }) => {
      const hint = HINTS.get(zodSchema);
      if (hint) Object.assign(jsonSchema, hint);
    },
  } as const;
}
