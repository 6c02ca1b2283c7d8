import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import {
  callOpenAiTool,
  InvalidToolArgumentsError,
  loadMcpTools,
  type McpClientLike,
  mcpToolToAnthropicTool,
  mcpToolToOpenAiTool,
  mcpToolToResponsesTool,
  normaliseParameters,
  openAiToolCallToMcpCall,
  toolResultToOpenAiMessage,
} from './index.js';

const EMPTY = { type: 'object', properties: {}, additionalProperties: false };

describe('normaliseParameters', () => {
  it.each<[string, unknown, unknown]>([
    ['missing schema', undefined, EMPTY],
    ['empty schema', {}, EMPTY],
    ['type only', { type: 'object' }, EMPTY],
    [
      'properties kept, additionalProperties added',
      { type: 'object', properties: { a: { type: 'string' } } },
      { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false },
    ],
    [
      'additionalProperties: true kept',
      { type: 'object', properties: {}, additionalProperties: true },
      { type: 'object', properties: {}, additionalProperties: true },
    ],
    [
      'required and $defs kept',
      {
        type: 'object',
        properties: { a: { $ref: '#/$defs/A' } },
        required: ['a'],
        $defs: { A: { type: 'number' } },
      },
      {
        type: 'object',
        properties: { a: { $ref: '#/$defs/A' } },
        required: ['a'],
        $defs: { A: { type: 'number' } },
        additionalProperties: false,
      },
    ],
    [
      'type added when absent',
      { properties: { x: {} } },
      { type: 'object', properties: { x: {} }, additionalProperties: false },
    ],
  ])('%s', (_, schema, expected) =>
    expect(normaliseParameters(schema as Tool['inputSchema'])).toEqual(expected),
  );

  it('does not modify the tool it was given', () => {
    const schema = { type: 'object' as const, properties: { a: { type: 'string' } } };
    normaliseParameters(schema);
    expect(schema).toEqual({ type: 'object', properties: { a: { type: 'string' } } });
  });
});

describe('tool shapes', () => {
  const tool: Tool = {
    name: 'gh-create_issue',
    description: 'Create an issue',
    inputSchema: { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] },
  };
  const params = {
    type: 'object',
    properties: { title: { type: 'string' } },
    required: ['title'],
    additionalProperties: false,
  };

  it('Chat Completions', () =>
    expect(mcpToolToOpenAiTool(tool)).toEqual({
      type: 'function',
      function: {
        name: 'gh-create_issue',
        description: 'Create an issue',
        parameters: params,
        strict: false,
      },
    }));

  it('Responses API', () =>
    expect(mcpToolToResponsesTool(tool)).toEqual({
      type: 'function',
      name: 'gh-create_issue',
      description: 'Create an issue',
      parameters: params,
      strict: false,
    }));

  it('Anthropic', () =>
    expect(mcpToolToAnthropicTool(tool)).toEqual({
      name: 'gh-create_issue',
      description: 'Create an issue',
      input_schema: params,
    }));

  it('missing description becomes ""', () => {
    const bare = { name: 'x', inputSchema: { type: 'object' as const } };
    expect(mcpToolToOpenAiTool(bare).function.description).toBe('');
    expect(mcpToolToResponsesTool(bare).description).toBe('');
    expect(mcpToolToAnthropicTool(bare).description).toBe('');
  });
});

describe('openAiToolCallToMcpCall', () => {
  const call = (args: unknown) => ({ id: 'c1', type: 'function', function: { name: 't', arguments: args } });

  it.each<[string, unknown, Record<string, unknown>]>([
    ['JSON string', '{"a":1,"b":"x"}', { a: 1, b: 'x' }],
    ['object used as is', { a: 1 }, { a: 1 }],
    ['missing', undefined, {}],
    ['null', null, {}],
    ['empty string', '', {}],
    ['nested JSON', '{"a":{"b":[1,2]}}', { a: { b: [1, 2] } }],
  ])('%s', (_, args, expected) =>
    expect(openAiToolCallToMcpCall(call(args) as never)).toEqual({ name: 't', arguments: expected }),
  );

  it.each<[string, unknown]>([
    ['invalid JSON', '{"a":'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"text"'],
    ['a JSON number', '42'],
    ['JSON null', 'null'],
    ['an array object', [1, 2]],
  ])('refuses %s, carrying the raw text', (_, args) => {
    try {
      openAiToolCallToMcpCall(call(args) as never);
      throw new Error('did not throw');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidToolArgumentsError);
      expect((error as InvalidToolArgumentsError).rawArguments).toBe(
        typeof args === 'string' ? args : JSON.stringify(args),
      );
      expect((error as InvalidToolArgumentsError).toolName).toBe('t');
    }
  });

  it('accepts a Responses API function call (name and arguments at the top level)', () =>
    expect(openAiToolCallToMcpCall({ name: 'r', arguments: '{"q":"x"}' })).toEqual({
      name: 'r',
      arguments: { q: 'x' },
    }));

  it('refuses a call without a name', () =>
    expect(() => openAiToolCallToMcpCall({ function: {} })).toThrow(/no function name/));
});

