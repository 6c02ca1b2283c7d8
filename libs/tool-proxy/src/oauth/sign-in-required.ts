import type { McpServerRecord } from '@app/mcp-registry';

/**
 * The caller has not signed in at the upstream's authorization server yet (or their sign-in lapsed, or the
 * upstream wants more scope): `url` is where they do it, in a browser. MCP callers get it as a URL elicitation
 * (-32042), REST callers in the error (401 UPSTREAM_SIGN_IN_REQUIRED).
 */
export class SignInRequiredError extends Error {
  constructor(
    readonly server: McpServerRecord,
    readonly url: string,
    readonly elicitationId: string,
  ) {
    super(
      `MCP server ${server.serverName} needs you to sign in at its authorization server: open the authorization URL in a browser, then call again`,
    );
    this.name = 'SignInRequiredError';
  }
}

/** The sign-in an error asks for, wherever it was wrapped (a transport or connect failure carries it as a cause). */
export function signInRequired(error: unknown): SignInRequiredError | null {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++)
    if (e instanceof SignInRequiredError) return e;
  return null;
}
