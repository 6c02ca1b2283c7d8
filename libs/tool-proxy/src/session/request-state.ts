import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuthContext } from '@app/auth';
import { GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { SecretCipher } from '@app/core';

/** What a sealed `requestState` carries: nothing of it is readable or changeable by the client. */
export interface SealedState {
  /** The caller's key (its id; `master` for the master key): another key's state is refused. */
  key: string;
  /** The upstream server the waiting call runs on. */
  server: string;
  /** The operation: `tools/call:<name>`, `prompts/get:<name>` or `resources/read:<uri>`, as the client named it. */
  op: string;
  /** The waiting call (an input exchange of this process) and the round it is in. */
  exchange: string;
  round: number;
  /** The process the call waits in (its change-bus id): a retry reaching another replica is handed to it. */
  replica: string;
  /** Epoch ms after which the state is refused. */
  expires: number;
  /**
   * Set when the upstream itself answered `input_required` (it speaks 2026-07-28): its own `requestState` (null
   * if it gave none), sent back to it with the client's answers by whichever replica the retry reaches. Then no
   * call waits anywhere, and `exchange`, `round` and `replica` mean nothing.
   */
  upstream?: string | null;
  /**
   * Set when the round asked the client to have its user sign in at the upstream's authorization server (per-user
   * OAuth): the retry starts the call afresh, signed in.
   */
  signIn?: true;
}

/** Why a `requestState` is refused (kept out of the wire: the SDK answers `-32602` with a fixed message). */
export class RequestStateRefused extends Error {
  constructor(readonly reason: 'malformed' | 'sealed' | 'expired' | 'key') {
    super(`requestState refused: ${reason}`);
    this.name = 'RequestStateRefused';
  }
}

const PREFIX = 'gw1.';
/** The longest token opened: room for an upstream's own state (sealed inside), not for a flood. */
const MAX_TOKEN = 96 * 1024;

/**
 * The gateway's own `requestState` for protocol revision 2026-07-28 (issue 19): the state an `input_required`
 * result hands the client is encrypted and authenticated (AES-256-GCM, a key derived with HKDF from SALT_KEY or
 * the master key, independent of the one for stored credentials), and bound to the caller's key, the upstream
 * server, the operation and an expiry. The client can neither read it nor change a byte of it. Every replica with
 * the same SALT_KEY / master key opens it; without either (an open gateway), a per-process key is used.
 */
@Injectable()
export class RequestStateSeal {
  private readonly cipher: SecretCipher;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    const secret = config.auth.saltKey ?? config.auth.masterKey;
    if (!secret)
      new Logger('Gateway').warn(
        'no SALT_KEY or master key: input_required requestState is sealed with a per-process key (valid on this process only)',
      );
    this.cipher = new SecretCipher(secret ?? randomBytes(32).toString('base64'), 'request-state');
  }

  seal(state: SealedState): string {
    const sealed = this.cipher.encrypt(JSON.stringify(state));
    return PREFIX + Buffer.from(sealed.slice(sealed.indexOf(':') + 1), 'base64').toString('base64url');
  }

  /** The state, if it is intact, unexpired and the caller's; else RequestStateRefused. */
  open(token: string, auth: AuthContext, now = Date.now()): SealedState {
    if (typeof token !== 'string' || !token.startsWith(PREFIX) || token.length > MAX_TOKEN)
      throw new RequestStateRefused('malformed');
    const body = token.slice(PREFIX.length);
    if (!/^[A-Za-z0-9_-]+$/.test(body)) throw new RequestStateRefused('malformed');
    let state: SealedState;
    try {
      state = JSON.parse(
        this.cipher.decrypt(`v1:${Buffer.from(body, 'base64url').toString('base64')}`),
      ) as SealedState;
    } catch {
      throw new RequestStateRefused('sealed');
    }
    if (!(state.expires > now)) throw new RequestStateRefused('expired');
    if (state.key !== keyRef(auth)) throw new RequestStateRefused('key');
    return state;
  }
}

/** The key a state is bound to: its id, or `master`. */
export function keyRef(auth: AuthContext): string {
  return auth.keyId ?? 'master';
}
