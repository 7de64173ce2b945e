import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { AuthError, type SessionRecord, type TokenSet } from '@tokenkeeper/auth-core';

/** A 32-byte AES-256 key: raw bytes, or a string of 64 hex digits or of base64/base64url. */
export type EncryptionKey = Uint8Array | string;

const PLAIN = 'p1';
const SEALED = 'e1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface KeyEntry {
  id: string;
  key: Buffer;
}

/** What the store keeps next to the plaintext `loginId` and `version`. */
interface Payload {
  tokens: TokenSet;
  service: boolean;
}

/**
 * Turns a session's tokens into the `data` field of its Redis hash and back. With keys, the
 * data is sealed with AES-256-GCM under the first key; any of the keys opens it (rotation).
 * The Redis key, login id and version are the additional authenticated data, so sealed data
 * moved to another session or version is refused rather than read.
 */
export class SessionCodec {
  readonly #keys: KeyEntry[];

  constructor(keys: EncryptionKey | readonly EncryptionKey[] | undefined) {
    const list = keys === undefined ? [] : Array.isArray(keys) ? keys : [keys as EncryptionKey];
    if (keys !== undefined && list.length === 0) throw new TypeError('RedisStore: encryptionKey must not be an empty list');
    this.#keys = list.map((key, index) => {
      const bytes = keyBytes(key);
      if (!bytes) {
        throw new TypeError(
          `RedisStore: encryptionKey${Array.isArray(keys) ? `[${index}]` : ''} must be 32 bytes (a Uint8Array, 64 hex digits or base64)`,
        );
      }
      return { id: createHash('sha256').update('tokenkeeper key id').update(bytes).digest('hex').slice(0, 8), key: bytes };
    });
  }

  get encrypts(): boolean {
    return this.#keys.length > 0;
  }

  encode(redisKey: string, record: SessionRecord): string {
    const json = JSON.stringify({ tokens: record.tokens, service: record.service } satisfies Payload);
    const writer = this.#keys[0];
    if (!writer) return `${PLAIN}:${json}`;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', writer.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(redisKey, record.loginId, record.version));
    const sealed = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
    return [SEALED, writer.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), sealed.toString('base64url')].join(':');
  }

  decode(redisKey: string, loginId: string, version: number, data: string): Pick<SessionRecord, 'tokens' | 'service'> {
    const [format, ...parts] = data.split(':');
    if (format === PLAIN && this.#keys.length === 0) return parsePayload(data.slice(PLAIN.length + 1));
    if (format === PLAIN) throw unreadable('is stored unencrypted but the store has an encryptionKey');
    if (format !== SEALED || parts.length !== 4) throw unreadable('is not in a format this store knows');
    if (this.#keys.length === 0) throw unreadable('is encrypted but the store has no encryptionKey');
    const [id, iv, tag, sealed] = parts as [string, string, string, string];
    // The key id picks the key; the others are tried too, in case two ids collide.
    const candidates = [...this.#keys.filter((entry) => entry.id === id), ...this.#keys.filter((entry) => entry.id !== id)];
    const aad = additionalData(redisKey, loginId, version);
    for (const { key } of candidates) {
      const json = open(key, aad, iv, tag, sealed);
      if (json !== undefined) return parsePayload(json);
    }
    throw unreadable('cannot be decrypted with any configured encryptionKey');
  }
}

function open(key: Buffer, aad: Buffer, iv: string, tag: string, sealed: string): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

function additionalData(redisKey: string, loginId: string, version: number): Buffer {
  return Buffer.from(JSON.stringify([redisKey, loginId, version]), 'utf8');
}

function keyBytes(key: unknown): Buffer | undefined {
  let bytes: Buffer | undefined;
  if (key instanceof Uint8Array) bytes = Buffer.from(key);
  else if (typeof key === 'string' && /^[0-9a-fA-F]{64}$/.test(key)) bytes = Buffer.from(key, 'hex');
  else if (typeof key === 'string' && /^[A-Za-z0-9+/_-]{43}=?$/.test(key)) bytes = Buffer.from(key, 'base64');
  return bytes?.length === 32 ? bytes : undefined;
}

/** Checks every field before use: data in Redis is only as trustworthy as everyone who can write there. */
function parsePayload(json: string): Payload {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw unreadable('is not valid JSON');
  }
  const payload = value as { tokens?: Record<string, unknown>; service?: unknown } | null;
  const tokens = payload?.tokens;
  const ok =
    typeof tokens === 'object' &&
    tokens !== null &&
    typeof tokens.accessToken === 'string' &&
    isTime(tokens.expiresAt) &&
    isTime(tokens.issuedAt) &&
    (tokens.refreshToken === undefined || typeof tokens.refreshToken === 'string') &&
    (tokens.refreshExpiresAt === undefined || isTime(tokens.refreshExpiresAt)) &&
    typeof payload?.service === 'boolean';
  if (!ok) throw unreadable('has missing or mistyped fields');
  const { accessToken, expiresAt, issuedAt, refreshToken, refreshExpiresAt } = tokens as unknown as TokenSet;
  return {
    tokens: {
      accessToken,
      expiresAt,
      issuedAt,
      ...(refreshToken !== undefined && { refreshToken }),
      ...(refreshExpiresAt !== undefined && { refreshExpiresAt }),
    },
    service: payload?.service === true,
  };
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function unreadable(what: string): AuthError {
  return new AuthError('STORE_UNAVAILABLE', `a session in Redis ${what}`);
}
