import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { canonicalJson, CanonicalJsonError, isWellFormed, type CanonicalValue } from './canonical.ts';

// A synchronous pure-JS SHA-256 (@noble/hashes) runs unchanged on Node, Workers and Vercel Edge, and
// for the short texts of a bulk enqueue it is several times faster than awaiting WebCrypto per row.

/** Lowercase hex SHA-256 of the UTF-8 bytes of `data` (or of the bytes themselves). */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  if (typeof data === 'string' && !isWellFormed(data)) {
    // TextEncoder would hash U+FFFD in its place, a hash no upstream producer can compute.
    throw new CanonicalJsonError('$', 'text contains a lone UTF-16 surrogate');
  }
  return sha256HexOfBytes(typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data));
}

/** The synchronous core of sha256Hex, for callers that already hold the UTF-8 bytes. */
export function sha256HexOfBytes(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}

/** reproq-django's spec_hash: sha256 of the canonical JSON. */
export async function specHash(spec: CanonicalValue): Promise<string> {
  return sha256Hex(canonicalJson(spec));
}
