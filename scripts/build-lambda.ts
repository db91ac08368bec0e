/**
 * Bundles the Lambda handler into dist/lambda/handler.js, the file serverless.yml points at:
 *   npx tsx scripts/build-lambda.ts [entry] [outdir]
 * CommonJS because serverless v3's `invoke local` (and older Node runtimes) load handlers with
 * require(); the folder's own package.json keeps the root's "type": "module" from applying.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

export async function buildLambda(entry = 'workers/example/lambda.ts', outdir = 'dist/lambda'): Promise<string> {
  await mkdir(outdir, { recursive: true });
  const outfile = path.join(outdir, 'handler.js');
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    minify: true,
    sourcemap: 'linked',
    // pg's optional native binding and Cloudflare socket shim: never loaded on Lambda.
    external: ['pg-native', 'cloudflare:sockets'],
  });
  await writeFile(path.join(outdir, 'package.json'), '{ "type": "commonjs" }\n');
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await buildLambda(process.argv[2], process.argv[3]));
}
