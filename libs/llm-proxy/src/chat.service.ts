import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import OpenAI, { APIConnectionTimeoutError, APIError } from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
} from 'openai/resources/chat/completions';
import type { Response as ResponsesResponse, ResponseInputItem } from 'openai/resources/responses/responses';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type AuthContext, mayUseModel } from '@app/auth';
import { AppError, currentRequestId, currentTrace } from '@app/core';
import {
  InvalidToolArgumentsError,
  openAiToolCallToMcpCall,
  toolResultToOpenAiMessage,
} from '@app/openai-bridge';
import { GatewayMetrics, ModelCallLog, SpendLedger } from '@app/observability';
import {
  BudgetExceededError,
  callerLimits,
  McpToolbox,
  RateLimitedError,
  RateLimiter,
} from '@app/tool-proxy';
import { expandMcpTools, type McpToolSet } from './mcp-tools.js';
import { ModelRouter, type ModelSlot } from './model-router.js';

/** Tool rounds the gateway runs for one request unless it sets `max_tool_iterations`. */
export const DEFAULT_MAX_TOOL_ITERATIONS = 10;
const MAX_TOOL_ITERATIONS_LIMIT = 50;

/** One MCP tool call the gateway ran for a request (listed in `mcp_tool_calls` of the answer). */
export interface ToolRun {
  id: string;
  name: string;
  arguments: string;
  outcome: string;
  duration_ms: number;
}

/** An error from the upstream model: relayed with its status and its own error body. */
export class ModelUpstreamError extends Error {
  constructor(
    readonly status: number,
    readonly body: { message: string; type: string; param: string | null; code: string | null },
  ) {
    super(body.message);
  }
}

type Body = Record<string, unknown>;
type Endpoint = 'chat.completions' | 'responses';

/** What a request is, once checked: the model, its deployment, the MCP tools, the gateway's own fields. */
interface Prepared {
  model: string;
  body: Body;
  mcp: McpToolSet;
  maxIterations: number;
}

/**
 * The OpenAI-compatible endpoints: a request for a model of `model_list` goes to one of its deployments with
 * the official `openai` client; `{"type": "mcp"}` tools entries become the caller's MCP tools, and with
 * `require_approval: "never"` the gateway runs the model's calls to them (through the same path as `/mcp`:
 * grants, budgets, audit) and asks the model again, until it answers without them.
 */
@Injectable()
export class ChatService {
  constructor(
    private readonly models: ModelRouter,
    private readonly toolbox: McpToolbox,
    private readonly ledger: SpendLedger,
    private readonly usage: ModelCallLog,
    private readonly metrics: GatewayMetrics,
    private readonly limiter: RateLimiter,
  ) {}

  /** Model names this caller may use. */
  listModels(auth: AuthContext): string[] {
    return this.models.names().filter((name) => mayUseModel(auth, name));
  }

  /** A chat completion, non-streaming: the final completion (after any tool rounds the gateway ran). */
  async complete(
    auth: AuthContext,
    headers: IncomingHttpHeaders,
    raw: unknown,
    signal: AbortSignal,
  ): Promise<ChatCompletion & { mcp_tool_calls?: ToolRun[] }> {
    const request = await this.prepare(auth, headers, raw, 'chat');
    const messages = [...(request.body.messages as ChatCompletionMessageParam[])];
    const runs: ToolRun[] = [];
    for (let round = 0; ; round++) {
      const completion = await this.callModel<ChatCompletion>(
        auth,
        request.model,
        'chat.completions',
        signal,
        (client, model) =>
          client.chat.completions.create(
            { ...request.body, model, messages, tools: request.mcp.requestTools, stream: false } as never,
            { signal },
          ),
      );
      const message = completion.choices[0]?.message;
      const calls = message?.tool_calls ?? [];
      if (!calls.length || !this.allAutoRun(request.mcp, calls)) return withRuns(completion, runs);
      if (round >= request.maxIterations) throw loopLimit(request.maxIterations);
      messages.push(message);
      for (const call of calls)
        messages.push(await this.runTool(auth, headers, request.mcp, call, runs, signal));
    }
  }

