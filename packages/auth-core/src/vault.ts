import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AuthError } from './errors.js';

/** No login's credentials take more; the cap bounds what `rememberCredentials` can hold. */
const MAX_SEALED_BYTES = 8 * 1024;

interface Sealed {
  iv: Buffer;
  tag: Buffer;
  data: Buffer;
}

/**
 * Credentials kept for re-login (`rememberCredentials`), sealed with AES-256-GCM under a key
 * that exists only in this process, so a heap dump or a leaked store holds no readable password.
 */
export class CredentialVault<Credentials> {
  readonly #key = randomBytes(32);
  readonly #sealed: LRUCache<string, Sealed>;

  constructor(maxEntries: number, ttlMs: number) {
    this.#sealed = new LRUCache({ max: maxEntries, ttl: ttlMs, ttlAutopurge: false });
  }

  /** Refuses credentials too large to keep, before any I/O: 500 logins × 100 kB must not cost 49 MiB. */
  check(credentials: Credentials): string {
    const plain = JSON.stringify(credentials) ?? '';
    if (Buffer.byteLength(plain, 'utf8') > MAX_SEALED_BYTES) {
      throw new AuthError('INVALID_CREDENTIALS', `credentials are too large to remember (over ${MAX_SEALED_BYTES} bytes)`);
    }
    return plain;
  }

  put(sessionKey: string, credentials: Credentials): void {
    const plain = this.check(credentials);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(sessionKey, 'utf8'));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    this.#sealed.set(sessionKey, { iv, tag: cipher.getAuthTag(), data });
  }

  has(sessionKey: string): boolean {
    return this.#sealed.has(sessionKey);
  }

  get(sessionKey: string): Credentials | undefined {
    const sealed = this.#sealed.get(sessionKey);
    if (!sealed) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.iv);
    decipher.setAAD(Buffer.from(sessionKey, 'utf8'));
    decipher.setAuthTag(sealed.tag);
    const plain = Buffer.concat([decipher.update(sealed.data), decipher.final()]).toString('utf8');
    return JSON.parse(plain) as Credentials;
  }

  delete(sessionKey: string): void {
    this.#sealed.delete(sessionKey);
  }

  clear(): void {
    this.#sealed.clear();
  }
}
