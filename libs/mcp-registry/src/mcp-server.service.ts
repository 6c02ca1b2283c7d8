import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ChangeBus } from '@app/database';
import { McpRegistry } from './mcp-registry.js';
import type { McpServerEntity } from './mcp-server.entity.js';
import {
  McpServerConflictError,
  McpServerInvalidError,
  McpServerNotFoundError,
  McpServerReadOnlyError,
  McpUrlBlockedError,
  SecretKeyMissingError,
  StdioNotAllowedError,
} from './mcp-server.errors.js';
import { isUniqueViolation, McpServerRepository } from './mcp-server.repository.js';
import { applyServerInput, checkServerRecord, evalArgumentProblem, hasSecrets } from './mcp-server.rules.js';
import type { McpServerInput, McpServerRecord } from './mcp-server.types.js';
import { fromLiteLlmShapes, type LiteLlmServerFields } from './litellm-shapes.js';
import { checkUrlNotPrivate, HostResolution } from './url-safety.js';

/** A body in this gateway's fields, LiteLLM's names turned into them; refuses what they leave ambiguous. */
function ourShape(raw: McpServerInput & LiteLlmServerFields): McpServerInput {
  const { input, problems } = fromLiteLlmShapes(raw);
  if (problems.length) throw new McpServerInvalidError(problems);
  return input;
}

/** Who writes through the admin API: `actor` is recorded, `masterKey` decides what only the master key may do. */
export interface ServerWriter {
  actor: string;
  masterKey: boolean;
}

/** Writes to the registry (DB-defined servers only), validated with the same rules as config servers. */
@Injectable()
export class McpServerService implements OnApplicationBootstrap {
  private readonly logger = new Logger(McpServerService.name);

  constructor(
    private readonly registry: McpRegistry,
    private readonly repository: McpServerRepository,
    private readonly hosts: HostResolution,
    private readonly bus: ChangeBus,
  ) {}

  /**
   * Rows written before URL userinfo moved into the encrypted credentials are rewritten once, so that no
   * password stays in the `url` column (issue 15, item 11).
   */
  async onApplicationBootstrap(): Promise<void> {
    const ids = [...this.registry.plainUserinfo];
    if (!ids.length) return;
    if (!this.registry.cipher) {
      this.logger.warn(
        `${ids.length} stored server URL(s) hold credentials in plain text and cannot be encrypted: set SALT_KEY or a master key`,
      );
      return;
    }
    for (const id of ids) {
      const record = this.registry.current().byId.get(id);
      if (!record) continue;
      await this.repository.replace(
        this.toEntity(record, { createdBy: record.createdBy, updatedBy: record.updatedBy ?? 'system' }),
      );
      this.logger.log({
        msg: 'moved URL credentials into the encrypted credentials',
        server: record.serverName,
      });
    }
    await this.registry.reload();
    void this.bus.publish('servers');
  }

  list(): readonly McpServerRecord[] {
    return this.registry.current().servers;
  }

  get(idOrName: string): McpServerRecord {
    const server = this.registry.find(idOrName);
    if (!server) throw new McpServerNotFoundError(idOrName);
    return server;
  }

  accessGroups(): string[] {
    return [...new Set(this.list().flatMap((s) => s.mcpAccessGroups))].sort();
  }

  async create(
    raw: McpServerInput & LiteLlmServerFields & { server_id?: string },
    writer: ServerWriter,
  ): Promise<McpServerRecord> {
    const { actor } = writer;
    const input = ourShape(raw);
    const serverId = raw.server_id ?? randomUUID();
    const existing = this.registry.current().byId.get(serverId);
    if (existing) throw new McpServerConflictError('server_id', serverId, existing.serverName);
    const record = applyServerInput(input, null, { serverId, source: 'db' });
    await this.validate(record, writer);
    try {
      await this.repository.insert(this.toEntity(record, { createdBy: actor, updatedBy: actor }));
    } catch (error) {
      throw this.translateWriteError(error, record);
    }
    this.logger.log({
      msg: 'MCP server created',
      server_id: serverId,
      server_name: record.serverName,
      by: actor,
    });
    return this.reloadAndGet(serverId);
  }

  async update(
    raw: McpServerInput & LiteLlmServerFields & { server_id: string },
    writer: ServerWriter,
  ): Promise<McpServerRecord> {
    const { actor } = writer;
    const existing = this.writable(raw.server_id);
    // An update that names no server_name keeps it (the alias is not a rename).
    const input = ourShape({ ...raw, server_name: raw.server_name ?? existing.serverName });
    const record = applyServerInput(input, existing, { serverId: existing.serverId, source: 'db' });
    await this.validate(record, writer);
    let stored: McpServerEntity | null;
    try {
      stored = await this.repository.replace(
        this.toEntity(record, { createdBy: existing.createdBy, updatedBy: actor }),
      );
    } catch (error) {
      throw this.translateWriteError(error, record);
    }
    if (!stored) throw new McpServerNotFoundError(raw.server_id);
    this.logger.log({
      msg: 'MCP server updated',
      server_id: record.serverId,
      server_name: record.serverName,
      by: actor,
    });
    return this.reloadAndGet(record.serverId);
  }

