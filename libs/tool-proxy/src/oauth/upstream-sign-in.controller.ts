import { Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AdminOnly, AnyKey, Auth, type AuthContext, Public, signInOwner } from '@app/auth';
import { AppError } from '@app/core';
import { McpRegistry, McpServerNotFoundError, type McpServerRecord } from '@app/mcp-registry';
import { GatewayView } from '../catalog/gateway-view.js';
import { UpstreamOriginGuard } from '../session/origin-check.js';
import { originOf } from '../session/session-door.js';
import type { UpstreamSignInEntity } from './upstream-sign-in.entity.js';
import {
  CALLBACK_PATH,
  CLIENT_METADATA_PATH,
  needsSignIn,
  SignInCallbackError,
  UpstreamSignIns,
} from './upstream-sign-ins.js';

/** One sign-in as the API shows it (LiteLLM's user-credential fields; never a token). */
function credentialView(row: UpstreamSignInEntity | null, server: McpServerRecord) {
  const expiresAt = row?.connectedAt ? row.expiresAt : null;
  return {
    server_id: server.serverId,
    server_name: server.serverName,
    alias: server.alias,
    credential_type: 'oauth2' as const,
    has_credential: !!row?.connectedAt,
    expires_at: expiresAt?.toISOString() ?? null,
    is_expired: expiresAt ? expiresAt.getTime() <= Date.now() : false,
    connected_at: row?.connectedAt?.toISOString() ?? null,
    scope: row?.connectedAt ? row.scope : null,
  };
}

/**
 * Per-user upstream sign-in (auth_type oauth2, oauth2_flow authorization_code), issue 20:
 * - `GET /v1/mcp/oauth/callback`: where the upstream's authorization server sends the browser back (public: the
 *   browser has no gateway key; the sealed `state` says whose sign-in it is);
 * - a caller's own sign-ins: list, status, start one, forget one (LiteLLM's user-credential routes);
 * - admins: who has signed in to a server, and forgetting a user's tokens.
 */
@Controller()
export class UpstreamSignInController {
  constructor(
    private readonly signIns: UpstreamSignIns,
    private readonly registry: McpRegistry,
    private readonly view: GatewayView,
  ) {}

  @Get(CALLBACK_PATH.slice(1))
  @Public()
  async callback(@Query() query: Record<string, unknown>, @Res() res: Response): Promise<void> {
    const text = (name: string) => (typeof query[name] === 'string' ? query[name] : undefined);
    const page = (status: number, title: string, body: string) =>
      void res
        .status(status)
        .set({
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'content-security-policy': "default-src 'none'",
          'referrer-policy': 'no-referrer',
        })
        .send(
          `<!doctype html><meta charset="utf-8"><title>${escape(title)}</title><h1>${escape(title)}</h1><p>${escape(body)}</p>`,
        );
    const error = text('error');
    if (error) {
      const why = text('error_description');
      return page(
        400,
        'Sign-in not completed',
        `The authorization server answered ${error}${why ? `: ${why}` : ''}. Call the tool again to get a new sign-in link.`,
      );
    }
    const state = text('state');
    const code = text('code');
    if (!state || !code)
      return page(
        400,
        'Sign-in not completed',
        'This page needs the code and state the authorization server sends.',
      );
    try {
      const server = await this.signIns.complete(state, code, text('iss'));
      page(
        200,
        'Signed in',
        `You are signed in to ${server.serverName}. Go back to your MCP client: it can call it now.`,
      );
    } catch (failure) {
      if (!(failure instanceof SignInCallbackError)) throw failure;
      page(400, 'Sign-in not completed', failure.message);
    }
  }

  /** The gateway's OAuth client metadata document (its client_id, where authorization servers accept one). */
  @Get(CLIENT_METADATA_PATH.slice(1))
  @Public()
  clientMetadata() {
    const document = this.signIns.clientMetadataDocument();
    if (!document)
      throw new AppError(
        'NOT_FOUND',
        'the gateway publishes its OAuth client metadata document only when PROXY_BASE_URL is an https:// URL',
      );
    return document;
  }

