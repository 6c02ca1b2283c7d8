import { Logger } from '@nestjs/common';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  type ClientCapabilities,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { McpServerRecord } from '@app/mcp-registry';
import { NodeStreamableHttpClientTransport } from './http-client-transport.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { createUpstreamTransport, logStderr, newUpstreamClient } from './upstream-client.js';
import { redactSecrets } from './secret-redactor.js';
import { signInRequired } from '../oauth/sign-in-required.js';
import { describeError, UpstreamUnavailableError } from './upstream-errors.js';
import { descendantsOf, killSurvivors } from './process-tree.js';

export type ListKind = 'tools' | 'resources' | 'prompts';

export interface ConnectionHooks {
  /** Capabilities to declare upstream (a per-client connection declares its client's). */
  capabilities?: ClientCapabilities;
  /** Registers request and notification handlers on each new client, before it connects. */
  configure?(client: Client): void;
  /** The upstream said one of its lists changed (`notifications/*\/list_changed`). */
  onListChanged?(kind: ListKind): void;
  /** A live connection dropped (process exit, socket closed); the next use reconnects. */
  onDisconnected?(): void;
  /** A connection was established: `again` is false the first time, true after a drop. */
  onConnected?(again: boolean): void;
  /** An attempt to connect failed (it backs off before the next). */
  onConnectFailed?(): void;
}

const BACKOFF_BASE_MS = 250;
/** How long closing waits for an HTTP upstream to acknowledge the end of its session. */
const TERMINATE_WAIT_MS = 1000;
/**
 * A stdio process that dies this many times within CRASH_WINDOW_MS is left alone for CRASH_PAUSE_MS. Only
 * stdio: an HTTP upstream that restarts (a deploy) is reconnected with the connect backoff alone.
 */
const CRASH_LIMIT = 5;
const CRASH_WINDOW_MS = 60_000;
const CRASH_PAUSE_MS = 30_000;
const BACKOFF_MAX_MS = 30_000;

/** Connecting longer than this is a failure; a server's shorter timeout_ms bounds it further. */
export const CONNECT_TIMEOUT_MS = 15_000;

/**
 * One persistent MCP client session to one upstream server, opened on first use and reopened on the next use
 * after it drops, with exponential backoff (and jitter) between failed attempts so that a dead upstream is not
 * hammered and callers fail fast in the meantime.
 */
export class UpstreamConnection {
  private readonly logger = new Logger('Upstream');
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  private failures = 0;
  private retryAt = 0;
  private lastError = '';
  private closed = false;
  private readonly drops: number[] = [];
  private stdio: StdioClientTransport | null = null;
  /** Times a session was opened (tests prove reuse with it). */
  connects = 0;

  constructor(
    readonly server: McpServerRecord,
    private readonly headers: Record<string, string> = {},
    private readonly hooks: ConnectionHooks = {},
    /** Makes the transport (the UpstreamDialer: dial-time policy); unchecked by default, for tests. */
    private readonly dial: (server: McpServerRecord, headers: Record<string, string>) => Transport = (s, h) =>
      createUpstreamTransport(s, h),
  ) {}

  get connected(): boolean {
    return this.client !== null;
  }

  /** The upstream's `instructions`, once connected. */
  get instructions(): string | undefined {
    return this.client?.getInstructions();
  }

  /** The connected client, when there is one that can take a request now (no await: the hot path). */
  live(): Client | null {
    const client = this.client;
    if (!client || this.closed) return null;
    const transport = client.transport;
    return transport instanceof NodeStreamableHttpClientTransport && transport.sessionLost ? null : client;
  }

