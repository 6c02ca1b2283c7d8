import type { Resource, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AuthContext, ToolFilter } from '@app/auth';
import type { McpServerRecord } from '@app/mcp-registry';
import type { ServerCatalog } from './catalog.js';
import type { NameIndex } from './naming.js';

/** What the per-caller view of the gateway deals in: scopes, visible servers, listings, resolved names. */

/** Who is asking and through which door: the key, the servers the session is narrowed to, the naming. */
export interface CallerScope {
  auth: AuthContext;
  /** Server ids the session was narrowed to (`x-mcp-servers`, `/mcp/{a,b}`, `/{alias}/mcp`); null: all. */
  selection: ReadonlySet<string> | null;
  /** `{alias}-{name}` (aggregated endpoints) or upstream names unchanged (single-server endpoint). */
  prefixed: boolean;
  /** `scheme://host` the caller reached the gateway at (upstream sign-in callbacks, when PROXY_BASE_URL is unset). */
  origin?: string;
}

export interface VisibleServer {
  server: McpServerRecord;
  filter: ToolFilter;
}

export interface ListError {
  server_id: string;
  server_name: string;
  message: string;
  /** The server needs the caller to sign in (oauth2 authorization_code): where, in a browser. */
  authorization_url?: string;
}

export interface Listing<T> {
  items: T[];
  errors: ListError[];
}

export interface ResourceListing {
  resources: Resource[];
  templates: ResourceTemplate[];
  errors: ListError[];
  /** URIs offered by more than one server: served by the first alias in alphabetical order (documented rule). */
  conflicts: { uri: string; served_by: string; also_offered_by: string[] }[];
}

export interface ResolvedName<T> {
  server: McpServerRecord;
  name: string;
  item: T;
}

export type ToolListing = Listing<Tool> & { index: NameIndex<Tool> };

export interface CatalogResult {
  visible: VisibleServer;
  catalog: ServerCatalog;
}

/** A tool listing and the catalogs it was built from (valid while `peek` returns these same objects). */
export interface ToolMemo {
  serverIds: string[];
  catalogs: ServerCatalog[];
  listing: ToolListing;
}
export type ToolMemoByNaming = Map<boolean, ToolMemo>;
