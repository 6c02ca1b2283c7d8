// The full loop: MCP tools from the gateway -> an OpenAI-compatible model -> the model's tool calls run on
// the gateway -> results back to the model -> its final answer.
//   GATEWAY_KEY=sk-... OPENAI_API_KEY=sk-... [OPENAI_BASE_URL=...] [OPENAI_MODEL=gpt-4o-mini] \
//     npm run example:chat -- "What does the echo tool say to 'hello'?"
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { callOpenAiTool, loadMcpTools, toolResultToOpenAiMessage } from '@app/openai-bridge';
import { GATEWAY_URL, gatewayKey, required } from './env.js';

// Every variable is checked before anything connects: a missing one is one line, not a stack trace.
const key = gatewayKey();
required(
  'OPENAI_API_KEY',
  'the key of an OpenAI-compatible API (with OPENAI_BASE_URL for another provider), e.g. OPENAI_API_KEY=sk-... npm run example:chat',
);
const question = process.argv[2] ?? "Use a tool to echo 'hello from the model', then tell me what it said.";
const model = process.env.OPENAI_MODEL ?? 'gpt-4o-mini';

// 1. Connect to the gateway and list the tools this key may use, in the OpenAI format.
const mcp = new Client({ name: 'example-chat', version: '1.0.0' });
await mcp.connect(
  new StreamableHTTPClientTransport(new URL(`${GATEWAY_URL}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  }),
);
const tools = await loadMcpTools(mcp, { format: 'openai' });

// 2. Ask the model, with the tools (OPENAI_API_KEY and OPENAI_BASE_URL are read by the openai client).
const openai = new OpenAI();
const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: question }];
for (let round = 0; round < 5; round++) {
  const completion = await openai.chat.completions.create({ model, messages, tools });
  const message = completion.choices[0].message;
  messages.push(message);
  const calls = (message.tool_calls ?? []).filter((call) => call.type === 'function');
  if (calls.length === 0) {
    // 5. The final answer.
    console.log(message.content ?? '');
    break;
  }
  // 3. Run each tool call on the gateway, 4. and send the results back to the model.
  for (const call of calls) {
    console.error(`calling ${call.function.name} ${call.function.arguments}`);
    const result = await callOpenAiTool(mcp, call);
    messages.push(toolResultToOpenAiMessage(call.id, result));
  }
}
await mcp.close();
