import { upstreamHeaders } from './upstream-headers.js';

describe('upstreamHeaders', () => {
  it('turns the stored credential into the header its auth type names', () => {
    const secrets = { staticHeaders: { 'X-Team': 'a' }, authValue: 'user:pw', env: {} };
    expect(upstreamHeaders({ authType: 'basic', secrets })).toEqual({
      'X-Team': 'a',
      Authorization: `Basic ${Buffer.from('user:pw').toString('base64')}`,
    });
    expect(upstreamHeaders({ authType: 'api_key', secrets })['X-API-Key']).toBe('user:pw');
    expect(upstreamHeaders({ authType: 'none', secrets })).toEqual({ 'X-Team': 'a' });
  });
});