  /**
   * A streamed chat completion, relayed chunk by chunk as it arrives (waiting for the client to take each
   * one), ending in `data: [DONE]`. Tool calls the gateway runs are not relayed: each run is reported as an SSE
   * comment (`: mcp_tool_call {...}`) and the model is asked again, streamed as well.
   */
  async stream(
    auth: AuthContext,
    headers: IncomingHttpHeaders,
    raw: unknown,
    res: ServerResponse,
    signal: AbortSignal,
  ): Promise<void> {
    const request = await this.prepare(auth, headers, raw, 'chat');
    const messages = [...(request.body.messages as ChatCompletionMessageParam[])];
    const runs: ToolRun[] = [];
    let started = false;
    const write = async (text: string) => {
      if (!started) {
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
          'x-request-id': currentRequestId() ?? '',
        });
        started = true;
      }
      if (!res.write(text)) await new Promise<void>((resolve) => res.once('drain', resolve));
    };
    for (let round = 0; ; round++) {
      const held = new Map<number, { id: string; name: string; arguments: string }>();
      let passThrough = false;
      await this.callModel(auth, request.model, 'chat.completions', signal, async (client, model) => {
        const stream = await client.chat.completions.create(
          {
            ...request.body,
            model,
            messages,
            tools: request.mcp.requestTools,
            stream: true,
            stream_options: { include_usage: true },
          } as never,
          { signal },
        );
        let usage: ChatCompletionChunk['usage'] = null;
        for await (const chunk of stream as unknown as AsyncIterable<ChatCompletionChunk>) {
          usage = chunk.usage ?? usage;
          const deltas = chunk.choices[0]?.delta?.tool_calls ?? [];
          // Calls to tools the gateway runs are held back (their arguments arrive in pieces); others go through.
          const mine = deltas.filter((d) => {
            const known = held.get(d.index);
            const name = known?.name ?? d.function?.name ?? '';
            return !passThrough && (known !== undefined || request.mcp.tools.get(name)?.autoRun === true);
          });
          for (const d of mine) {
            const entry = held.get(d.index) ?? {
              id: d.id ?? '',
              name: d.function?.name ?? '',
              arguments: '',
            };
            entry.arguments += d.function?.arguments ?? '';
            held.set(d.index, entry);
          }
          if (deltas.length > mine.length) passThrough = true;
          const finish = chunk.choices[0]?.finish_reason;
          if (mine.length === deltas.length && deltas.length) continue;
          if (finish === 'tool_calls' && held.size && !passThrough) continue;
          await write(`data: ${JSON.stringify(chunk)}\n\n`);
        }
        return { usage } as never;
      });
      if (!held.size || passThrough) break;
      if (round >= request.maxIterations) {
        const limit = loopLimit(request.maxIterations);
        await write(`data: ${JSON.stringify({ error: { message: limit.message, code: limit.code } })}\n\n`);
        break;
      }
      const calls: ChatCompletionMessageToolCall[] = [...held.values()].map((c) => ({
        id: c.id,
        type: 'function',
        function: { name: c.name, arguments: c.arguments },
      }));
      messages.push({ role: 'assistant', content: null, tool_calls: calls });
      for (const call of calls) {
        messages.push(await this.runTool(auth, headers, request.mcp, call, runs, signal));
        await write(`: mcp_tool_call ${JSON.stringify(runs[runs.length - 1])}\n\n`);
      }
    }
    await write('data: [DONE]\n\n');
    res.end();
  }

  /** A Responses API request (non-streaming), with the same MCP tools and tool loop. */
  async respond(
    auth: AuthContext,
    headers: IncomingHttpHeaders,
    raw: unknown,
    signal: AbortSignal,
  ): Promise<ResponsesResponse & { mcp_tool_calls?: ToolRun[] }> {
    if (raw !== null && typeof raw === 'object' && (raw as Body).stream === true)
      throw new AppError(
        'VALIDATION_FAILED',
        'stream: true is not supported on /v1/responses yet: send it without stream, or use /v1/chat/completions with stream',
        { param: 'stream' },
      );
    const request = await this.prepare(auth, headers, raw, 'responses');
    const input: unknown = request.body.input;
    let items: ResponseInputItem[] =
      typeof input === 'string'
        ? [{ role: 'user', content: input }]
        : [...((input as ResponseInputItem[]) ?? [])];
    const runs: ToolRun[] = [];
    for (let round = 0; ; round++) {
      const response = await this.callModel<ResponsesResponse>(
        auth,
        request.model,
        'responses',
        signal,
        (client, model) =>
          client.responses.create(
            { ...request.body, model, input: items, tools: request.mcp.requestTools, stream: false } as never,
            { signal },
          ),
      );
      const calls = response.output.filter((item) => item.type === 'function_call');
      const toolCalls = calls.map((c) => ({
        id: c.call_id,
        type: 'function' as const,
        function: { name: c.name, arguments: c.arguments },
      }));
      if (!calls.length || !this.allAutoRun(request.mcp, toolCalls)) return withRuns(response, runs);
      if (round >= request.maxIterations) throw loopLimit(request.maxIterations);
      items = [...items, ...(response.output as ResponseInputItem[])];
      for (const call of toolCalls) {
        const message = await this.runTool(auth, headers, request.mcp, call, runs, signal);
        const output =
          typeof message.content === 'string' ? message.content : JSON.stringify(message.content);
        items.push({ type: 'function_call_output', call_id: call.id, output });
      }
    }
  }

  private async prepare(
    auth: AuthContext,
    headers: IncomingHttpHeaders,
    raw: unknown,
    format: 'chat' | 'responses',
  ): Promise<Prepared> {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw new AppError('VALIDATION_FAILED', 'the body must be a JSON object', { param: 'body' });
    const { max_tool_iterations: iterations, ...body } = raw as Body;
    const model = body.model;
    if (typeof model !== 'string' || !model)
      throw new AppError('VALIDATION_FAILED', 'model is required: one of GET /v1/models', { param: 'model' });
    if (!this.models.has(model))
      throw new AppError(
        'MODEL_NOT_FOUND',
        `model ${JSON.stringify(model)} is not served here; models: ${this.listModels(auth).join(', ') || 'none'} (GET /v1/models)`,
        { param: 'model' },
      );
    if (!mayUseModel(auth, model))
      throw new AppError(
        'MODEL_NOT_ALLOWED',
        `this key may not use model ${JSON.stringify(model)} (the key's or its team's models list leaves it out)`,
        { param: 'model' },
      );
    if (format === 'chat' && !Array.isArray(body.messages))
      throw new AppError('VALIDATION_FAILED', 'messages must be a list of chat messages', {
        param: 'messages',
      });
    let maxIterations = DEFAULT_MAX_TOOL_ITERATIONS;
    if (iterations !== undefined) {
      if (
        !Number.isInteger(iterations) ||
        (iterations as number) < 1 ||
        (iterations as number) > MAX_TOOL_ITERATIONS_LIMIT
      )
        throw new AppError(
          'VALIDATION_FAILED',
          `max_tool_iterations must be a whole number from 1 to ${MAX_TOOL_ITERATIONS_LIMIT}`,
          { param: 'max_tool_iterations' },
        );
      maxIterations = iterations as number;
    }
    const refused = this.ledger.spent(auth.budgets);
    if (refused) {
      this.metrics.budgetRefused(refused.kind);
      throw new BudgetExceededError(refused);
    }
    // The key's and team's rpm_limit count model requests as well as tool calls (one per client request).
    const limited = await this.limiter.take(callerLimits(auth));
    if (limited) throw new RateLimitedError(limited);
    const mcp = await expandMcpTools(this.toolbox, auth, headers, body.tools, format);
    return { model, body, mcp, maxIterations };
  }

  private allAutoRun(
    mcp: McpToolSet,
    calls: readonly { type: string; function?: { name: string } }[],
  ): boolean {
    return calls.every(
      (c) => c.type === 'function' && mcp.tools.get(c.function?.name ?? '')?.autoRun === true,
    );
  }

  /** Runs one MCP tool call for the model; failures become an error result it can read. */
  private async runTool(
    auth: AuthContext,
    headers: IncomingHttpHeaders,
    mcp: McpToolSet,
    call: ChatCompletionMessageToolCall,
    runs: ToolRun[],
    signal: AbortSignal,
  ): Promise<ChatCompletionMessageParam> {
    const started = performance.now();
    const name = call.type === 'function' ? call.function.name : '';
    const args = call.type === 'function' ? call.function.arguments : '';
    const entry = mcp.tools.get(name);
    let result: CallToolResult;
    let outcome: string;
    try {
      const parsed = openAiToolCallToMcpCall(call);
      const settled = await this.toolbox.call(
        auth,
        headers,
        entry!.selection,
        parsed.name,
        parsed.arguments,
        signal,
      );
      outcome = settled.outcome;
      result =
        'result' in settled
          ? settled.result
          : { isError: true, content: [{ type: 'text', text: settled.failure.message }] };
    } catch (error) {
      outcome = error instanceof InvalidToolArgumentsError ? 'invalid_arguments' : 'denied';
      result = {
        isError: true,
        content: [{ type: 'text', text: error instanceof Error ? error.message : String(error) }],
      };
    }
    runs.push({
      id: call.id,
      name,
      arguments: args,
      outcome,
      duration_ms: Math.round(performance.now() - started),
    });
    return toolResultToOpenAiMessage(call.id, result);
  }

  /**
   * One request to a deployment of the model, recorded (usage, cost, outcome) and charged to the caller's
   * budgets; an upstream error becomes a ModelUpstreamError with the upstream's status.
   */
  private async callModel<T extends { usage?: unknown }>(
    auth: AuthContext,
    model: string,
    endpoint: Endpoint,
    signal: AbortSignal,
    send: (client: OpenAI, upstreamModel: string) => Promise<T>,
  ): Promise<T> {
    const slot = this.models.pick(model) as ModelSlot;
    const started = performance.now();
    const { deployment } = slot;
    const finish = (outcome: string, status: number | null, usage: unknown, error: string | null) => {
      const { prompt, completion } = tokensOf(usage);
      const cost = prompt * deployment.inputCostPerToken + completion * deployment.outputCostPerToken;
      this.ledger.charge(auth.budgets, cost);
      this.metrics.modelRequest(model, outcome, prompt, completion);
      const ms = performance.now() - started;
      this.usage.record({
        calledAt: new Date(Date.now() - ms),
        requestId: currentRequestId() ?? null,
        traceId: currentTrace()?.traceId ?? null,
        endpoint,
        keyAlias: auth.keyAlias,
        keyHash: auth.keyHash,
        teamId: auth.teamId,
        model,
        upstreamModel: deployment.upstreamModel,
        outcome,
        status,
        durationMs: Math.round(ms * 1000) / 1000,
        promptTokens: prompt,
        completionTokens: completion,
        cost,
        error: error?.slice(0, 500) ?? null,
      });
    };
    try {
      const result = await send(slot.client, deployment.upstreamModel);
      this.models.report(slot, 200);
      finish('ok', 200, result.usage, null);
      return result;
    } catch (error) {
      if (signal.aborted) {
        finish('cancelled', null, null, 'the client went away');
        throw error;
      }
      if (error instanceof APIError && typeof error.status === 'number') {
        const status: number = error.status;
        this.models.report(slot, status);
        const body = upstreamErrorBody(error.error, error.message, status);
        finish('upstream_error', status, null, body.message);
        throw new ModelUpstreamError(status, body);
      }
      this.models.report(slot, null);
      const timeout = error instanceof APIConnectionTimeoutError;
      const message = timeout
        ? `model ${model} did not answer within ${deployment.timeoutMs / 1000} s (litellm_params.timeout)`
        : `model ${model} could not be reached (model_list[${deployment.index}].litellm_params.api_base): ${error instanceof Error ? error.message : String(error)}`;
      finish('upstream_error', null, null, message);
      throw new ModelUpstreamError(timeout ? 504 : 502, {
        message,
        type: 'service_unavailable_error',
        param: null,
        code: timeout ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE',
      });
    }
  }
}

