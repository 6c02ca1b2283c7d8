import type { AuthContext } from '@app/auth';
import type { GatewayConfig } from '@app/config';
import { SecretCipher } from '@app/core';
import { RequestStateRefused, RequestStateSeal, type SealedState } from './request-state.js';

const config = (saltKey: string | null, masterKey: string | null) =>
  ({ auth: { saltKey, masterKey } }) as unknown as GatewayConfig;
// Only the key's id binds a state (keyRef).
const keyA = { keyId: 'key-a' } as AuthContext;
const keyB = { keyId: 'key-b' } as AuthContext;
const masterKey = { keyId: null } as AuthContext;
const state = (over: Partial<SealedState> = {}): SealedState => ({
  key: 'key-a',
  server: 'server-1',
  op: 'tools/call:deploy',
  exchange: 'x-1',
  round: 1,
  replica: 'replica-1',
  expires: Date.now() + 60_000,
  ...over,
});
const reason = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    return error instanceof RequestStateRefused ? error.reason : `other: ${String(error)}`;
  }
  return 'opened';
};

describe('RequestStateSeal', () => {
  const seal = new RequestStateSeal(config('salt-1', 'sk-master'));

  it('opens what it sealed, for the key it was sealed for', () => {
    const token = seal.seal(state());
    expect(seal.open(token, keyA)).toEqual(state({ expires: seal.open(token, keyA).expires }));
    expect(seal.open(seal.seal(state({ key: 'master' })), masterKey).key).toBe('master');
  });

  it('is encrypted: nothing of the state is readable in the token', () => {
    const token = seal.seal(state());
    const bytes = Buffer.from(token.slice(4), 'base64url').toString('latin1');
    for (const clear of ['key-a', 'server-1', 'deploy', 'x-1']) expect(bytes).not.toContain(clear);
  });

  it('refuses another key, an expired state, a changed byte, another secret, and garbage', () => {
    const token = seal.seal(state());
    expect(reason(() => seal.open(token, keyB))).toBe('key');
    expect(reason(() => seal.open(token, keyA, Date.now() + 61_000))).toBe('expired');
    const at = 12;
    const flipped = token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
    expect(reason(() => seal.open(flipped, keyA))).toBe('sealed');
    expect(reason(() => new RequestStateSeal(config('salt-2', 'sk-master')).open(token, keyA))).toBe(
      'sealed',
    );
    for (const junk of ['', 'gw1.', 'gw1.!!', 'v1:abc', `${token}-TAMPERED`, 'x'.repeat(5000)])
      expect(['malformed', 'sealed']).toContain(reason(() => seal.open(junk, keyA)));
  });

  it('uses a key of its own: a stored-credentials ciphertext under the same secret does not open', () => {
    const credentials = new SecretCipher('salt-1').encrypt(JSON.stringify(state()));
    const asToken = `gw1.${Buffer.from(credentials.slice(3), 'base64').toString('base64url')}`;
    expect(reason(() => seal.open(asToken, keyA))).toBe('sealed');
  });

  it('falls back on the master key, and works on one process without any secret', () => {
    const byMaster = new RequestStateSeal(config(null, 'sk-master'));
    expect(byMaster.open(byMaster.seal(state()), keyA).server).toBe('server-1');
    const open = new RequestStateSeal(config(null, null));
    expect(open.open(open.seal(state()), keyA).server).toBe('server-1');
    expect(reason(() => new RequestStateSeal(config(null, null)).open(open.seal(state()), keyA))).toBe(
      'sealed',
    );
  });
});
