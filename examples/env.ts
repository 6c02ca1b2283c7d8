/** Settings shared by the examples, from the environment, with a clear message when one is missing. */
export const GATEWAY_URL = (process.env.GATEWAY_URL ?? 'http://localhost:4000').replace(/\/+$/, '');

export function gatewayKey(): string {
  const key = process.env.GATEWAY_KEY;
  if (!key) {
    console.error(
      'GATEWAY_KEY is not set: export a virtual key (POST /key/generate) or the master key, e.g.\n' +
        '  GATEWAY_KEY=sk-... npm run example:list-tools',
    );
    process.exit(2);
  }
  return key;
}
