import type { IncomingHttpHeaders } from 'node:http';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import type { AuthenticatedRequest } from '@app/auth';
import { AppError } from '@app/core';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function hostnameOf(hostHeader: string): string {
  // "host:port", "[::1]:port", or a bare host.
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  return hostHeader.split(':')[0].toLowerCase();
}

export function isLoopbackHost(hostHeader: string | undefined): boolean {
  return hostHeader !== undefined && LOOPBACK_HOSTS.has(hostnameOf(hostHeader));
}

/**
 * DNS-rebinding protection for the MCP endpoints (as the MCP spec requires of HTTP servers): a browser request
 * (one with an `Origin`) is admitted only from an allowed origin, or from a loopback origin to a loopback host;
 * and when the gateway listens on loopback only, the `Host` must be a loopback name too. Throws 403 otherwise.
 */
export function checkOrigin(
  headers: { origin?: string; host?: string },
  options: { allowedOrigins: readonly string[]; listenHost: string },
): void {
  const { origin, host } = headers;
  if (isLoopbackHost(options.listenHost) && host !== undefined && !isLoopbackHost(host)) {
    throw new AppError(
      'FORBIDDEN',
      `Host ${JSON.stringify(host)} is not allowed: the gateway listens on loopback only (DNS-rebinding protection)`,
      { param: 'host' },
    );
  }
  if (origin === undefined) return;
  if (options.allowedOrigins.includes('*') || options.allowedOrigins.includes(origin)) return;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    originHost = '';
  }
  if (isLoopbackHost(originHost) && isLoopbackHost(host)) return;
  throw new AppError(
    'FORBIDDEN',
    `Origin ${JSON.stringify(origin)} is not allowed on the MCP endpoint (DNS-rebinding protection); add it to general_settings.mcp_allowed_origins`,
    { param: 'origin' },
  );
}

/** The rule on a request's headers, with the gateway's settings (allowed origins, listen host). */
export function checkRequestOrigin(headers: IncomingHttpHeaders, config: GatewayConfig): void {
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
  checkOrigin(
    { origin: first(headers.origin), host: first(headers.host) },
    { allowedOrigins: config.mcp.allowedOrigins, listenHost: config.server.host },
  );
}

function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined || host === undefined) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * The same rule as a guard, for the REST twins and the admin routes that dial upstreams (health checks, the
 * test route): a page on a rebinding domain must not make the gateway call or probe servers on its behalf.
 */
@Injectable()
export class UpstreamOriginGuard implements CanActivate {
  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    // The web UI on its own origin: its cookie was set for this very host name, so a rebinding page (another
    // name) cannot have it; the key guard has already checked that the request comes from the UI's origin.
    if (req.uiSession && sameOrigin(req.headers.origin, req.headers.host)) return true;
    checkRequestOrigin(req.headers, this.config);
    return true;
  }
}
