import { verify } from 'hono/jwt';

/** Audiences reproq-django's tui_auth mints tokens for. */
export const TUI_AUDIENCES = ['reproq-tui', 'reproq-worker'];
export const TUI_ISSUER = 'reproq-django';

/**
 * Upstream's `verifyTUIToken`: an HS256 JWT signed with METRICS_AUTH_TOKEN, whose `aud` is (or
 * contains) reproq-tui or reproq-worker, whose `iss`, when present, is reproq-django, with
 * `superuser: true`, not expired. hono's `verify` checks the signature (constant time),
 * the algorithm, `exp` and `aud`; the two claims hono has no option for are checked here. Like
 * upstream, `nbf` and `iat` are ignored.
 */
export async function verifyTuiToken(token: string, secret: string): Promise<boolean> {
  try {
    const payload = await verify(token, secret, { alg: 'HS256', aud: TUI_AUDIENCES, nbf: false, iat: false, exp: true });
    if (typeof payload.iss === 'string' && payload.iss !== TUI_ISSUER) return false;
    return payload.superuser === true;
  } catch {
    return false;
  }
}
