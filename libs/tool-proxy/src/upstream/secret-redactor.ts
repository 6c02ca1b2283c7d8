import type { McpServerRecord } from '@app/mcp-registry';
import { dialUrl, upstreamHeaders } from '@app/mcp-registry';
import { issuedToken } from './oauth2-client-credentials.js';

/** What a secret becomes in any text that leaves the gateway. */
export const REDACTED = '[REDACTED]';
/** Shorter values are not searched for (they would blank ordinary words), nor are they meaningful secrets. */
const MIN_SECRET_LENGTH = 4;

const cache = new WeakMap<McpServerRecord, string[]>();

/** Where per-user upstream tokens come from (upstream-sign-ins.ts): a server's, for redaction. */
type TokenSource = (serverId: string) => readonly string[];
const tokenSources = new Set<TokenSource>();

/** Registers a source of a server's live tokens (users' own sign-ins); returns its unregistration. */
export function addTokenSource(source: TokenSource): () => void {
  tokenSources.add(source);
  return () => tokenSources.delete(source);
}

/**
 * Every secret value of a server, as the upstream may echo it back: the stored credential, the header it
 * becomes (`Bearer …`, the base64 of `user:password`), static header values, stdio env values, URL userinfo.
 * Longest first, so that a secret containing another is replaced whole.
 */
export function secretsOf(server: McpServerRecord): string[] {
  let secrets = cache.get(server);
  if (secrets) return secrets;
  const values = new Set<string>();
  const { authValue, staticHeaders, env, clientId, clientSecret } = server.secrets;
  if (clientSecret) {
    values.add(clientSecret);
    // As client_secret_post sends it, form-encoded (a token endpoint may quote the request it refused).
    values.add(new URLSearchParams({ s: clientSecret }).toString().slice(2));
    // As client_secret_basic sends it (the grant form-encodes each part; these are the usual case).
    if (clientId) values.add(Buffer.from(`${clientId}:${clientSecret}`).toString('base64'));
  }
  if (authValue) {
    values.add(authValue);
    for (const value of Object.values(
      upstreamHeaders({ authType: server.authType, secrets: server.secrets }),
    ))
      values.add(value);
    // The encoded part alone too (`Basic <b64>`, `Bearer <token>`).
    for (const value of [...values]) {
      const space = value.indexOf(' ');
      if (space > 0) values.add(value.slice(space + 1));
    }
  }
  for (const value of [...Object.values(staticHeaders), ...Object.values(env)]) values.add(value);
  if (server.url) {
    try {
      const url = new URL(dialUrl(server));
      for (const part of [url.username, url.password].filter(Boolean)) {
        values.add(part);
        values.add(decodeURIComponent(part));
      }
      // As the Authorization header node:http makes of it.
      if (url.username || url.password)
        values.add(
          Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString(
            'base64',
          ),
        );
    } catch {
      // Not a URL: nothing to take from it.
    }
  }
  secrets = [...values].filter((v) => v.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  cache.set(server, secrets);
  return secrets;
}

/**
 * The text with every secret value of the server replaced, whatever the upstream put around it; `passed` are
 * the values of headers passed through from a caller (`x-mcp-{alias}-*`, `x-mcp-auth`, extra_headers), which
 * are credentials too.
 */
export function redactSecrets(server: McpServerRecord, text: string, passed: readonly string[] = []): string {
  let out = text;
  for (const secret of secretsOf(server)) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  const tokens = [issuedToken(server), ...[...tokenSources].flatMap((source) => source(server.serverId))];
  for (const token of tokens)
    if (token && token.length >= MIN_SECRET_LENGTH && out.includes(token))
      out = out.split(token).join(REDACTED);
  for (const value of passed) {
    if (value.length < MIN_SECRET_LENGTH) continue;
    if (out.includes(value)) out = out.split(value).join(REDACTED);
    // As a bearer or basic header carries it.
    const space = value.indexOf(' ');
    const bare = space > 0 ? value.slice(space + 1) : '';
    if (bare.length >= MIN_SECRET_LENGTH && out.includes(bare)) out = out.split(bare).join(REDACTED);
  }
  return out;
}

/**
 * What a caller without admin rights sees of an upstream's error: its first line, capped, secrets replaced (an
 * error body is the upstream's to write and may carry anything; admins get the whole redacted text).
 */
export function summariseForCaller(
  server: McpServerRecord,
  text: string,
  admin: boolean,
  passed: readonly string[] = [],
): string {
  const safe = redactSecrets(server, text, passed);
  if (admin) return safe;
  const first = safe.split('\n')[0];
  return first.length > 200 ? `${first.slice(0, 200)}...` : first;
}
