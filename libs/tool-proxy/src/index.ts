export { ToolProxyModule } from './tool-proxy.module.js';
export {
  ToolCaller,
  type CallOptions,
  type CallOutcome,
  type CallFailure,
  type Settled,
  DEFAULT_CALL_TIMEOUT_MS,
} from './calls/tool-caller.js';
export type { CallerScope } from './catalog/view.types.js';
export { McpSessionManager } from './session/session-manager.js';
export { McpFastLane } from './session/mcp-fast-lane.js';
export { SKIPPED_META_KEY } from './session/session-handlers.js';
export { REQUEST_CANCELLED } from './session/jsonrpc-checks.js';
export { McpHealthService, type ServerHealth } from './upstream/mcp-health.service.js';
export { probeMcpServer, type ProbeResult } from './upstream/mcp-probe.js';
export { UpstreamOriginGuard } from './session/origin-check.js';
export { McpToolbox, type ToolboxSelection } from './calls/mcp-toolbox.js';
export { RateLimiter } from './calls/rate-limiter.js';
export { callerLimits } from './calls/rate-limits.js';
export { BudgetExceededError, RateLimitedError } from './tool-proxy.errors.js';
export { disconnectSignal } from './calls/disconnect-signal.js';
