// A fast echo MCP server for the benchmarks (official SDK): tool `echo` returns its `message`; `--tools N`
// adds N-1 more tools (tool_1 ...) for the tools/list scenario.
//   node bench/echo-server.mjs --transport http|stdio [--port N] [--tools N]
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const args = process.argv.slice(2);
const option = (name, fallback) =>
  args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback;
const transport = option('transport', 'http');
const toolCount = Number(option('tools', '1'));
const schema = { type: 'object', properties: { message: { type: 'string' } } };
const TOOLS = [
  { name: 'echo', description: 'Echoes its message', inputSchema: schema },
  ...Array.from({ length: toolCount - 1 }, (_, i) => ({
    name: `tool_${i + 1}`,
    description: `Benchmark tool number ${i + 1}, which does nothing but exist in a long list`,
    inputSchema: schema,
  })),
];

function echoServer() {
  const server = new Server({ name: 'bench-echo', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, (request) => ({
    content: [{ type: 'text', text: String(request.params.arguments?.message ?? '') }],
  }));
  return server;
}

if (transport === 'stdio') {
  await echoServer().connect(new StdioServerTransport());
} else {
  const sessions = new Map();
  const http = createServer(async (req, res) => {
    const id = req.headers['mcp-session-id'];
    const existing = typeof id === 'string' ? sessions.get(id) : undefined;
    if (existing) return existing.handleRequest(req, res);
    if (id) return res.writeHead(404).end();
    const t = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => sessions.set(sid, t),
    });
    t.onclose = () => t.sessionId && sessions.delete(t.sessionId);
    await echoServer().connect(t);
    await t.handleRequest(req, res);
  });
  http.listen(Number(option('port', '0')), '127.0.0.1', () =>
    console.log(`listening http://127.0.0.1:${http.address().port}/mcp`),
  );
}
