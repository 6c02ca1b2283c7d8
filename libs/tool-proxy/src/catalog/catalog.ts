import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { GatewayMetrics } from '@app/observability';
import {
  ErrorCode,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type ListToolsResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { McpServerRecord } from '@app/mcp-registry';
import type { ListKind } from '../upstream/upstream-connection.js';
import { redactSecrets } from '../upstream/secret-redactor.js';
import { describeError, isMcpError } from '../upstream/upstream-errors.js';
import { UpstreamPool } from '../upstream/upstream-pool.js';
import { type ModernClient, ModernUpstreams, type SignedIn } from '../upstream/modern-upstreams.js';

/** Longest a list may take, whatever the server's call timeout. */
export const LIST_TIMEOUT_MS = 30_000;
const MAX_PAGES = 100;

export interface ServerCatalog {
  tools: Tool[];
  resources: Resource[];
  resourceTemplates: ResourceTemplate[];
  prompts: Prompt[];
  instructions: string | undefined;
  /** Listed over 2026-07-28: how long the server said its lists stay fresh (the shortest `ttlMs`), if it said. */
  ttlMs?: number;
}

/** Bounds on how long a 2026-07-28 server's lists are kept: not re-listed more than once a second, nor kept a day. */
const MIN_TTL_MS = 1000;
const MAX_TTL_MS = 24 * 3600_000;

export type CatalogListener = (serverId: string, kinds: readonly ListKind[]) => void;

/** A list method the upstream does not implement (despite its capability) is an empty list, not a failure. */
async function optional<T>(list: Promise<T[]>): Promise<T[]> {
  try {
    return await list;
  } catch (error) {
    if (isMcpError(error, ErrorCode.MethodNotFound)) return [];
    throw error;
  }
}

async function allPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string }>,
): Promise<T[]> {
  const items: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await fetchPage(cursor);
    items.push(...result.items);
    if (!result.nextCursor || seen.has(result.nextCursor)) break;
    seen.add(result.nextCursor);
    cursor = result.nextCursor;
  }
  return items;
}

/**
 * What each upstream offers (tools, resources, resource templates, prompts), listed once over the shared
 * connection and cached until the upstream says a list changed, reconnects, or its definition changes.
 * Failures are not cached: the next list tries again (the connection's backoff keeps that cheap).
 */
@Injectable()
export class McpCatalog implements OnModuleDestroy {
  private readonly logger = new Logger('Catalog');
  private readonly cache = new Map<string, Promise<ServerCatalog>>();
  /** The settled value of each cached entry, for synchronous readers (instructions at initialize). */
  private readonly settled = new Map<string, ServerCatalog>();
  private readonly listeners = new Set<CatalogListener>();
  /** Lists of 2026-07-28 servers past their ttlMs, until listed again (to tell whether they changed). */
  private readonly expired = new Map<string, ServerCatalog>();
  private readonly stop: () => void;

  constructor(
    private readonly pool: UpstreamPool,
    private readonly metrics: GatewayMetrics,
    private readonly modern: ModernUpstreams,
  ) {
    this.stop = pool.on((event) => {
      if (event.type === 'list_changed') this.invalidate(event.serverId, [event.kind]);
      else if (event.type === 'server_changed')
        this.invalidate(event.serverId, ['tools', 'resources', 'prompts']);
      else if (
        (event.type === 'reconnected' || event.type === 'disconnected') &&
        this.cache.has(event.serverId)
      ) {
        // A restarted upstream may offer something else now: the next list asks it again (and clients are
        // told to list again), rather than serving what the previous process offered.
        this.invalidate(event.serverId, ['tools', 'resources', 'prompts']);
      }
    });
  }

  onModuleDestroy(): void {
    this.stop();
  }

  /** Calls `listener(serverId, kinds)` whenever a server's lists may have changed. */
  subscribe(listener: CatalogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A 2026-07-28 server's lists stop being served after the `ttlMs` it gave (no list_changed comes without a
   * listen stream): the next use lists it again. Quietly: the listeners hear of it only if the lists changed.
   */
  private expireAfter(serverId: string, pending: Promise<ServerCatalog>, value: ServerCatalog): void {
    const ms = Math.min(MAX_TTL_MS, Math.max(MIN_TTL_MS, value.ttlMs ?? MAX_TTL_MS));
    const timer = setTimeout(() => {
      if (this.cache.get(serverId) !== pending) return;
      this.cache.delete(serverId);
      this.settled.delete(serverId);
      this.expired.set(serverId, value);
    }, ms);
    timer.unref();
  }

  invalidate(serverId: string, kinds: readonly ListKind[]): void {
    this.expired.delete(serverId);
    this.cache.delete(serverId);
    this.settled.delete(serverId);
    for (const listener of this.listeners) listener(serverId, kinds);
  }

  /** The server's catalog if it is cached and listed, without waiting. */
  peek(serverId: string): ServerCatalog | undefined {
    return this.settled.get(serverId);
  }

