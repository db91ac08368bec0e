import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { canonicalJson, CanonicalJsonError, isWellFormed, type CanonicalValue } from './canonical.ts';

// A synchronous pure-JS SHA-256 (@noble/hashes) runs unchanged on Node, Workers and Vercel Edge, and
// for the short texts of a bulk enqueue it is several times faster than awaiting WebCrypto per row.

const encoder = new TextEncoder();

/** Lowercase hex SHA-256 of the UTF-8 bytes of `data` (or of the bytes themselves). */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  if (typeof data === 'string' && !isWellFormed(data)) {
    // TextEncoder would hash U+FFFD in its place, a hash no upstream producer can compute.
    throw new CanonicalJsonError('$', 'text contains a lone UTF-16 surrogate');
  }
  return sha256HexOfBytes(typeof data === 'string' ? encoder.encode(data) : new Uint8Array(data));
}

// UTF-8 takes at most 3 bytes per UTF-16 unit: a text up to a third of this is encoded in place.
const scratch = new Uint8Array(48 * 1024);

/**
 * The UTF-8 bytes of a well-formed text, for hashing or measuring right away: a short text is
 * encoded into one buffer reused by the next call (a bulk enqueue encodes a thousand specs per
 * call, and a fresh array for each cost more than hashing it), a long one into its own array.
 */
export function transientUtf8(text: string): Uint8Array {
  if (text.length * 3 > scratch.length) return encoder.encode(text);
  return scratch.subarray(0, encoder.encodeInto(text, scratch).written);
}

/** The synchronous core of sha256Hex, for callers that already hold the UTF-8 bytes. */
export function sha256HexOfBytes(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}

/** reproq-django's spec_hash: sha256 of the canonical JSON. */
export async function specHash(spec: CanonicalValue): Promise<string> {
  return sha256Hex(canonicalJson(spec));
}