function withRuns<T extends object>(answer: T, runs: ToolRun[]): T & { mcp_tool_calls?: ToolRun[] } {
  return runs.length ? { ...answer, mcp_tool_calls: runs } : answer;
}

function loopLimit(max: number): AppError {
  return new AppError(
    'TOOL_LOOP_LIMIT',
    `the model was still calling tools after ${max} rounds (max_tool_iterations): it stopped there; raise max_tool_iterations or check what the tools answer`,
    { param: 'max_tool_iterations' },
  );
}

function tokensOf(usage: unknown): { prompt: number; completion: number } {
  if (usage === null || typeof usage !== 'object') return { prompt: 0, completion: 0 };
  const u = usage as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    prompt: n(u.prompt_tokens ?? u.input_tokens),
    completion: n(u.completion_tokens ?? u.output_tokens),
  };
}

/** The upstream's own error object when it sent one (OpenAI's shape), else its message. */
function upstreamErrorBody(error: unknown, fallback: string, status: number) {
  const inner = (error !== null && typeof error === 'object' ? error : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    message: str(inner.message) ?? fallback,
    type: str(inner.type) ?? (status < 500 ? 'invalid_request_error' : 'api_error'),
    param: str(inner.param),
    code: str(inner.code) ?? (typeof inner.code === 'number' ? String(inner.code) : null),
  };
}
