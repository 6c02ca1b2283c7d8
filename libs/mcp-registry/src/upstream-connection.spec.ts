import { LazyJsonSchemaValidator, upstreamHeaders } from './upstream-connection.js';

describe('LazyJsonSchemaValidator', () => {
  it('validates like the SDK validator it builds on first use', () => {
    const validator = new LazyJsonSchemaValidator();
    const check = validator.getValidator<{ n: number }>({
      type: 'object',
      properties: { n: { type: 'number' } },
      required: ['n'],
    });
    expect(check({ n: 1 })).toEqual({ valid: true, data: { n: 1 }, errorMessage: undefined });
    const bad = check({ n: 'one' });
    expect(bad.valid).toBe(false);
    expect(bad.errorMessage).toMatch(/must be number/);
  });
});

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