  /** The caller's sign-ins, one per server that needs one and that they may use. */
  @Get('v1/mcp/user-credentials')
  @AnyKey()
  async mine(@Auth() auth: AuthContext) {
    const rows = new Map((await this.signIns.signInsOf(signInOwner(auth))).map((r) => [r.serverId, r]));
    return this.usable(auth).map((server) => credentialView(rows.get(server.serverId) ?? null, server));
  }

  @Get('v1/mcp/server/:id/oauth-user-credential/status')
  @AnyKey()
  async status(@Auth() auth: AuthContext, @Param('id') id: string) {
    const server = this.usableServer(auth, id);
    const rows = await this.signIns.signInsOf(signInOwner(auth));
    const {
      server_name: _n,
      alias: _a,
      credential_type: _t,
      ...status
    } = credentialView(rows.find((r) => r.serverId === server.serverId) ?? null, server);
    return status;
  }

  /** Starts a sign-in (or gives the pending one again): the URL to open in a browser. */
  @Post('v1/mcp/server/:id/oauth/authorize')
  @AnyKey()
  @UseGuards(UpstreamOriginGuard)
  @HttpCode(200)
  async authorize(@Auth() auth: AuthContext, @Param('id') id: string, @Req() req: Request) {
    const server = this.usableServer(auth, id);
    const context = this.signIns.context({ auth, origin: originOf(req.headers) });
    const url = await this.signIns.signInUrl(server, context.owner, context.base);
    return { server_id: server.serverId, authorization_url: url };
  }

  /** Forgets the caller's own tokens for a server (their next call asks them to sign in again). */
  @Delete('v1/mcp/server/:id/oauth-user-credential')
  @AnyKey()
  async revoke(@Auth() auth: AuthContext, @Param('id') id: string) {
    const server = this.usableServer(auth, id);
    await this.signIns.revoke(server.serverId, signInOwner(auth));
    return { server_id: server.serverId, has_credential: false };
  }

  /** Who has signed in to a server (admins and viewers): owners, expiry, scope; never a token. */
  @Get('v1/mcp/server/:id/oauth-users')
  @AdminOnly()
  async users(@Param('id') id: string) {
    const server = this.signInServer(id);
    const rows = await this.signIns.signInsAt(server.serverId);
    return rows.map((row) => ({ owner: row.owner, ...credentialView(row, server) }));
  }

  /** Forgets one user's tokens for a server (admins). */
  @Delete('v1/mcp/server/:id/oauth-users/:owner')
  @AdminOnly()
  async revokeUser(@Param('id') id: string, @Param('owner') owner: string) {
    const server = this.signInServer(id);
    const had = await this.signIns.revoke(server.serverId, owner);
    if (!had)
      throw new AppError(
        'NOT_FOUND',
        `${JSON.stringify(owner)} has no sign-in at MCP server ${server.serverName}`,
        {
          param: 'owner',
        },
      );
    return { server_id: server.serverId, owner, has_credential: false };
  }

  /** Servers needing a sign-in that the caller may use. */
  private usable(auth: AuthContext): McpServerRecord[] {
    return this.view
      .visibleServers({ auth, selection: null })
      .map((v) => v.server)
      .filter(needsSignIn);
  }

  private usableServer(auth: AuthContext, id: string): McpServerRecord {
    const server = this.signInServer(id);
    if (!this.usable(auth).some((s) => s.serverId === server.serverId)) throw new McpServerNotFoundError(id);
    return server;
  }

  private signInServer(id: string): McpServerRecord {
    const server = this.registry.find(id);
    if (!server) throw new McpServerNotFoundError(id);
    if (!needsSignIn(server))
      throw new AppError(
        'BAD_REQUEST',
        `MCP server ${server.serverName} does not use per-user sign-in (that is auth_type oauth2 with oauth2_flow authorization_code)`,
        { param: 'server_id' },
      );
    return server;
  }
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
