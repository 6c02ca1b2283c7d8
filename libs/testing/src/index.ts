export { type TestDatabase, provisionTestDatabase, withAdminClient } from './test-database.js';
export { type TestApp, createTestApp } from './test-app.js';
export {
  type FixtureOptions,
  type McpFixture,
  startMcpFixture,
  startSseMcpFixture,
  closedPort,
} from './mcp-fixture.js';
export {
  type OAuthFixture,
  type OAuthFixtureOptions,
  type TokenRequest,
  startOAuthFixture,
  type AuthCodeFixture,
  startAuthCodeFixture,
} from './oauth-fixture.js';
export { LONG_TOOL_NAME, type RichFixture, startRichFixture } from './rich-fixture.js';
export { eventually, freshClockMinute, waitFor } from './wait-for.js';
export { type DatabaseProxy, type ProxyMode, startDatabaseProxy } from './database-proxy.js';
export { type FakeModel, type FakeModelRequest, startFakeModel } from './fake-model.js';
export { type Balancer, startBalancer } from './balancer.js';
export { type StatefulUpstream, startStatefulUpstream } from './stateful-upstream.js';
export {
  initializeRequest,
  mcpPost,
  modernMessages,
  modernRequest,
  type RpcMessage,
  type RpcReply,
} from './mcp-post.js';
