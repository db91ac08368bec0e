import type { Context } from 'hono';
import type { Config } from '../config.ts';

/** The runtime's view of the peer: each entry point passes its adapter's `getConnInfo`. */
export type ConnInfoFn = (c: Context) => { remote: { address?: string } };

/**
 * The client IP the CIDR allowlist and the failure limiter key on, chosen by `http.trust_proxy`
 * (REPROQ_TRUST_PROXY). A forwarding header is only believed when the operator says a proxy in
 * front sets it; otherwise anyone could claim an allowed address.
 * - `none`: the runtime's peer address (socket, API Gateway's sourceIp).
 * - `cf-connecting-ip`: Cloudflare's header, set by its edge and not forgeable through it.
 * - `x-forwarded-for`: the entry `http.trusted_hops` from the right. Each trusted proxy appends
 *   the address it saw, so that entry was written by the outermost proxy we trust; entries left
 *   of it are the client's to invent.
 */
export function clientIpResolver(config: Config, connInfo?: ConnInfoFn): (c: Context) => string | undefined {
  const { trust_proxy: trust, trusted_hops: hops } = config.http;
  switch (trust) {
    case 'cf-connecting-ip':
      return (c) => c.req.header('cf-connecting-ip')?.trim() || undefined;
    case 'x-forwarded-for':
      return (c) => {
        const list = (c.req.header('x-forwarded-for') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        // Fewer entries than hops: the request came through fewer proxies than configured; the
        // leftmost is then the best we know, and it was still written by a proxy.
        return list.length === 0 ? undefined : list[Math.max(0, list.length - hops)];
      };
    case 'none':
      return (c) => {
        if (!connInfo) return undefined;
        try {
          return unzone(connInfo(c).remote.address);
        } catch {
          // An adapter's getConnInfo throws when its env is absent (e.g. app.request() in tests).
          return undefined;
        }
      };
  }
}

/** `fe80::1%eth0` → `fe80::1`, as upstream strips the zone. */
function unzone(address: string | undefined): string | undefined {
  return address?.replace(/%.*$/, '') || undefined;
}
