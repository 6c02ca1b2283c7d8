import { AppError } from '@app/core';
import type { Problem } from './mcp-server.rules.js';

export class McpServerNotFoundError extends AppError {
  constructor(id: string) {
    super(
      'MCP_SERVER_NOT_FOUND',
      `MCP server ${JSON.stringify(id)} not found (look up by server_id, server_name or alias)`,
      {
        param: 'server_id',
      },
    );
  }
}

export class McpServerConflictError extends AppError {
  constructor(field: 'server_name' | 'alias' | 'server_id', value: string, other: string) {
    super('MCP_SERVER_CONFLICT', `${field} ${JSON.stringify(value)} is already used by server ${other}`, {
      param: field,
    });
  }
}

export class McpServerReadOnlyError extends AppError {
  constructor(name: string) {
    super(
      'MCP_SERVER_READ_ONLY',
      `MCP server ${name} comes from the config file and is read-only through the API; change it in config.yaml`,
      { param: 'server_id' },
    );
  }
}

export class McpServerInvalidError extends AppError {
  constructor(problems: Problem[]) {
    super(
      'MCP_SERVER_INVALID',
      `invalid MCP server: ${problems.map((p) => `${p.param}: ${p.message}`).join('; ')}`,
      {
        param: problems[0]?.param ?? null,
        details: { fields: problems },
      },
    );
  }
}

export class McpUrlBlockedError extends AppError {
  constructor(message: string, param: 'url' | 'token_url' = 'url') {
    super('MCP_URL_BLOCKED', message, { param });
  }
}

export class SecretKeyMissingError extends AppError {
  constructor() {
    super(
      'SECRET_KEY_MISSING',
      'cannot store credentials (auth_value, static_headers, env, client_id, client_secret): no key to encrypt them; set SALT_KEY or a master key',
      { param: 'auth_value' },
    );
  }
}

/** A stdio server from the admin API: off by default, master key only when on (issue 15, item 3). */
export class StdioNotAllowedError extends AppError {
  constructor(message: string) {
    super('STDIO_NOT_ALLOWED', message, { param: 'command' });
  }
}
