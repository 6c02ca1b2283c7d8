import { GatewayMetrics, MAX_TOOL_LABELS_PER_SERVER } from './metrics.js';

describe('GatewayMetrics', () => {
  it('keeps tool labels per server bounded: past the cap, calls count under tool="other"', async () => {
    const metrics = new GatewayMetrics();
    for (let i = 0; i <= MAX_TOOL_LABELS_PER_SERVER + 5; i++)
      metrics.toolCall('srv', `tool${i}`, 'ok', 0.001);
    metrics.toolCall('srv', 'tool0', 'ok', 0.001);
    const text = (await metrics.scrape()).body;
    const series = text.split('\n').filter((l) => l.startsWith('mcp_tool_calls_total{'));
    expect(series).toHaveLength(MAX_TOOL_LABELS_PER_SERVER + 1);
    expect(series).toContain('mcp_tool_calls_total{server="srv",tool="other",outcome="ok"} 6');
    expect(series).toContain('mcp_tool_calls_total{server="srv",tool="tool0",outcome="ok"} 2');
  });

  it('counts connects per server and says whether the upstream is up', async () => {
    const metrics = new GatewayMetrics();
    metrics.upstreamConnect('a', true);
    metrics.upstreamConnect('a', false);
    metrics.listFailure('a', 'list');
    const text = (await metrics.scrape()).body;
    expect(text).toContain('mcp_upstream_up{server="a"} 0');
    expect(text).toContain('mcp_upstream_connects_total{server="a",result="ok"} 1');
    expect(text).toContain('mcp_upstream_connects_total{server="a",result="failed"} 1');
    expect(text).toContain('mcp_upstream_list_failures_total{server="a",kind="list"} 1');
  });
});
