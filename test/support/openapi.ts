import { Ajv2020 } from 'ajv/dist/2020.js';
import type { OpenApiDocument } from '../../src/http/openapi.ts';

type Json = Record<string, any>;

/**
 * Checks answers against an OpenAPI document's own schemas (JSON Schema 2020-12, with Ajv in strict
 * mode): finds the operation by method and path, the answer by status (or `default`), the schema by
 * media type. The document's components become one schema whose $defs the others point into.
 */
export function documentChecker(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: true, allErrors: true, formats: { 'date-time': true } });
  const local = (schema: unknown): Json => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"doc#/$defs/'));
  ajv.addSchema({ $id: 'doc', $defs: local(doc.components.schemas) });
  const prefix = doc.servers?.[0]?.url ?? '';
  // Literal segments before parameters, so /tasks/failed is not taken for /tasks/{id}.
  const templates = Object.keys(doc.paths)
    .map((t) => ({ t, re: new RegExp(`^${t.replace(/\{\w+\}/g, '[^/]+')}$`), params: (t.match(/\{/g) ?? []).length }))
    .sort((a, b) => a.params - b.params);

  return {
    /** Compiles every component schema: a schema Ajv refuses (an unknown keyword, a dangling $ref) throws. */
    compileAll(): number {
      for (const id of Object.keys(doc.components.schemas)) ajv.getSchema(`doc#/$defs/${id}`) ?? ajv.compile({ $ref: `doc#/$defs/${id}` });
      return Object.keys(doc.components.schemas).length;
    },

    /** The operation `method url` maps to, or undefined. */
    operation(method: string, url: string): { template: string; op: Json } | undefined {
      const path = new URL(url, 'http://x').pathname.slice(prefix.length);
      const found = templates.find(({ re }) => re.test(path));
      const op = found && (doc.paths[found.t] as Json)[method.toLowerCase()];
      return op ? { template: found.t, op } : undefined;
    },

    /** Errors of `body` against the documented answer for this status and content type ([] when it matches). */
    check(method: string, url: string, status: number, contentType: string, body: unknown): string[] {
      const found = this.operation(method, url);
      if (!found) return [`${method} ${url} is not in the document`];
      let answer: Json | undefined = found.op.responses[String(status)] ?? found.op.responses.default;
      if (answer?.$ref) answer = (doc.components.responses as Json)[answer.$ref.split('/').pop()];
      if (!answer) return [`${found.template} documents no ${status} answer`];
      const media = contentType.split(';')[0]!.trim();
      const schema = answer.content?.[media]?.schema;
      if (!schema) return [`${found.template} ${status} documents no ${media} body`];
      const validate = ajv.compile(local(schema));
      return validate(body) ? [] : (validate.errors ?? []).map((e) => `${found.template} ${status}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
    },
  };
}