  async remove(idOrName: string, actor: string): Promise<McpServerRecord> {
    const existing = this.writable(idOrName);
    if (!(await this.repository.deleteById(existing.serverId))) throw new McpServerNotFoundError(idOrName);
    this.logger.log({
      msg: 'MCP server deleted',
      server_id: existing.serverId,
      server_name: existing.serverName,
      by: actor,
    });
    await this.registry.reload();
    void this.bus.publish('servers');
    return existing;
  }

  /** Validates a definition that is not saved (`POST /v1/mcp/server/test`). */
  async draft(raw: McpServerInput & LiteLlmServerFields, writer: ServerWriter): Promise<McpServerRecord> {
    const record = applyServerInput({ server_name: 'draft', ...ourShape(raw) }, null, {
      serverId: randomUUID(),
      source: 'db',
    });
    await this.validate(record, writer, { skipUniqueness: true });
    return record;
  }

  private writable(idOrName: string): McpServerRecord {
    const existing = this.get(idOrName);
    if (existing.source === 'config') throw new McpServerReadOnlyError(existing.serverName);
    return existing;
  }

  private async validate(
    record: McpServerRecord,
    writer: ServerWriter,
    options: { skipUniqueness?: boolean } = {},
  ): Promise<void> {
    if (record.transport === 'stdio') this.checkStdioWriter(writer);
    const problems = checkServerRecord(record, this.registry.policy);
    if (problems.length) throw new McpServerInvalidError(problems);
    const inline = record.transport === 'stdio' ? evalArgumentProblem(record.args) : null;
    if (inline) throw new McpServerInvalidError([{ param: 'args', message: inline }]);
    if (this.registry.policy.blockPrivateUrls && record.url) {
      const blocked = await checkUrlNotPrivate(record.url, this.hosts.resolve);
      if (blocked) throw new McpUrlBlockedError(blocked);
    }
    const tokenUrl = record.oauth2?.tokenUrl;
    if (this.registry.policy.blockPrivateUrls && tokenUrl) {
      const blocked = await checkUrlNotPrivate(tokenUrl, this.hosts.resolve);
      if (blocked) throw new McpUrlBlockedError(blocked.replace(/^url /, 'token_url '), 'token_url');
    }
    if (!options.skipUniqueness) this.checkUnique(record);
    if (hasSecrets(record.secrets) && !this.registry.cipher) throw new SecretKeyMissingError();
  }

  /**
   * A stdio server runs a command on the gateway's host: through the API only when the operator turned
   * general_settings.allow_stdio_from_api on, only with the master key, and never with code given inline.
   */
  private checkStdioWriter(writer: ServerWriter): void {
    if (!this.registry.policy.allowStdioFromApi)
      throw new StdioNotAllowedError(
        'stdio servers run a command on the gateway host and are defined in the config file (mcp_servers); the admin API may register them only when general_settings.allow_stdio_from_api is true',
      );
    if (!writer.masterKey)
      throw new StdioNotAllowedError(
        'only the master key may register or change a stdio server (general_settings.allow_stdio_from_api); a proxy_admin key may not',
      );
  }

  /** Names and aliases share one namespace (a lookup by either must be unambiguous), case-insensitively. */
  private checkUnique(record: McpServerRecord): void {
    for (const [field, value] of [
      ['server_name', record.serverName],
      ['alias', record.alias],
    ] as const) {
      const other = this.registry.find(value);
      if (other && other.serverId !== record.serverId)
        throw new McpServerConflictError(field, value, other.serverName);
    }
  }

  private translateWriteError(error: unknown, record: McpServerRecord): unknown {
    if (!isUniqueViolation(error)) return error;
    // Another replica or request won a race the snapshot could not see.
    return new McpServerConflictError(
      'server_name',
      record.serverName,
      'another server saved at the same moment',
    );
  }

  private async reloadAndGet(serverId: string): Promise<McpServerRecord> {
    const snapshot = await this.registry.reload();
    void this.bus.publish('servers');
    const server = snapshot.byId.get(serverId);
    if (!server) throw new McpServerNotFoundError(serverId);
    return server;
  }

  private toEntity(
    record: McpServerRecord,
    audit: { createdBy: string | null; updatedBy: string | null },
  ): Omit<McpServerEntity, 'createdAt' | 'updatedAt'> {
    return {
      serverId: record.serverId,
      serverName: record.serverName,
      alias: record.alias,
      description: record.description,
      url: record.url,
      transport: record.transport,
      command: record.command,
      args: record.args,
      authType: record.authType,
      credentials: this.registry.encryptSecrets(record.secrets),
      extraHeaders: record.extraHeaders,
      allowedTools: record.allowedTools,
      disallowedTools: record.disallowedTools,
      mcpAccessGroups: record.mcpAccessGroups,
      allowAllKeys: record.allowAllKeys,
      timeoutMs: record.timeoutMs,
      sessionMode: record.sessionMode,
      protocolVersion: record.protocolVersion,
      mcpInfo: record.mcpInfo,
      specVersion: record.specVersion,
      maxConcurrentRequests: record.maxConcurrentRequests,
      rpm: record.rpm,
      allowSampling: record.allowSampling,
      allowElicitation: record.allowElicitation,
      allowedParams: record.allowedParams,
      oauth2: record.oauth2,
      createdBy: audit.createdBy,
      updatedBy: audit.updatedBy,
    };
  }
}