describe('loadMcpTools', () => {
  const pages: Record<string, { tools: Tool[]; nextCursor?: string }> = {
    start: { tools: [{ name: 'a', inputSchema: { type: 'object' } }], nextCursor: 'p2' },
    p2: { tools: [{ name: 'b', description: 'B', inputSchema: { type: 'object' } }], nextCursor: 'p3' },
    p3: { tools: [{ name: 'c', inputSchema: { type: 'object' } }], nextCursor: 'p2' },
  };
  const client = (): McpClientLike & { cursors: (string | undefined)[] } => {
    const cursors: (string | undefined)[] = [];
    return {
      cursors,
      listTools: (params) => {
        cursors.push(params?.cursor);
        return Promise.resolve(pages[params?.cursor ?? 'start']);
      },
      callTool: () => Promise.resolve({}),
    };
  };

  it('follows every page and stops on a repeated cursor', async () => {
    const c = client();
    const tools = await loadMcpTools(c, { format: 'mcp' });
    expect(tools.map((t) => t.name)).toEqual(['a', 'b', 'c']);
    expect(c.cursors).toEqual([undefined, 'p2', 'p3']);
  });

  it('returns the chosen shape (OpenAI by default)', async () => {
    expect((await loadMcpTools(client()))[1]).toMatchObject({
      type: 'function',
      function: { name: 'b', description: 'B' },
    });
    expect((await loadMcpTools(client(), { format: 'responses' }))[0]).toMatchObject({
      type: 'function',
      name: 'a',
    });
    expect((await loadMcpTools(client(), { format: 'anthropic' }))[2]).toMatchObject({
      name: 'c',
      input_schema: EMPTY,
    });
  });
});

describe('callOpenAiTool', () => {
  it('calls the tool with the parsed arguments', async () => {
    const calls: unknown[] = [];
    const client: McpClientLike = {
      listTools: () => Promise.resolve({ tools: [] }),
      callTool: (params) => {
        calls.push(params);
        return Promise.resolve({ content: [{ type: 'text', text: 'ok' }] });
      },
    };
    const result = await callOpenAiTool(client, {
      id: '1',
      function: { name: 'x-echo', arguments: '{"m":1}' },
    });
    expect(calls).toEqual([{ name: 'x-echo', arguments: { m: 1 } }]);
    expect(result.content).toEqual([{ type: 'text', text: 'ok' }]);
  });

  it('turns invalid arguments into an isError result without calling the tool', async () => {
    const client: McpClientLike = {
      listTools: () => Promise.resolve({ tools: [] }),
      callTool: () => Promise.reject(new Error('must not be called')),
    };
    const result = await callOpenAiTool(client, { id: '1', function: { name: 'x', arguments: '{oops' } });
    expect(result.isError).toBe(true);
    expect((result.content[0] as { text: string }).text).toContain('received: {oops');
  });
});

describe('toolResultToOpenAiMessage', () => {
  it('joins text, serialises structured content, describes images and resources', () => {
    const result: CallToolResult = {
      content: [
        { type: 'text', text: 'first' },
        { type: 'image', data: 'AAAA', mimeType: 'image/png' },
        { type: 'resource', resource: { uri: 'file:///a.txt', text: 'inside' } },
        {
          type: 'resource',
          resource: { uri: 'file:///b.bin', blob: 'AAAA', mimeType: 'application/octet-stream' },
        },
        { type: 'resource_link', uri: 'file:///c', name: 'c' },
      ],
      structuredContent: { total: 3 },
    };
    expect(toolResultToOpenAiMessage('call_1', result)).toEqual({
      role: 'tool',
      tool_call_id: 'call_1',
      content:
        'first\n[image: image/png, 3 bytes]\n[resource file:///a.txt]\ninside\n[resource file:///b.bin: application/octet-stream data]\n[resource link: file:///c (c)]\n{"total":3}',
    });
  });

  it('marks an error result', () =>
    expect(
      toolResultToOpenAiMessage('c', { isError: true, content: [{ type: 'text', text: 'boom' }] }).content,
    ).toBe('Error: boom'));

  it('handles an empty result', () =>
    expect(toolResultToOpenAiMessage('c', { content: [] }).content).toBe(''));
});