  async get(): Promise<Client> {
    if (this.closed) throw new UpstreamUnavailableError(`connection to ${this.server.serverName} was closed`);
    if (this.client) {
      // An HTTP upstream that said it no longer knows the session: a new one now (the old transport closes
      // itself once its requests on the wire have their answers).
      const transport = this.client.transport;
      if (!(transport instanceof NodeStreamableHttpClientTransport && transport.sessionLost))
        return this.client;
      this.dropped(this.client);
    }
    if (!this.connecting) {
      const wait = this.retryAt - Date.now();
      if (wait > 0) {
        throw new UpstreamUnavailableError(
          `MCP server ${this.server.serverName} is unavailable (${this.lastError}); next attempt in ${Math.ceil(wait / 1000)} s`,
        );
      }
      this.connecting = this.open().finally(() => (this.connecting = null));
    }
    return this.connecting;
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    // The whole process tree of a stdio server goes (a launcher such as npx may leave its child behind).
    const pid = this.stdio?.pid ?? null;
    const tree = pid === null ? [] : descendantsOf(pid);
    // An HTTP upstream session is ended on the server too (DELETE), rather than left to its idle timeout.
    const transport = client?.transport;
    if (transport instanceof NodeStreamableHttpClientTransport)
      await Promise.race([
        transport.terminateSession().catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, TERMINATE_WAIT_MS).unref()),
      ]);
    await client?.close().catch(() => undefined);
    if (tree.length && killSurvivors(tree))
      this.logger.warn({
        msg: 'killed processes left behind by a stdio server',
        server: this.server.serverName,
      });
  }

  /** The client's session ended (process exit, socket closed, session lost): the next use reconnects. */
  private dropped(client: Client): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.closed) return;
    const now = Date.now();
    if (this.server.transport === 'stdio') this.drops.push(now);
    while (this.drops.length && this.drops[0] < now - CRASH_WINDOW_MS) this.drops.shift();
    if (this.drops.length >= CRASH_LIMIT) {
      // A crash loop: stop restarting it for a while, and say so to callers.
      this.retryAt = now + CRASH_PAUSE_MS;
      this.lastError = `it stopped ${this.drops.length} times within ${CRASH_WINDOW_MS / 1000} s`;
      this.drops.length = 0;
      this.logger.error({
        msg: 'upstream crash loop; pausing restarts',
        server: this.server.serverName,
        pause_ms: CRASH_PAUSE_MS,
      });
    } else {
      this.logger.warn({
        msg: 'upstream connection lost; reconnecting on next use',
        server: this.server.serverName,
      });
    }
    this.hooks.onDisconnected?.();
  }

  private async open(): Promise<Client> {
    const client = newUpstreamClient(this.hooks.capabilities);
    const { serverName } = this.server;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () =>
      this.hooks.onListChanged?.('tools'),
    );
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () =>
      this.hooks.onListChanged?.('resources'),
    );
    client.setNotificationHandler(PromptListChangedNotificationSchema, () =>
      this.hooks.onListChanged?.('prompts'),
    );
    this.hooks.configure?.(client);
    let transport: Transport;
    try {
      transport = this.dial(this.server, this.headers);
    } catch (error) {
      throw this.connectFailed(error);
    }
    this.stdio = transport instanceof StdioClientTransport ? transport : null;
    if (transport instanceof StdioClientTransport) {
      // Read stderr (an unread pipe would eventually block the process) and log it, line by line.
      logStderr(this.logger, this.server, transport.stderr, Object.values(this.headers));
    }
    client.onclose = () => this.dropped(client);
    try {
      const timeout = Math.min(CONNECT_TIMEOUT_MS, this.server.timeoutMs ?? CONNECT_TIMEOUT_MS);
      await client.connect(transport, { timeout });
    } catch (error) {
      await client.close().catch(() => undefined);
      throw this.connectFailed(error);
    }
    if (this.closed) {
      await client.close().catch(() => undefined);
      throw new UpstreamUnavailableError(`connection to ${serverName} was closed`);
    }
    this.failures = 0;
    this.connects++;
    this.client = client;
    this.hooks.onConnected?.(this.connects > 1);
    return client;
  }

  /**
   * A failed connect: back off before the next attempt, log it, and say why to the caller. A caller who must
   * sign in first (oauth2 authorization_code) is told so as it is, without backoff: the upstream is fine.
   */
  private connectFailed(error: unknown): Error {
    const signIn = signInRequired(error);
    if (signIn) return signIn;
    this.failures++;
    const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (this.failures - 1));
    this.retryAt = Date.now() + backoff * (0.5 + Math.random() / 2);
    this.lastError = redactSecrets(this.server, describeError(error), Object.values(this.headers));
    this.hooks.onConnectFailed?.();
    this.logger.warn({
      msg: 'upstream connect failed',
      server: this.server.serverName,
      error: this.lastError,
      attempt: this.failures,
    });
    return new UpstreamUnavailableError(
      `MCP server ${this.server.serverName} is unavailable: ${this.lastError}`,
    );
  }
}
