// Tools without an MCP client: plain fetch against the gateway's REST twins.
//   GATEWAY_KEY=sk-... npm run example:rest-tools -- web-echo '{"message":"hi"}'
import { GATEWAY_URL, gatewayKey } from './env.js';

const headers = { Authorization: `Bearer ${gatewayKey()}`, 'Content-Type': 'application/json' };

const list = await fetch(`${GATEWAY_URL}/mcp/tools/list`, { headers });
if (!list.ok) throw new Error(`tools/list failed: ${list.status} ${await list.text()}`);
const { tools } = (await list.json()) as { tools: { name: string; description: string }[] };
console.log(`${tools.length} tools: ${tools.map((t) => t.name).join(', ')}`);

const [name, args] = [process.argv[2] ?? tools[0]?.name, process.argv[3] ?? '{}'];
if (name) {
  const call = await fetch(`${GATEWAY_URL}/mcp/tools/call`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name, arguments: JSON.parse(args) as unknown }),
  });
  console.log(`${name} -> ${call.status} ${await call.text()}`);
}
