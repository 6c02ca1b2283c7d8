import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake model received. */
export interface FakeModelRequest {
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

/**
 * A small model server that speaks the OpenAI Chat Completions and Responses APIs over a real socket (what a
 * test can run instead of a hosted model). Its behaviour is fixed and readable:
 * - a conversation whose last message is a tool result answers `final: <the result>`;
 * - a user message containing `use <tool>` with a function tool whose name ends in `<tool>` calls it with
 *   `{"message": "from model"}`;
 * - a user message containing `bad request` gets a 400 in OpenAI's error shape;
 * - otherwise it answers `hello from <model>: <the user's text>`.
 * `stream: true` sends the answer as chunks `chunkDelayMs` apart; `failNext(status, n)` fails the next requests.
 */
export interface FakeModel {
  /** `http://127.0.0.1:PORT/v1`, the `api_base` to configure. */
  baseUrl: string;
  requests: FakeModelRequest[];
  /** Responses whose connection was closed by the client before they were finished. */
  readonly aborted: number;
  failNext(status: number, count?: number): void;
  close(): Promise<void>;
}

const USAGE = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };

type Message = { role: string; content?: unknown; tool_calls?: unknown };
type FunctionTool = { type: string; name?: string; function?: { name: string } };

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .map((part: { text?: string }) => part.text ?? '')
      .join('')
      .trim();
  return '';
}

function toolNamed(tools: FunctionTool[] | undefined, wanted: string): string | undefined {
  return (tools ?? []).map((t) => t.function?.name ?? t.name ?? '').find((name) => name.endsWith(wanted));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export async function startFakeModel(options: { chunkDelayMs?: number } = {}): Promise<FakeModel> {
  const requests: FakeModelRequest[] = [];
  let aborted = 0;
  let failures: { status: number; left: number } | null = null;
  const delay = options.chunkDelayMs ?? 50;

  const chat = async (body: Record<string, unknown>, res: ServerResponse) => {
    const model = String(body.model);
    const messages = (body.messages ?? []) as Message[];
    const last = messages[messages.length - 1];
    const user = [...messages].reverse().find((m) => m.role === 'user');
    const userText = textOf(user?.content);
    let content: string | null = null;
    let call: { name: string; arguments: string } | null = null;
    if (last?.role === 'tool') content = `final: ${textOf(last.content)}`;
    else {
      const wanted = /use (\w+)/.exec(userText)?.[1];
      const tool = wanted ? toolNamed(body.tools as FunctionTool[], wanted) : undefined;
      if (tool) call = { name: tool, arguments: JSON.stringify({ message: 'from model' }) };
      else content = `hello from ${model}: ${userText}`;
    }
    const id = `chatcmpl-${requests.length}`;
    const created = Math.floor(Date.now() / 1000);
    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [
            {
              index: 0,
              finish_reason: call ? 'tool_calls' : 'stop',
              message: call
                ? {
                    role: 'assistant',
                    content: null,
                    tool_calls: [{ id: 'call_1', type: 'function', function: call }],
                  }
                : { role: 'assistant', content },
            },
          ],
          usage: USAGE,
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = async (delta: Record<string, unknown>, finish: string | null = null) => {
      if (res.destroyed) return;
      res.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    };
    await send({ role: 'assistant', content: '' });
    if (call) {
      await send({
        tool_calls: [
          { index: 0, id: 'call_1', type: 'function', function: { name: call.name, arguments: '' } },
        ],
      });
      const half = Math.floor(call.arguments.length / 2);
      for (const piece of [call.arguments.slice(0, half), call.arguments.slice(half)])
        await send({ tool_calls: [{ index: 0, function: { arguments: piece } }] });
      await send({}, 'tool_calls');
    } else {
      for (const word of (content ?? '').split(/(?= )/)) await send({ content: word });
      await send({}, 'stop');
    }
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: USAGE })}\n\n`,
    );
    res.end('data: [DONE]\n\n');
  };

  const responses = (body: Record<string, unknown>, res: ServerResponse) => {
    const model = String(body.model);
    const input =
      typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : (body.input as Message[]);
    const outputs = input.filter((i) => (i as { type?: string }).type === 'function_call_output');
    const userText = textOf(input.find((i) => i.role === 'user')?.content);
    const wanted = /use (\w+)/.exec(userText)?.[1];
    const tool = wanted ? toolNamed(body.tools as FunctionTool[], wanted) : undefined;
    const text = outputs.length
      ? `final: ${String((outputs[outputs.length - 1] as { output?: string }).output)}`
      : `hello from ${model}: ${userText}`;
    const output =
      tool && !outputs.length
        ? [
            {
              type: 'function_call',
              id: 'fc_1',
              call_id: 'call_1',
              name: tool,
              arguments: JSON.stringify({ message: 'from model' }),
              status: 'completed',
            },
          ]
        : [
            {
              type: 'message',
              id: 'msg_1',
              role: 'assistant',
              status: 'completed',
              content: [{ type: 'output_text', text, annotations: [] }],
            },
          ];
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: `resp_${requests.length}`,
        object: 'response',
        created_at: Math.floor(Date.now() / 1000),
        model,
        status: 'completed',
        output,
        usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
      }),
    );
  };

  const http: HttpServer = createServer((req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) aborted++;
    });
    void (async () => {
      const body = await readJson(req);
      requests.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
      if (failures && failures.left > 0) {
        failures.left--;
        res
          .writeHead(failures.status, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ error: { message: 'the fake model failed', type: 'server_error', code: null } }),
          );
        return;
      }
      const userText = JSON.stringify(body.messages ?? body.input ?? '');
      if (userText.includes('bad request')) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            error: {
              message: 'the fake model refuses this input',
              type: 'invalid_request_error',
              param: 'messages',
              code: 'bad_input',
            },
          }),
        );
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/chat/completions') return chat(body, res);
      if (req.method === 'POST' && req.url === '/v1/responses') return responses(body, res);
      res.writeHead(404).end();
    })();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}/v1`,
    requests,
    get aborted() {
      return aborted;
    },
    failNext: (status, count = 1) => (failures = { status, left: count }),
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
