import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ChangeBus } from '@app/database';
import { ConfigError, GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { parseConfigServers } from './config-servers.js';
import type { McpServerEntity } from './mcp-server.entity.js';
import { McpServerRepository } from './mcp-server.repository.js';
import { SecretKeyMissingError } from './mcp-server.errors.js';
import {
  DEFAULT_STDIO_COMMANDS,
  EMPTY_SECRETS,
  hasSecrets,
  type RegistryPolicy,
  splitUserinfo,
} from './mcp-server.rules.js';
import type { McpServerRecord, McpServerSecrets } from './mcp-server.types.js';
import { SecretCipher, SecretDecryptionError } from '@app/core';

/** An immutable view of every upstream server (config ∪ database), swapped whole after each change. */
export interface RegistrySnapshot {
  readonly version: number;
  readonly servers: readonly McpServerRecord[];
  readonly byId: ReadonlyMap<string, McpServerRecord>;
  /** Server name and alias, lower-cased, to the server. */
  readonly byName: ReadonlyMap<string, McpServerRecord>;
}

export type RegistryListener = (snapshot: RegistrySnapshot) => void;

function buildSnapshot(version: number, servers: McpServerRecord[]): RegistrySnapshot {
  const byName = new Map<string, McpServerRecord>();
  for (const s of servers) {
    byName.set(s.serverName.toLowerCase(), s);
    byName.set(s.alias.toLowerCase(), s);
  }
  return { version, servers, byId: new Map(servers.map((s) => [s.serverId, s])), byName };
}

/**
 * Holds the registry snapshot that every other module reads (never a database query per MCP request), rebuilds
 * it at boot and after every write, and tells subscribers. Also owns the cipher for stored secrets.
 */
@Injectable()
export class McpRegistry implements OnModuleInit {
  private readonly logger = new Logger(McpRegistry.name);
  private readonly listeners = new Set<RegistryListener>();
  private configServers: McpServerRecord[] = [];
  private snapshot: RegistrySnapshot = buildSnapshot(0, []);
  /** Servers whose stored URL still holds userinfo in plain text (written before issue 15, item 11). */
  readonly plainUserinfo = new Set<string>();
  readonly policy: RegistryPolicy;
  readonly cipher: SecretCipher | null;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly repository: McpServerRepository,
    private readonly bus: ChangeBus,
  ) {
    this.policy = {
      stdioCommands: new Set([...DEFAULT_STDIO_COMMANDS, ...config.mcp.stdioExtraCommands]),
      urlAllowlist: config.mcp.urlAllowlist,
      blockPrivateUrls: config.mcp.blockPrivateUrls,
      allowStdioFromApi: config.mcp.allowStdioFromApi,
    };
    const key = config.auth.saltKey ?? config.auth.masterKey;
    this.cipher = key ? new SecretCipher(key) : null;
  }

  async onModuleInit(): Promise<void> {
    const fileName = this.config.configPath ? this.config.configPath.split('/').pop() : 'config.yaml';
    const parsed = parseConfigServers(this.config.mcpServers, this.policy, fileName);
    if (parsed.problems.length) throw new ConfigError(parsed.problems);
    this.configServers = parsed.servers;
    await this.reload();
    // Servers written by another replica (or anything missed while the bus was deaf): read them again.
    this.bus.subscribe(async (event) => {
      if (event.topic === 'servers' || event.topic === 'resync') await this.reload();
    });
    const { servers } = this.snapshot;
    this.logger.log(
      `registry: ${servers.length} MCP servers (${this.configServers.length} from the config file)`,
    );
    this.warnAboutPolicy(servers);
  }

  /** The exemptions and dangerous settings an operator should see once at boot. */
  private warnAboutPolicy(servers: readonly McpServerRecord[]): void {
    if (this.policy.blockPrivateUrls) {
      for (const s of servers.filter((one) => one.allowPrivateUrl))
        this.logger.warn(
          `server ${s.serverName} (config file) has allow_private_url: true: it is dialed even at private addresses, MCP_BLOCK_PRIVATE_URLS notwithstanding`,
        );
    }
    if (this.policy.allowStdioFromApi)
      this.logger.warn(
        'general_settings.allow_stdio_from_api is on: the master key can register stdio servers, which run commands on this host',
      );
    else {
      const stored = servers.filter((s) => s.source === 'db' && s.transport === 'stdio');
      if (stored.length)
        this.logger.warn(
          `stdio servers stored in the database are not started while general_settings.allow_stdio_from_api is off: ${stored.map((s) => s.serverName).join(', ')} (move them to the config file)`,
        );
    }
  }

  current(): RegistrySnapshot {
    return this.snapshot;
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Rebuilds the snapshot from the config servers and the database, then notifies subscribers. */
  async reload(): Promise<RegistrySnapshot> {
    const rows = await this.repository.listAll();
    const configNames = new Set(
      this.configServers.flatMap((s) => [s.serverName.toLowerCase(), s.alias.toLowerCase()]),
    );
    const dbServers = rows
      .map((row) => this.fromEntity(row))
      .filter((s) => {
        // A DB server shadowed by a config server added later: the config file wins, loudly.
        const clash = configNames.has(s.serverName.toLowerCase()) || configNames.has(s.alias.toLowerCase());
        if (clash)
          this.logger.warn(
            `database server ${s.serverName} is hidden: its name or alias is taken by the config file`,
          );
        return !clash;
      });
    this.snapshot = buildSnapshot(this.snapshot.version + 1, [...this.configServers, ...dbServers]);
    for (const listener of this.listeners) {
      try {
        listener(this.snapshot);
      } catch (error) {
        this.logger.error({ msg: 'registry listener failed', err: error });
      }
    }
    return this.snapshot;
  }

  /** Looks a server up by id, name or alias (names case-insensitively). */
  find(idOrName: string): McpServerRecord | undefined {
    return this.snapshot.byId.get(idOrName) ?? this.snapshot.byName.get(idOrName.toLowerCase());
  }

  /** The `credentials` column for these secrets; refuses (rather than drops) them when there is no key. */
  encryptSecrets(secrets: McpServerSecrets): string | null {
    if (!hasSecrets(secrets)) return null;
    if (!this.cipher) throw new SecretKeyMissingError();
    return this.cipher.encrypt(JSON.stringify(secrets));
  }

  private fromEntity(row: McpServerEntity): McpServerRecord {
    // A row written before userinfo moved into the credentials: moved here, and rewritten at boot.
    const legacy = splitUserinfo(row.url);
    const secrets = this.decryptSecrets(row);
    if (legacy.userinfo) {
      secrets.urlUserinfo ??= legacy.userinfo;
      this.plainUserinfo.add(row.serverId);
    } else this.plainUserinfo.delete(row.serverId);
    return {
      serverId: row.serverId,
      serverName: row.serverName,
      alias: row.alias,
      description: row.description,
      transport: row.transport,
      url: legacy.url,
      command: row.command,
      args: row.args,
      authType: row.authType,
      extraHeaders: row.extraHeaders,
      allowedTools: row.allowedTools,
      disallowedTools: row.disallowedTools,
      mcpAccessGroups: row.mcpAccessGroups,
      allowAllKeys: row.allowAllKeys,
      timeoutMs: row.timeoutMs,
      sessionMode: row.sessionMode,
      protocolVersion: row.protocolVersion,
      mcpInfo: row.mcpInfo,
      specVersion: row.specVersion,
      maxConcurrentRequests: row.maxConcurrentRequests,
      rpm: row.rpm,
      allowSampling: row.allowSampling,
      allowElicitation: row.allowElicitation,
      allowedParams: row.allowedParams,
      oauth2: row.oauth2,
      secrets,
      source: 'db',
      allowPrivateUrl: false,
      createdAt: row.createdAt,
      createdBy: row.createdBy,
      updatedAt: row.updatedAt,
      updatedBy: row.updatedBy,
    };
  }

  private decryptSecrets(row: McpServerEntity): McpServerSecrets {
    const empty: McpServerSecrets = { ...EMPTY_SECRETS };
    if (!row.credentials) return empty;
    try {
      if (!this.cipher) throw new SecretDecryptionError();
      return { ...empty, ...(JSON.parse(this.cipher.decrypt(row.credentials)) as Partial<McpServerSecrets>) };
    } catch (error) {
      const reason =
        error instanceof SecretDecryptionError ? error.message : 'stored credentials are corrupt';
      this.logger.error(
        `server ${row.serverName}: ${reason}; it will be called without them until they are set again`,
      );
      return empty;
    }
  }
}
