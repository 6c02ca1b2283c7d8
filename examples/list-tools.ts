// The product page's first flow: an MCP client over SSE at /mcp/ with a virtual key, listing the tools.
//   GATEWAY_KEY=sk-... npm run example:list-tools
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { GATEWAY_URL, gatewayKey } from './env.js';

const headers = { 'x-litellm-api-key': `Bearer ${gatewayKey()}` };
const client = new Client({ name: 'example-list-tools', version: '1.0.0' });
await client.connect(
  new SSEClientTransport(new URL(`${GATEWAY_URL}/mcp/`), {
    requestInit: { headers },
    eventSourceInit: {
      fetch: (url, init) => fetch(url, { ...init, headers: { ...init?.headers, ...headers } }),
    },
  }),
);
const { tools } = await client.listTools();
console.log(`${tools.length} tools:`);
for (const tool of tools) console.log(`- ${tool.name}: ${tool.description ?? ''}`);
await client.close();
