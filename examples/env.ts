/** Settings shared by the examples, from the environment, with a clear message when one is missing. */
export const GATEWAY_URL = (process.env.GATEWAY_URL ?? 'http://localhost:4000').replace(/\/+$/, '');

export function gatewayKey(): string {
  return required(
    'GATEWAY_KEY',
    'export a virtual key (POST /key/generate) or the master key, e.g. GATEWAY_KEY=sk-... npm run example:list-tools',
  );
}

/**
 * A variable an example needs, or one line naming it and how to set it, then exit 2 (no stack trace).
 * Checked before anything connects, so a missing one is the only thing said.
 */
export function required(name: string, hint: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set: ${hint}`);
    process.exit(2);
  }
  return value;
}
