import { Column, Entity, PrimaryColumn } from 'typeorm';
import { AuditedEntity } from '@app/database';

import type {
  McpAuthType,
  McpOAuth2Settings,
  McpTransport,
  ProtocolVersionSetting,
  SessionMode,
} from './mcp-server.types.js';

/** An upstream MCP server stored in the database (DESIGN.md §3). Persistence only: no behaviour here. */
@Entity({ name: 'mcp_server' })
export class McpServerEntity extends AuditedEntity {
  /** A UUID when the gateway picks it; any id a client (or a LiteLLM export) chose otherwise. */
  @PrimaryColumn({ type: 'text' })
  serverId: string;

  @Column({ type: 'text', unique: true })
  serverName: string;

  /** Tool prefix: tools are exposed as `{alias}-{tool}`. */
  @Column({ type: 'text', unique: true })
  alias: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ type: 'text', nullable: true })
  url: string | null;

  @Column({ type: 'text', default: 'http' })
  transport: McpTransport;

  @Column({ type: 'text', nullable: true })
  command: string | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  args: string[];

  @Column({ type: 'text', default: 'none' })
  authType: McpAuthType;

  /**
   * AES-256-GCM ciphertext of the server's secrets: auth_value, static header values and stdio env values
   * (all of which routinely hold tokens). Never returned, never logged.
   */
  @Column({ type: 'text', nullable: true })
  credentials: string | null;

  /** Names of client request headers forwarded to this upstream. */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  extraHeaders: string[];

  /** Null means every tool the upstream offers. */
  @Column({ type: 'text', array: true, nullable: true })
  allowedTools: string[] | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  disallowedTools: string[];

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  mcpAccessGroups: string[];

  @Column({ type: 'boolean', default: false })
  allowAllKeys: boolean;

  @Column({ type: 'integer', nullable: true })
  timeoutMs: number | null;

  /** `per_client` or `shared`; null: the transport's default. */
  @Column({ type: 'text', nullable: true })
  sessionMode: SessionMode | null;

  /** `auto`, `2025-11-25` or `2026-07-28`; null: auto. */
  @Column({ type: 'text', nullable: true })
  protocolVersion: ProtocolVersionSetting | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  mcpInfo: Record<string, unknown>;

  @Column({ type: 'text', nullable: true })
  specVersion: string | null;

  @Column({ type: 'integer', nullable: true })
  maxConcurrentRequests: number | null;

  @Column({ type: 'integer', nullable: true })
  rpm: number | null;

  @Column({ type: 'boolean', nullable: true })
  allowSampling: boolean | null;

  @Column({ type: 'boolean', nullable: true })
  allowElicitation: boolean | null;

  @Column({ type: 'jsonb', nullable: true })
  allowedParams: Record<string, string[]> | null;

  /** OAuth2 client credentials grant (token URL, scopes, auth method); the client id and secret are in `credentials`. */
  @Column({ type: 'jsonb', nullable: true })
  oauth2: McpOAuth2Settings | null;
}
