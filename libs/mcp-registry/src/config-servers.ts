import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { flattenValidationErrors } from '@app/config';
import { fromLiteLlmShapes } from './litellm-shapes.js';
import { McpServerFieldsDto } from './mcp-server.dto.js';
import {
  applyServerInput,
  checkServerRecord,
  configServerId,
  inferTransport,
  type RegistryPolicy,
} from './mcp-server.rules.js';
import { type McpServerRecord, SERVER_NAME_PATTERN, SERVER_NAME_RULE } from './mcp-server.types.js';

export interface ConfigServersResult {
  servers: McpServerRecord[];
  problems: string[];
}

/**
 * Turns the config file's `mcp_servers` mapping into server records, validated with the same rules as the
 * admin API. Every problem is reported as `<file>: mcp_servers.<name>.<field>: <what is wrong>`.
 */
export function parseConfigServers(
  raw: Record<string, unknown>,
  policy: RegistryPolicy,
  fileName = 'config.yaml',
): ConfigServersResult {
  const servers: McpServerRecord[] = [];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(raw)) {
    const where = `${fileName}: mcp_servers.${name}`;
    if (!SERVER_NAME_PATTERN.test(name)) {
      problems.push(`${where}: the server name must be ${SERVER_NAME_RULE}`);
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`${where}: expected a mapping (url, transport, command, ...)`);
      continue;
    }
    const { allow_private_url: allowPrivateUrl, ...rest } = value as Record<string, unknown>;
    if (allowPrivateUrl !== undefined && typeof allowPrivateUrl !== 'boolean') {
      problems.push(`${where}.allow_private_url: expected true or false`);
      continue;
    }
    const fields = rest;
    const dto = plainToInstance(McpServerFieldsDto, fields);
    const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length) {
      problems.push(...flattenValidationErrors(errors).map((line) => `${where}.${line}`));
      continue;
    }
    const shaped = fromLiteLlmShapes({ ...(fields as McpServerFieldsDto), server_name: name });
    if (shaped.problems.length) {
      problems.push(...shaped.problems.map((p) => `${where}.${p.param}: ${p.message}`));
      continue;
    }
    const input = shaped.input;
    const transport = inferTransport(input);
    const serverId = configServerId(name, transport, input.url ?? input.command ?? '');
    const record = {
      ...applyServerInput({ ...input, transport }, null, { serverId, source: 'config' }),
      allowPrivateUrl: allowPrivateUrl === true,
    };
    const recordProblems = checkServerRecord(record, policy);
    if (recordProblems.length) {
      problems.push(...recordProblems.map((p) => `${where}.${p.param}: ${p.message}`));
      continue;
    }
    const clash = servers.find((s) => s.alias === record.alias || s.serverName === record.alias);
    if (clash) {
      problems.push(`${where}.alias: alias ${record.alias} is already used by server ${clash.serverName}`);
      continue;
    }
    servers.push(record);
  }
  return { servers, problems };
}
