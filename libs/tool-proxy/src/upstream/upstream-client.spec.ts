import { LazyJsonSchemaValidator } from './upstream-client.js';

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
