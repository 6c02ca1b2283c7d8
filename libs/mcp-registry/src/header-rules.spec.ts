import { forwardableHeaders, reservedHeaderReason } from './header-rules.js';

describe('header rules', () => {
  it('forwards end-to-end headers only, and never a value with a line break or NUL', () => {
    expect(
      forwardableHeaders({
        Authorization: 'Bearer t',
        'X-Team': 'a',
        Host: 'evil',
        'Transfer-Encoding': 'chunked',
        'mcp-protocol-version': '1999-01-01',
        'x-litellm-api-key': 'sk-gateway',
        'X-Split': 'a\r\nX-Injected: 1',
        'X-Nul': 'a\0b',
      }),
    ).toEqual({ Authorization: 'Bearer t', 'X-Team': 'a' });
  });

  it('says why a header is the gateway’s own', () => {
    expect(reservedHeaderReason('Mcp-Session-Id')).toMatch(/MCP protocol/);
    expect(reservedHeaderReason('Content-Length')).toMatch(/framing/);
    expect(reservedHeaderReason('X-Trace-Id')).toBeNull();
  });
});