  /**
   * Lists the servers not cached yet, waiting at most `ms` (session setup uses it so that `initialize` can
   * carry the upstreams' instructions; a slow upstream is simply left out).
   */
  async warm(servers: readonly McpServerRecord[], ms: number): Promise<void> {
    const pending = servers
      .filter((s) => !this.settled.has(s.serverId))
      .map((s) => this.get(s).catch(() => null));
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(pending), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /**
   * The server's catalog, from cache or listed now (rejects with a safe message on failure). A server each user
   * signs in to is listed with the caller's own sign-in (`signedIn`), and its lists serve every caller after.
   */
  get(server: McpServerRecord, signedIn?: SignedIn): Promise<ServerCatalog> {
    let entry = this.cache.get(server.serverId);
    this.metrics.catalogLookup(entry !== undefined);
    if (!entry) {
      const pending = this.fetch(server, signedIn);
      entry = pending;
      this.cache.set(server.serverId, pending);
      const before = this.expired.get(server.serverId);
      this.expired.delete(server.serverId);
      pending.then(
        (value) => {
          if (this.cache.get(server.serverId) !== pending) return;
          this.settled.set(server.serverId, value);
          if (value.ttlMs !== undefined) this.expireAfter(server.serverId, pending, value);
          // Listed again after its ttlMs: clients are told only when something changed.
          if (before) {
            const changed = LIST_KINDS.filter((kind) => !sameList(before, value, kind));
            if (changed.length) for (const listener of this.listeners) listener(server.serverId, changed);
          }
        },
        () => {
          if (this.cache.get(server.serverId) === pending) this.cache.delete(server.serverId);
        },
      );
    }
    return entry;
  }

  private async fetch(server: McpServerRecord, signedIn?: SignedIn): Promise<ServerCatalog> {
    const started = performance.now();
    // Not signed in: the caller is told where to sign in, before any connection is tried.
    if (signedIn) await signedIn.credential.headers();
    // A server pinned to 2026-07-28 is listed over it (it may speak nothing else); others over 2025-11-25.
    const modern =
      server.protocolVersion === '2026-07-28' ? await this.modern.clientFor(server, {}, signedIn) : null;
    const ttls: number[] = [];
    const client: Lister = modern
      ? modernLister(modern, ttls)
      : await this.pool.sharedFor(server, {}, signedIn).get();
    // Lists have their own bound: a server's timeout_ms is for its calls (a short one must not hide its tools).
    const timeout = LIST_TIMEOUT_MS;
    const caps = client.getServerCapabilities() ?? {};
    try {
      const [tools, resources, resourceTemplates, prompts] = await Promise.all([
        caps.tools ? optional(listTools(client, timeout)) : [],
        caps.resources ? optional(listResources(client, timeout)) : [],
        caps.resources ? optional(listResourceTemplates(client, timeout)) : [],
        caps.prompts ? optional(listPrompts(client, timeout)) : [],
      ]);
      this.logger.debug({
        msg: 'catalog listed',
        server: server.serverName,
        tools: tools.length,
        resources: resources.length,
        prompts: prompts.length,
        duration_ms: Math.round(performance.now() - started),
      });
      return {
        tools,
        resources,
        resourceTemplates,
        prompts,
        instructions: client.getInstructions(),
        ...(ttls.length ? { ttlMs: Math.min(...ttls) } : {}),
      };
    } catch (error) {
      this.metrics.listFailure(server.serverName, 'list');
      const why = redactSecrets(server, describeError(error));
      throw new Error(`listing ${server.serverName} failed: ${why}`, { cause: error });
    }
  }
}

/** What listing a server needs of its client: SDK v1's for 2025-11-25, SDK v2's (modernLister) for 2026-07-28. */
type Lister = Pick<
  Client,
  | 'getServerCapabilities'
  | 'getInstructions'
  | 'listTools'
  | 'listResources'
  | 'listResourceTemplates'
  | 'listPrompts'
>;

/**
 * A 2026-07-28 client as a Lister: the same calls, past its own response cache (the catalog is the cache, and one
 * client serves every caller), results as SDK v1 types (the same JSON).
 */
function modernLister(client: ModernClient, ttls: number[]): Lister {
  const kept = <R extends object>(result: Promise<R>) =>
    result.then((r) => {
      const ttl = (r as { ttlMs?: unknown }).ttlMs;
      if (typeof ttl === 'number' && Number.isFinite(ttl)) ttls.push(ttl);
      return r;
    });
  const bypass = (options?: { timeout?: number }) => ({
    timeout: options?.timeout,
    cacheMode: 'bypass' as const,
  });
  return {
    getServerCapabilities: () => client.getServerCapabilities(),
    getInstructions: () => client.getInstructions(),
    listTools: (params, options) =>
      kept(client.listTools(params, bypass(options))) as Promise<ListToolsResult>,
    listResources: (params, options) => kept(client.listResources(params, bypass(options))),
    listResourceTemplates: (params, options) => kept(client.listResourceTemplates(params, bypass(options))),
    listPrompts: (params, options) => kept(client.listPrompts(params, bypass(options))),
  };
}

const LIST_KINDS: readonly ListKind[] = ['tools', 'resources', 'prompts'];

/** Whether two listings of a server offer the same `kind` (resources: with their templates). */
function sameList(a: ServerCatalog, b: ServerCatalog, kind: ListKind): boolean {
  const of = (c: ServerCatalog) =>
    JSON.stringify(kind === 'resources' ? [c.resources, c.resourceTemplates] : c[kind]);
  return of(a) === of(b);
}

const listTools = (client: Lister, timeout: number) =>
  allPages(async (cursor) => {
    const r = await client.listTools(cursor ? { cursor } : undefined, { timeout });
    return { items: r.tools, nextCursor: r.nextCursor };
  });
const listResources = (client: Lister, timeout: number) =>
  allPages(async (cursor) => {
    const r = await client.listResources(cursor ? { cursor } : undefined, { timeout });
    return { items: r.resources, nextCursor: r.nextCursor };
  });
const listResourceTemplates = (client: Lister, timeout: number) =>
  allPages(async (cursor) => {
    const r = await client.listResourceTemplates(cursor ? { cursor } : undefined, { timeout });
    return { items: r.resourceTemplates, nextCursor: r.nextCursor };
  });
const listPrompts = (client: Lister, timeout: number) =>
  allPages(async (cursor) => {
    const r = await client.listPrompts(cursor ? { cursor } : undefined, { timeout });
    return { items: r.prompts, nextCursor: r.nextCursor };
  });
