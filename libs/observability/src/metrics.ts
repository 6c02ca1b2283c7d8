import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { type RequestObserver, setRequestObserver } from '@app/core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Distinct tool labels kept per server; calls to further tools count under `tool="other"`. */
export const MAX_TOOL_LABELS_PER_SERVER = 200;
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The gateway's Prometheus metrics, on a registry of its own (one per application). Labels stay
 * low-cardinality: route templates, server and tool names (tools capped per server), outcomes, never key ids or
 * arguments. Label children are bound once and kept (no label lookup per call on the hot path).
 */
@Injectable()
export class GatewayMetrics implements OnModuleInit, OnModuleDestroy {
  readonly registry = new Registry();
  private readonly observer: RequestObserver = (route, method, status, seconds) =>
    this.httpRequest(route, method, status, seconds);

  private readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response finished, by route template and method',
    labelNames: ['route', 'method'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly toolCalls = new Counter({
    name: 'mcp_tool_calls_total',
    help: 'Tool calls from any path (MCP, REST, chat), by server, tool and outcome',
    labelNames: ['server', 'tool', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly toolDuration = new Histogram({
    name: 'mcp_tool_call_duration_seconds',
    help: 'Tool call duration as the gateway saw it, by server and tool',
    labelNames: ['server', 'tool'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly upstreamUp = new Gauge({
    name: 'mcp_upstream_up',
    help: '1 when the last contact with the upstream server succeeded, 0 when it failed',
    labelNames: ['server'] as const,
    registers: [this.registry],
  });
  private readonly upstreamConnects = new Counter({
    name: 'mcp_upstream_connects_total',
    help: 'Upstream connections opened (a rising count for one server means it keeps reconnecting)',
    labelNames: ['server', 'result'] as const,
    registers: [this.registry],
  });
  private readonly listFailures = new Counter({
    name: 'mcp_upstream_list_failures_total',
    help: 'Failed list requests (tools, resources, prompts) to an upstream; its items are left out of lists',
    labelNames: ['server', 'kind'] as const,
    registers: [this.registry],
  });
  private readonly catalog = new Counter({
    name: 'mcp_catalog_cache_total',
    help: 'Catalog lookups answered from the cache (hit) or by asking upstreams (miss)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  private readonly budgetRefusals = new Counter({
    name: 'mcp_budget_refusals_total',
    help: 'Tool calls refused because a key or team budget was spent',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });

  private readonly modelRequests = new Counter({
    name: 'llm_requests_total',
    help: 'Requests to upstream models (chat completions, responses), by model name and outcome',
    labelNames: ['model', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly modelTokens = new Counter({
    name: 'llm_tokens_total',
    help: 'Tokens used by upstream models, by model name and kind (prompt, completion)',
    labelNames: ['model', 'kind'] as const,
    registers: [this.registry],
  });

  private readonly children = new Map<string, unknown>();
  private readonly toolsPerServer = new Map<string, Set<string>>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  onModuleInit(): void {
    setRequestObserver(this.observer);
  }

  onModuleDestroy(): void {
    setRequestObserver(null, this.observer);
  }

  /** Adds gauges read at scrape time (queue depth and the like) to the registry. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** A gauge with one label, read at scrape time as label value → number. */
  labeledGauge(name: string, help: string, label: string, read: () => Record<string, number>): void {
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [value, n] of Object.entries(read())) this.labels(value).set(n);
      },
    });
  }

  /** A counter read at scrape time from a running total kept elsewhere. */
  counter(name: string, help: string, read: () => number): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  httpRequest(route: string, method: string, status: number, seconds: number): void {
    this.bound(`h\0${route}\0${method}\0${status}`, () =>
      this.httpRequests.labels(route, method, String(status)),
    ).inc();
    this.bound(`hd\0${route}\0${method}`, () => this.httpDuration.labels(route, method)).observe(seconds);
  }

  toolCall(server: string, tool: string, outcome: string, seconds: number): void {
    const label = this.toolLabel(server, tool);
    this.bound(`t\0${server}\0${label}\0${outcome}`, () =>
      this.toolCalls.labels(server, label, outcome),
    ).inc();
    this.bound(`td\0${server}\0${label}`, () => this.toolDuration.labels(server, label)).observe(seconds);
  }

  upstreamState(server: string, up: boolean): void {
    this.upstreamUp.labels(server).set(up ? 1 : 0);
  }

  upstreamConnect(server: string, ok: boolean): void {
    this.upstreamConnects.labels(server, ok ? 'ok' : 'failed').inc();
    this.upstreamState(server, ok);
  }

  listFailure(server: string, kind: string): void {
    this.listFailures.labels(server, kind).inc();
  }

  /** Forgets a removed server's labels (its series disappear from the next scrape). */
  forgetServer(server: string): void {
    this.upstreamUp.remove(server);
    this.toolsPerServer.delete(server);
  }

  catalogLookup(hit: boolean): void {
    this.bound(hit ? 'c\0hit' : 'c\0miss', () => this.catalog.labels(hit ? 'hit' : 'miss')).inc();
  }

  modelRequest(model: string, outcome: string, promptTokens: number, completionTokens: number): void {
    this.modelRequests.labels(model, outcome).inc();
    if (promptTokens) this.modelTokens.labels(model, 'prompt').inc(promptTokens);
    if (completionTokens) this.modelTokens.labels(model, 'completion').inc(completionTokens);
  }

  budgetRefused(scope: 'key' | 'team'): void {
    this.budgetRefusals.labels(scope).inc();
  }

  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private toolLabel(server: string, tool: string): string {
    let tools = this.toolsPerServer.get(server);
    if (!tools) this.toolsPerServer.set(server, (tools = new Set()));
    if (tools.has(tool)) return tool;
    if (tools.size >= MAX_TOOL_LABELS_PER_SERVER) return 'other';
    tools.add(tool);
    return tool;
  }

  private bound<T>(key: string, make: () => T): T {
    let child = this.children.get(key) as T | undefined;
    if (child === undefined) this.children.set(key, (child = make()));
    return child;
  }
}
