import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { checkMessage } from './jsonrpc-checks.js';

/** What the SDK's Protocol accepts is what the transport lets through; everything else it answers itself. */
const cases: [string, unknown][] = [
  ['a request', { jsonrpc: '2.0', id: 1, method: 'ping' }],
  ['a string id', { jsonrpc: '2.0', id: 'a', method: 'tools/list', params: {} }],
  ['a notification', { jsonrpc: '2.0', method: 'notifications/initialized' }],
  [
    'a progress token',
    { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { _meta: { progressToken: 't' } } },
  ],
  ['a response', { jsonrpc: '2.0', id: 3, result: {} }],
  ['an error response', { jsonrpc: '2.0', id: 3, error: { code: -1, message: 'x' } }],
  ['a fractional id', { jsonrpc: '2.0', id: 1.5, method: 'ping' }],
  ['an unsafe integer id', { jsonrpc: '2.0', id: 1e308, method: 'ping' }],
  ['a null id', { jsonrpc: '2.0', id: null, method: 'ping' }],
  ['array params', { jsonrpc: '2.0', id: 4, method: 'tools/list', params: [1] }],
  ['string params', { jsonrpc: '2.0', id: 5, method: 'tools/call', params: 'x' }],
  ['a non-object _meta', { jsonrpc: '2.0', id: 6, method: 'ping', params: { _meta: 1 } }],
  [
    'a fractional progress token',
    { jsonrpc: '2.0', id: 7, method: 'ping', params: { _meta: { progressToken: 0.5 } } },
  ],
  ['no jsonrpc', { id: 8, method: 'ping' }],
  ['a response without id', { jsonrpc: '2.0', result: {} }],
];

describe('checkMessage', () => {
  it.each(cases)('%s: refused exactly when the SDK schema refuses it', (_what, message) => {
    const sdkAccepts = JSONRPCMessageSchema.safeParse(message).success;
    expect(checkMessage(message) === null).toBe(sdkAccepts);
  });

  it('keeps the id of a request whose id is valid, and only that', () => {
    expect(checkMessage({ jsonrpc: '2.0', id: 4, method: 'tools/list', params: [1] })).toEqual({
      id: 4,
      code: -32602,
      message: 'Invalid params: params must be an object',
    });
    expect(checkMessage({ jsonrpc: '2.0', id: 1.5, method: 'ping' })?.id).toBeNull();
  });
});
