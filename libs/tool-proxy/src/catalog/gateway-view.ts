import { Inject, Injectable, Logger } from '@nestjs/common';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import type { Prompt, Resource, Tool } from '@modelcontextprotocol/sdk/types.js';
import { type AccessMap, accessFor, type AuthContext, toolAllowed } from '@app/auth';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { McpRegistry, type McpServerRecord } from '@app/mcp-registry';
import { McpCatalog } from './catalog.js';
import { signInRequired, UpstreamSignIns } from '../oauth/upstream-sign-ins.js';
import {
  exposedName,
  type NamedEntry,
  NameIndex,
  PREFIX_SEPARATOR,
  splitExposedName,
  uniqueExposedNames,
} from './naming.js';
import type {
  CallerScope,
  CatalogResult,
  ListError,
  Listing,
  ResolvedName,
  ResourceListing,
  ToolListing,
  ToolMemo,
  ToolMemoByNaming,
  VisibleServer,
} from './view.types.js';

import { NoMcpAccessError, ToolNotFoundError, UnknownMcpServerError } from '../tool-proxy.errors.js';

/**
 * The gateway as one caller sees it: which servers, which tools, resources and prompts under which names, and
 * where a name or URI routes to. Reads only the registry snapshot and the catalog cache (no database).
 */
@Injectable()
export class GatewayView {
  private readonly logger = new Logger('Gateway');
  /** Tool listings by access (per key and registry version), selection and naming; see tools(). */
  private readonly toolMemo = new WeakMap<AccessMap, Map<ReadonlySet<string> | null, ToolMemoByNaming>>();

  constructor(
    private readonly registry: McpRegistry,
    private readonly catalog: McpCatalog,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly signIns: UpstreamSignIns,
  ) {}

  visibleServers(scope: Pick<CallerScope, 'auth' | 'selection'>): VisibleServer[] {
    const snapshot = this.registry.current();
    const access = accessFor(scope.auth.subject, snapshot);
    const visible: VisibleServer[] = [];
    for (const server of snapshot.servers) {
      const filter = access.get(server.serverId);
      if (filter && (scope.selection === null || scope.selection.has(server.serverId)))
        visible.push({ server, filter });
    }
    return visible.sort((a, b) => a.server.alias.localeCompare(b.server.alias));
  }

  /**
   * The server ids a selection (names, aliases, ids or access groups, comma-separated) narrows to: 400 naming
   * the unknown entries and listing the caller's valid ones, 403 when it matches nothing the key may use.
   */
  select(auth: AuthContext, entries: readonly string[]): Set<string> {
    const visible = this.visibleServers({ auth, selection: null });
    const wanted = new Set<string>();
    const unknown: string[] = [];
    for (const raw of entries) {
      const entry = raw.trim();
      if (!entry) continue;
      const lower = entry.toLowerCase();
      const matches = visible.filter(
        ({ server: s }) =>
          s.serverId === entry ||
          s.serverName.toLowerCase() === lower ||
          s.alias.toLowerCase() === lower ||
          s.mcpAccessGroups.includes(entry),
      );
      if (matches.length === 0) unknown.push(entry);
      for (const m of matches) wanted.add(m.server.serverId);
    }
    if (unknown.length) {
      const valid = visible.map((v) => v.server.alias);
      const groups = [...new Set(visible.flatMap((v) => v.server.mcpAccessGroups))];
      throw new UnknownMcpServerError(
        `unknown or not permitted MCP server ${unknown.map((u) => JSON.stringify(u)).join(', ')}; this key may use: ${valid.join(', ') || 'none'}${groups.length ? ` (access groups: ${groups.join(', ')})` : ''}`,
        { param: 'x-mcp-servers', details: { valid_servers: valid, valid_access_groups: groups } },
      );
    }
    return wanted;
  }

  /** Refuses (403, saying why) a caller that would see no server at all. */
  assertSomethingVisible(scope: CallerScope): VisibleServer[] {
    const visible = this.visibleServers(scope);
    if (visible.length > 0) return visible;
    const { auth } = scope;
    let why: string;
    if (scope.selection !== null && scope.selection.size === 0) why = 'the selected servers matched nothing';
    else if (this.registry.current().servers.length === 0) why = 'no MCP server is registered yet';
    else if (auth.subject.team && !auth.subject.team.mcpServers && !auth.subject.team.mcpAccessGroups)
      why = `its team ${JSON.stringify(auth.teamId)} grants no MCP server (set the team's object_permission)`;
    else why = 'no MCP server is granted to it (set object_permission on the key or its team)';
    throw new NoMcpAccessError(why);
  }

