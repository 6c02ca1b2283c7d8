// The same tools in the OpenAI tool format, ready for `chat.completions.create({ tools })`.
//   GATEWAY_KEY=sk-... npm run example:openai-tools
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { loadMcpTools } from '@app/openai-bridge';
import { GATEWAY_URL, gatewayKey } from './env.js';

const client = new Client({ name: 'example-openai-tools', version: '1.0.0' });
await client.connect(
  new StreamableHTTPClientTransport(new URL(`${GATEWAY_URL}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${gatewayKey()}` } },
  }),
);
console.log(JSON.stringify(await loadMcpTools(client, { format: 'openai' }), null, 2));
await client.close();
