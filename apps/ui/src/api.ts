/** The gateway's REST API, called with the session cookie (same origin); writes carry the CSRF token. */

export interface Me {
  kind: 'master_key' | 'virtual_key';
  role: 'proxy_admin' | 'proxy_admin_viewer' | 'internal_user';
  key_name: string | null;
  key_alias: string | null;
  team_id: string | null;
  user_id: string | null;
  can_write: boolean;
  can_read_admin: boolean;
  csrf_token: string | null;
  expires_at: string | null;
}

/** An error the API answered, in its own words (`{"error": {message, code, param, details}}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null,
    /** Field name → what is wrong with it (`details.fields` of a VALIDATION_FAILED). */
    readonly problems: Record<string, string>,
    /** The error's `details`, as the API sent them. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** What is wrong with this form field, or null when the error is not about it. */
  about(field: string): string | null {
    for (const [name, problem] of Object.entries(this.problems)) if (bare(name) === field) return problem;
    return this.param !== null && bare(this.param) === field ? this.message : null;
  }
}

const bare = (name: string) => name.replace(/^body\./, '').split(/[.[]/)[0];

let csrfToken: string | null = null;
const SIGNED_OUT = new Set(['UNAUTHORIZED', 'KEY_EXPIRED']);
let onSignedOut: () => void = () => undefined;

export function setSession(me: Me | null): void {
  csrfToken = me?.csrf_token ?? null;
}

/** Called when the API says the session is gone (expired, key blocked or deleted). */
export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

interface ErrorBody {
  error?: {
    message?: string;
    code?: string;
    param?: string | null;
    details?: { fields?: unknown } & Record<string, unknown>;
  };
}

export async function api<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, 'NETWORK', `the gateway cannot be reached (${String(error)})`, null, {});
  }
  const parsed = parseJson(await response.text());
  if (!response.ok) {
    const error = (parsed as ErrorBody | null)?.error;
    const problems: Record<string, string> = {};
    if (Array.isArray(error?.details?.fields)) {
      for (const entry of error.details.fields as { field?: unknown; problems?: unknown }[]) {
        if (typeof entry?.field !== 'string') continue;
        problems[entry.field] = Array.isArray(entry.problems) ? entry.problems.join(', ') : 'invalid';
      }
    }
    const failure = new ApiError(
      response.status,
      error?.code ?? `HTTP_${response.status}`,
      error?.message ?? `${method} ${path} failed with HTTP ${response.status}`,
      error?.param ?? null,
      problems,
      error?.details ?? {},
    );
    // The key itself was refused (expired, deleted, regenerated): back to sign-in. Another 401 (an upstream that
    // wants the user to sign in there, UPSTREAM_SIGN_IN_REQUIRED) is the page's to show.
    if (SIGNED_OUT.has(failure.code) && path !== '/ui/session') onSignedOut();
    throw failure;
  }
  return parsed as T;
}

function parseJson(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : null;
  } catch {
    return null;
  }
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

// What the pages read from the API.

export interface McpServer {
  server_id: string;
  server_name: string;
  alias: string | null;
  description: string | null;
  url?: string | null;
  transport: 'http' | 'sse' | 'stdio';
  command?: string | null;
  args?: string[];
  auth_type: string | null;
  has_credentials: boolean;
  allowed_tools: string[] | null;
  mcp_access_groups: string[];
  allow_all_keys: boolean;
  timeout_ms: number | null;
  source: 'config' | 'db';
  status: string;
  last_health_check: string | null;
  health_check_error?: string | null;
}

export interface HealthResult {
  server_id: string;
  status: string;
  latency_ms?: number;
  error?: string;
}

export interface ObjectPermission {
  mcp_servers: string[] | null;
  mcp_access_groups: string[] | null;
  mcp_tool_permissions?: Record<string, string[]> | null;
}

export interface VirtualKey {
  key_id: string;
  token: string;
  key_name: string;
  key_alias: string | null;
  team_id: string | null;
  role: string;
  object_permission: ObjectPermission;
  expires: string | null;
  blocked: boolean;
  last_used_at: string | null;
  created_at: string;
}

export interface Team {
  team_id: string;
  team_alias: string | null;
  blocked: boolean;
  object_permission: ObjectPermission;
  created_at: string;
}

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  items?: JsonSchema;
}

export interface Tool {
  name: string;
  description?: string;
  inputSchema?: JsonSchema;
  mcp_info?: { server_name?: string; server_id?: string; alias?: string };
}