  private async catalogs(scope: CallerScope) {
    const visible = this.visibleServers(scope);
    const results = await Promise.allSettled(
      visible.map((v) => this.catalog.get(v.server, this.signIns.signedIn(v.server, scope))),
    );
    const ok: CatalogResult[] = [];
    const errors: ListError[] = [];
    results.forEach((result, i) => {
      const { server } = visible[i];
      if (result.status === 'fulfilled') ok.push({ visible: visible[i], catalog: result.value });
      else {
        const message = result.reason instanceof Error ? result.reason.message : String(result.reason);
        const signIn = signInRequired(result.reason)?.url;
        errors.push({
          server_id: server.serverId,
          server_name: server.serverName,
          message,
          ...(signIn ? { authorization_url: signIn } : {}),
        });
        this.logger.warn({ msg: 'upstream skipped in a list', server: server.serverName, error: message });
      }
    });
    return { ok, errors };
  }

  private name(scope: CallerScope, alias: string, name: string): string {
    return scope.prefixed ? exposedName(alias, name, this.config.mcp.maxToolNameLength) : name;
  }

  private unique<E extends NamedEntry<unknown> & { exposed: string }>(entries: E[]): E[] {
    return uniqueExposedNames(entries, this.config.mcp.maxToolNameLength);
  }

  async tools(scope: CallerScope): Promise<ToolListing> {
    // The hot path (every tools/call resolves its name here): reuse the listing while the caller's access
    // and every catalog behind it are the very same objects.
    const access = accessFor(scope.auth.subject, this.registry.current());
    const byNaming = this.toolMemo.get(access)?.get(scope.selection);
    const memo = byNaming?.get(scope.prefixed);
    if (memo && memo.serverIds.every((id, i) => this.catalog.peek(id) === memo.catalogs[i]))
      return memo.listing;
    const listing = await this.listTools(scope);
    if (listing.errors.length === 0) {
      const { ok } = listing;
      const perSelection =
        this.toolMemo.get(access) ?? new Map<ReadonlySet<string> | null, ToolMemoByNaming>();
      this.toolMemo.set(access, perSelection);
      const naming = perSelection.get(scope.selection) ?? new Map<boolean, ToolMemo>();
      perSelection.set(scope.selection, naming);
      naming.set(scope.prefixed, {
        serverIds: ok.map((o) => o.visible.server.serverId),
        catalogs: ok.map((o) => o.catalog),
        listing,
      });
    }
    return listing;
  }

  private async listTools(scope: CallerScope): Promise<ToolListing & { ok: CatalogResult[] }> {
    const { ok, errors } = await this.catalogs(scope);
    const entries = this.unique(
      ok.flatMap(({ visible: { server, filter }, catalog }) =>
        catalog.tools
          .filter((tool) => toolAllowed(filter, tool.name))
          .map((tool) => ({
            serverId: server.serverId,
            alias: server.alias,
            name: tool.name,
            item: tool,
            exposed: this.name(scope, server.alias, tool.name),
          })),
      ),
    );
    return {
      items: entries.map((e) => ({ ...e.item, name: e.exposed })),
      errors,
      index: new NameIndex(entries, scope.prefixed),
      ok,
    };
  }

  async prompts(scope: CallerScope): Promise<Listing<Prompt> & { index: NameIndex<Prompt> }> {
    const { ok, errors } = await this.catalogs(scope);
    const entries = this.unique(
      ok.flatMap(({ visible: { server }, catalog }) =>
        catalog.prompts.map((prompt) => ({
          serverId: server.serverId,
          alias: server.alias,
          name: prompt.name,
          item: prompt,
          exposed: this.name(scope, server.alias, prompt.name),
        })),
      ),
    );
    return {
      items: entries.map((e) => ({ ...e.item, name: e.exposed })),
      errors,
      index: new NameIndex(entries, scope.prefixed),
    };
  }

