import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { sign, verify } from 'hono/jwt';
import type { Config } from '../config.ts';

/**
 * The browser's credential. A browser cannot send a bearer header when it follows a link, so the
 * operator signs in once with REPROQ_AUTH_TOKEN and gets a cookie: an HS256 JWT with an expiry and
 * a random CSRF token, signed with a key derived from the operator token (HMAC-SHA256 of a fixed
 * label). The cookie never holds the token, and rotating the token ends every session. It is
 * HttpOnly, SameSite=Strict, scoped to the dashboard's path, and Secure over HTTPS. Sessions are
 * stateless: signing out deletes the cookie, and a copied cookie stays valid until it expires.
 */

const COOKIE = 'reproq_dashboard';
export const SESSION_SECONDS = 12 * 3600;

export interface Session {
  /** Sent back in every form as `_csrf`: another site can make the browser send the cookie, never this. */
  csrf: string;
}

export class Sessions {
  readonly #config: Config;
  readonly #now: () => number;
  #key: Promise<string> | undefined;

  constructor(config: Config, now: () => number = Date.now) {
    this.#config = config;
    this.#now = now;
  }

  async start(c: Context, base: string): Promise<void> {
    const csrf = hex(crypto.getRandomValues(new Uint8Array(16)));
    const exp = Math.floor(this.#now() / 1000) + SESSION_SECONDS;
    const jwt = await sign({ csrf, exp }, await this.#secret(), 'HS256');
    setCookie(c, COOKIE, jwt, { ...this.#cookieOptions(c, base), maxAge: SESSION_SECONDS });
  }

  /** The session the request's cookie carries, if it is one of ours and has not expired. */
  async read(c: Context): Promise<Session | undefined> {
    const jwt = getCookie(c, COOKIE);
    if (!jwt) return undefined;
    try {
      // The expiry is checked here, against the injectable clock.
      const payload = await verify(jwt, await this.#secret(), { alg: 'HS256', exp: false, nbf: false, iat: false });
      if (typeof payload.exp !== 'number' || payload.exp * 1000 <= this.#now()) return undefined;
      return typeof payload.csrf === 'string' ? { csrf: payload.csrf } : undefined;
    } catch {
      return undefined;
    }
  }

  end(c: Context, base: string): void {
    deleteCookie(c, COOKIE, this.#cookieOptions(c, base));
  }

  #cookieOptions(c: Context, base: string) {
    return { path: base || '/', httpOnly: true, sameSite: 'Strict', secure: isHttps(c, this.#config) } as const;
  }

  #secret(): Promise<string> {
    const token = this.#config.http.auth_token;
    if (!token) throw new Error('sessions need REPROQ_AUTH_TOKEN');
    this.#key ??= hmacHex(token, 'reproq dashboard session v1');
    return this.#key;
  }
}

/** HTTPS as the browser sees it: the request URL, or the proxy's word when the operator trusts a proxy. */
function isHttps(c: Context, config: Config): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  return config.http.trust_proxy !== 'none' && c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';
}

async function hmacHex(secret: string, label: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return hex(new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(label))));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
