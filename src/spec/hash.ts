import { canonicalJson, CanonicalJsonError, isWellFormed, type CanonicalValue } from './canonical.ts';

// WebCrypto only (global `crypto`): the same code runs on Node 20, Cloudflare Workers and Vercel Edge.

/** Lowercase hex SHA-256 of the UTF-8 bytes of `data` (or of the bytes themselves). */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  if (typeof data === 'string' && !isWellFormed(data)) {
    // TextEncoder would hash U+FFFD in its place, a hash no upstream producer can compute.
    throw new CanonicalJsonError('$', 'text contains a lone UTF-16 surrogate');
  }
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data);
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  let hex = '';
  for (const b of new Uint8Array(digest)) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** reproq-django's spec_hash: sha256 of the canonical JSON. */
export async function specHash(spec: CanonicalValue): Promise<string> {
  return sha256Hex(canonicalJson(spec));
}
