import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import {
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace as otelTrace,
  type Tracer,
  TraceFlags,
} from '@opentelemetry/api';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import {
  currentTrace,
  formatTraceparent,
  newSpanId,
  packageInfo,
  parseTraceparent,
  type TraceContext,
  traceFrom,
} from '@app/core';

/** What the call path knows about a tool call when it starts (attributes of its spans). */
export interface CallSpanInfo {
  tool: string;
  /** The `traceparent` a client put in the request's `_meta` (wins over the HTTP header's). */
  metaTraceparent?: unknown;
  sessionId?: string;
  rpcId?: string | number;
}

/** A tool call in flight, as traced: its trace id, the `traceparent` to send upstream, and its end. */
export interface CallSpan {
  traceId: string;
  /** For the upstream request (HTTP header and `_meta`): the gateway's client span in the caller's trace. */
  traceparent: string;
  /** Once the server is known: its alias, and the tool's name there. */
  server(alias: string, tool: string): void;
  end(outcome: string, error?: string): void;
}

interface Exporting {
  tracer: Tracer;
  shutdown(): Promise<void>;
}

/**
 * W3C trace context through the gateway: a tool call continues the caller's trace (`traceparent` in `_meta`
 * first, then the HTTP header; one is started otherwise), and the upstream receives the gateway's own span as
 * parent. With OTEL_EXPORTER_OTLP_ENDPOINT set, spans are exported over OTLP/HTTP by the OpenTelemetry SDK
 * (loaded only then), named and attributed after OpenTelemetry's MCP semantic conventions: a SERVER span
 * `tools/call {tool}` for the client's request (the name it called) and a CLIENT span for the upstream call
 * (the tool's name upstream). Without it, the ids are
 * made here and nothing else runs.
 */
@Injectable()
export class Tracing implements OnApplicationShutdown {
  private readonly logger = new Logger('Tracing');
  private exporting: Exporting | null = null;
  private readonly ready: Promise<void>;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    const endpoint = config.observability.otlpEndpoint;
    this.ready = endpoint ? this.start(endpoint) : Promise.resolve();
  }

  /** Resolves once the exporter is set up (spans started before are not exported). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.ready;
    await this.exporting?.shutdown().catch(() => undefined);
  }

  startCall(info: CallSpanInfo): CallSpan {
    const fromMeta = parseTraceparent(info.metaTraceparent) ? traceFrom(info.metaTraceparent) : null;
    const request: TraceContext = fromMeta ?? currentTrace() ?? traceFrom(undefined);
    const exporting = this.exporting;
    if (!exporting) {
      const traceparent = formatTraceparent(request, newSpanId());
      return { traceId: request.traceId, traceparent, server: () => undefined, end: () => undefined };
    }
    // The caller's span as parent; without one, the request's own id, so that spans, log lines and audit rows
    // share one trace id.
    const parent = otelTrace.setSpanContext(ROOT_CONTEXT, {
      traceId: request.traceId,
      spanId: request.parentSpanId ?? request.spanId,
      traceFlags: request.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
      isRemote: true,
    });
    const attributes = {
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': info.tool,
      'gen_ai.operation.name': 'execute_tool',
      ...(info.sessionId ? { 'mcp.session.id': info.sessionId } : {}),
      ...(info.rpcId !== undefined ? { 'jsonrpc.request.id': String(info.rpcId) } : {}),
    };
    const serverSpan = exporting.tracer.startSpan(
      `tools/call ${info.tool}`,
      { kind: SpanKind.SERVER, attributes },
      parent,
    );
    const clientSpan = exporting.tracer.startSpan(
      `tools/call ${info.tool}`,
      { kind: SpanKind.CLIENT, attributes },
      otelTrace.setSpan(ROOT_CONTEXT, serverSpan),
    );
    const client = clientSpan.spanContext();
    return {
      traceId: client.traceId,
      traceparent: formatTraceparent(
        { traceId: client.traceId, sampled: (client.traceFlags & TraceFlags.SAMPLED) !== 0 },
        client.spanId,
      ),
      server: (alias, tool) => {
        for (const span of [serverSpan, clientSpan]) span.setAttribute('mcp.server.name', alias);
        // The upstream call is for the tool under its own name.
        clientSpan.updateName(`tools/call ${tool}`);
        clientSpan.setAttribute('gen_ai.tool.name', tool);
      },
      end: (outcome, error) => {
        for (const span of [clientSpan, serverSpan]) finish(span, outcome, error);
      },
    };
  }

  private async start(endpoint: string): Promise<void> {
    try {
      // One after the other: loading them in parallel trips Jest's ESM linker (and gains nothing at boot).
      const { TracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace');
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
      const { resourceFromAttributes } = await import('@opentelemetry/resources');
      const url = `${endpoint.replace(/\/+$/, '')}/v1/traces`;
      const provider = new TracerProvider({
        resource: resourceFromAttributes({
          'service.name': process.env.OTEL_SERVICE_NAME ?? 'mcp-gateway',
          'service.version': packageInfo().version,
        }),
        spanProcessors: [
          new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), scheduledDelayMillis: 500 }),
        ],
      });
      this.exporting = {
        tracer: provider.getTracer('mcp-gateway', packageInfo().version),
        shutdown: () => provider.shutdown(),
      };
      this.logger.log({ msg: 'exporting traces over OTLP/HTTP', url: redactQuery(url) });
    } catch (error) {
      this.logger.error({
        msg: 'OpenTelemetry could not start; no spans are exported',
        error: String(error),
      });
    }
  }
}

function finish(span: Span, outcome: string, error?: string): void {
  span.setAttribute('mcp.call.outcome', outcome);
  if (outcome !== 'ok') {
    span.setAttribute('error.type', outcome);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error?.slice(0, 300) });
  }
  span.end();
}

function redactQuery(url: string): string {
  return url.replace(/\?.*$/, '');
}
