export { type McpServerRecord, type OAuth2Flow } from './mcp-server.types.js';
export { CreateMcpServerDto, UpdateMcpServerDto, TestMcpServerDto } from './mcp-server.dto.js';
export { applyServerInput, dialUrl, effectiveSessionMode } from './mcp-server.rules.js';
export { McpServerNotFoundError } from './mcp-server.errors.js';
export { upstreamHeaders } from './upstream-headers.js';
export { type RegistrySnapshot, McpRegistry } from './mcp-registry.js';
export { McpServerService, type ServerWriter } from './mcp-server.service.js';
export { McpRegistryModule } from './mcp-registry.module.js';
export { forwardableHeaders } from './header-rules.js';
export {
  checkedAddresses,
  HostResolution,
  type HostResolver,
  PrivateAddressError,
  privateAddressReason,
  type ResolvedAddress,
} from './url-safety.js';