  async resources(scope: CallerScope): Promise<ResourceListing & { owners: Map<string, McpServerRecord> }> {
    const { ok, errors } = await this.catalogs(scope);
    const owners = new Map<string, McpServerRecord>();
    const resources: Resource[] = [];
    const conflicts = new Map<string, { uri: string; served_by: string; also_offered_by: string[] }>();
    for (const { visible, catalog } of ok) {
      for (const resource of catalog.resources) {
        const owner = owners.get(resource.uri);
        if (owner) {
          const conflict = conflicts.get(resource.uri) ?? {
            uri: resource.uri,
            served_by: owner.alias,
            also_offered_by: [],
          };
          conflict.also_offered_by.push(visible.server.alias);
          conflicts.set(resource.uri, conflict);
          continue;
        }
        owners.set(resource.uri, visible.server);
        resources.push(resource);
      }
    }
    if (conflicts.size)
      this.logger.warn({
        msg: 'resource URI offered by several servers',
        conflicts: [...conflicts.values()],
      });
    return {
      resources,
      templates: ok.flatMap(({ catalog }) => catalog.resourceTemplates),
      errors,
      conflicts: [...conflicts.values()],
      owners,
    };
  }

  /** Where a tool name routes: fast by its prefix, else through the caller's index (short, unprefixed names). */
  async resolveTool(scope: CallerScope, name: string): Promise<ResolvedName<Tool>> {
    const visible = this.visibleServers(scope);
    const direct = scope.prefixed
      ? splitExposedName(name)
      : visible.length === 1
        ? { alias: visible[0].server.alias, name }
        : null;
    if (direct) {
      const hit = visible.find((v) => v.server.alias.toLowerCase() === direct.alias.toLowerCase());
      if (hit && toolAllowed(hit.filter, direct.name)) {
        const catalog = await this.catalog
          .get(hit.server, this.signIns.signedIn(hit.server, scope))
          .catch(() => null);
        const tool = catalog?.tools.find((t) => t.name === direct.name);
        // An upstream we cannot list right now: pass the call through and let it answer.
        if (!catalog)
          return {
            server: hit.server,
            name: direct.name,
            item: { name: direct.name, inputSchema: { type: 'object' } },
          };
        if (tool) return { server: hit.server, name: direct.name, item: tool };
      }
    }
    const { index } = await this.tools(scope);
    return this.fromIndex(index, name, 'tool');
  }

  async resolvePrompt(scope: CallerScope, name: string): Promise<ResolvedName<Prompt>> {
    const { index } = await this.prompts(scope);
    return this.fromIndex(index, name, 'prompt');
  }

  /**
   * The server that serves a resource URI: listed resources first, then templates, else (unless `owned`) the one
   * visible server with resources at all, else null. `owned`: only a server that lists the URI or a template of
   * it (a subscription must not reach updates of a server the caller cannot see).
   */
  async resolveResource(
    scope: CallerScope,
    uri: string,
    { owned = false }: { owned?: boolean } = {},
  ): Promise<McpServerRecord | null> {
    const { owners } = await this.resources(scope);
    const owner = owners.get(uri);
    if (owner) return owner;
    const { ok } = await this.catalogs(scope);
    for (const { visible, catalog } of ok) {
      if (catalog.resourceTemplates.some((t) => new UriTemplate(t.uriTemplate).match(uri) !== null))
        return visible.server;
    }
    if (owned) return null;
    const withResources = ok.filter((o) => o.catalog.resources.length || o.catalog.resourceTemplates.length);
    return withResources.length === 1 ? withResources[0].visible.server : null;
  }

  /** The server that offers a resource template (for completion of its arguments). */
  async resolveTemplate(scope: CallerScope, uriTemplate: string): Promise<McpServerRecord | null> {
    const { ok } = await this.catalogs(scope);
    const owner = ok.find(({ catalog }) =>
      catalog.resourceTemplates.some((t) => t.uriTemplate === uriTemplate),
    );
    return owner?.visible.server ?? null;
  }

  private fromIndex<T>(index: NameIndex<T>, name: string, what: 'tool' | 'prompt'): ResolvedName<T> {
    const resolved = index.resolve(name);
    if (resolved && 'entry' in resolved) {
      const server = this.registry.current().byId.get(resolved.entry.serverId);
      if (server) return { server, name: resolved.entry.name, item: resolved.entry.item };
    }
    if (resolved && 'ambiguous' in resolved)
      throw new ToolNotFoundError(
        `${what} ${JSON.stringify(name)} is ambiguous: use one of ${resolved.ambiguous.join(', ')}`,
      );
    throw new ToolNotFoundError(
      `unknown ${what}: ${JSON.stringify(name)}${name.includes(PREFIX_SEPARATOR) ? '' : ` (${what}s are named {alias}${PREFIX_SEPARATOR}{name})`}`,
    );
  }
}
