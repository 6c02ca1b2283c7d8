import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretDecryptionError extends Error {
  constructor() {
    super(
      'stored credentials cannot be decrypted: wrong SALT_KEY / master key, or the value was tampered with',
    );
    this.name = 'SecretDecryptionError';
  }
}

/**
 * AES-256-GCM for upstream credentials at rest (and, with its own derived key, for the gateway's sealed MCP
 * `requestState`). The key is derived (HKDF-SHA256) from SALT_KEY, else the master key, with the purpose as
 * HKDF info: keys for different purposes are independent. The stored form is `v1:` + base64(iv | tag |
 * ciphertext). GCM authenticates: a wrong key or a changed byte fails to decrypt instead of yielding garbage.
 */
export class SecretCipher {
  private readonly key: Buffer;

  constructor(secret: string, purpose = 'credentials') {
    if (!secret) throw new Error('SecretCipher needs a non-empty secret');
    this.key = Buffer.from(hkdfSync('sha256', secret, 'mcp-gateway', `mcp-gateway/${purpose}/v1`, 32));
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  decrypt(stored: string): string {
    const [version, payload] = stored.split(':', 2);
    if (version !== VERSION || !payload) throw new SecretDecryptionError();
    const raw = Buffer.from(payload, 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretDecryptionError();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new SecretDecryptionError();
    }
  }
}
