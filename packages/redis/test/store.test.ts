import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { SessionRecord } from '@tokenkeeper/auth-core';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { RedisLock, RedisStore, type RedisStoreOptions, STORE_DEFAULTS } from '../src/index.js';
import { eventually, onCleanup, rawRedis, rejection, sharedRedisUrl, uniquePrefix } from './helpers.js';
import { startRedisServer } from './redis-server.js';

let url: string;
beforeAll(async () => {
  url = await sharedRedisUrl();
});

/** The key of every store in this file that is given neither a key nor `allowPlaintext`. */
const KEY = randomBytes(32);

function store(options: Partial<RedisStoreOptions> = {}): RedisStore {
  const keyOptions = options.encryptionKey === undefined && !options.allowPlaintext ? { encryptionKey: KEY } : {};
  const created = new RedisStore({ url, prefix: uniquePrefix(), ...keyOptions, ...options });
  onCleanup(() => created.close());
  return created;
}

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    tokens: {
      accessToken: `access-${randomBytes(12).toString('hex')}`,
      expiresAt: now + 3_600_000,
      issuedAt: now,
      refreshToken: `refresh-${randomBytes(12).toString('hex')}`,
      refreshExpiresAt: now + 86_400_000,
    },
    version: 1,
    loginId: 'login-a',
    service: false,
    ...overrides,
  };
}

const HOUR_MS = 3_600_000;

describe('RedisStore', () => {
  it('reads back the session it wrote', async () => {
    const sessions = store();
    const written = record({ service: true });
    expect(await sessions.set('user-1', written, null, HOUR_MS)).toBe(true);
    expect(await sessions.get('user-1')).toEqual(written);
  });

  it('keeps a token set without a refresh token as it is', async () => {
    const sessions = store();
    const written = record({ tokens: { accessToken: 'only-access', expiresAt: 2_000_000_000_000, issuedAt: 1_999_999_000_000 } });
    await sessions.set('user-1', written, null, HOUR_MS);
    expect(await sessions.get('user-1')).toEqual(written);
  });

  it("keeps what the protocol learned about the user (an OpenID provider's ID token claims) with the tokens", async () => {
    const sessions = store();
    const base = record();
    const written = record({ tokens: { ...base.tokens, claims: { sub: 'ada', iss: 'https://login.example', groups: ['ops'] } } });
    await sessions.set('user-1', written, null, HOUR_MS);
    expect(await sessions.get('user-1')).toEqual(written);
  });

  it("keeps a session's DPoP key with its tokens, sealed with them", async () => {
    const prefix = uniquePrefix();
    const sessions = store({ prefix });
    const base = record();
    const proofKey = { privateJwk: { kty: 'EC', crv: 'P-256', x: 'xx', y: 'yy', d: 'private-part-of-the-key' }, publicJwk: { kty: 'EC' } };
    const written = record({ tokens: { ...base.tokens, proofKey } });
    await sessions.set('user-1', written, null, HOUR_MS);
    expect(await sessions.get('user-1')).toEqual(written);
    const stored = JSON.stringify(await rawRedis(url).hgetall(sessions.keyOf('user-1')));
    expect(stored).not.toContain('private-part-of-the-key');
  });

  it('keeps the mark that an instance is presenting the refresh token, so other instances wait for its answer', async () => {
    const sessions = store();
    const { refreshToken: _out, ...tokens } = record().tokens;
    const written = record({ tokens, refreshing: 2_000_000_001_000 });
    await sessions.set('user-1', written, null, HOUR_MS);
    expect(await sessions.get('user-1')).toEqual(written);
    await expect(sessions.set('user-2', { ...written, refreshing: Number.NaN }, null, HOUR_MS)).rejects.toThrow(
      'RedisStore: refreshing must be a finite number, got NaN',
    );
  });

  it('answers undefined for a key with no session', async () => {
    expect(await store().get('nobody')).toBeUndefined();
  });

  it('replaces the session when the expected login id and version match', async () => {
    const sessions = store();
    await sessions.set('user-1', record(), null, HOUR_MS);
    const renewed = record({ version: 2 });
    expect(await sessions.set('user-1', renewed, { loginId: 'login-a', version: 1 }, HOUR_MS)).toBe(true);
    expect(await sessions.get('user-1')).toEqual(renewed);
  });

  it('refuses a stale writer that expects an older version, keeping the newer session', async () => {
    const sessions = store();
    await sessions.set('user-1', record(), null, HOUR_MS);
    const newer = record({ version: 2 });
    await sessions.set('user-1', newer, { loginId: 'login-a', version: 1 }, HOUR_MS);
    const stale = record({ version: 2 });
    expect(await sessions.set('user-1', stale, { loginId: 'login-a', version: 1 }, HOUR_MS)).toBe(false);
    expect(await sessions.get('user-1')).toEqual(newer);
  });

  it('refuses a write that expects another login', async () => {
    const sessions = store();
    const current = record({ loginId: 'login-b' });
    await sessions.set('user-1', current, null, HOUR_MS);
    expect(await sessions.set('user-1', record({ version: 2 }), { loginId: 'login-a', version: 1 }, HOUR_MS)).toBe(false);
    expect(await sessions.get('user-1')).toEqual(current);
  });

  it('refuses a compare-and-set on a logged-out session instead of bringing it back', async () => {
    const sessions = store();
    await sessions.set('user-1', record(), null, HOUR_MS);
    await sessions.delete('user-1');
    expect(await sessions.set('user-1', record({ version: 2 }), { loginId: 'login-a', version: 1 }, HOUR_MS)).toBe(false);
    expect(await sessions.get('user-1')).toBeUndefined();
  });

  it('writes over whatever is there when nothing is expected (a new login)', async () => {
    const sessions = store();
    await sessions.set('user-1', record({ version: 7 }), null, HOUR_MS);
    const login = record({ loginId: 'login-b' });
    expect(await sessions.set('user-1', login, null, HOUR_MS)).toBe(true);
    expect(await sessions.get('user-1')).toEqual(login);
  });

  it('deletes a session', async () => {
    const sessions = store();
    await sessions.set('user-1', record(), null, HOUR_MS);
    await sessions.delete('user-1');
    expect(await sessions.get('user-1')).toBeUndefined();
  });

  it('deletes a session by login id only while it still belongs to that login', async () => {
    const sessions = store();
    const later = record({ loginId: 'login-b' });
    await sessions.set('user-1', later, null, HOUR_MS);
    await sessions.delete('user-1', { loginId: 'login-a' });
    expect(await sessions.get('user-1')).toEqual(later);
    await sessions.delete('user-1', { loginId: 'login-b' });
    expect(await sessions.get('user-1')).toBeUndefined();
  });

  it('gives the session the TTL it was asked for', async () => {
    const sessions = store();
    await sessions.set('user-1', record(), null, 90_000);
    const ttl = await rawRedis(url).pttl(sessions.keyOf('user-1'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(90_000);
  });

  it('never keeps a session forever: an infinite or NaN TTL is refused instead of becoming PERSIST', async () => {
    const sessions = store();
    await sessions.set('user-1', record(), null, HOUR_MS);
    for (const ttlMs of [Number.POSITIVE_INFINITY, Number.NaN]) {
      const error = await rejection(() => sessions.set('user-1', record({ version: 2 }), { loginId: 'login-a', version: 1 }, ttlMs));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toBe(`RedisStore: ttlMs must be a finite number, got ${ttlMs}`);
    }
    const ttl = await rawRedis(url).pttl(sessions.keyOf('user-1'));
    expect(ttl).toBeGreaterThan(0);
    expect((await sessions.get('user-1'))?.version).toBe(1);
  });

  it('refuses a token set whose expiresAt is Infinity, which it could store but never read back', async () => {
    const sessions = store();
    const immortal = record({ tokens: { ...record().tokens, expiresAt: Number.POSITIVE_INFINITY } });
    const error = await rejection(() => sessions.set('user-1', immortal, null, HOUR_MS));
    expect(error.message).toBe('RedisStore: tokens.expiresAt must be a finite number, got Infinity');
    expect(await rawRedis(url).exists(sessions.keyOf('user-1'))).toBe(0);
  });

  it('cuts an absurdly long TTL (a refresh token said to live for centuries) to maxTtlMs', async () => {
    const sessions = store();
    await sessions.set('user-1', record(), null, 1e15);
    const ttl = await rawRedis(url).pttl(sessions.keyOf('user-1'));
    expect(ttl).toBeGreaterThan(STORE_DEFAULTS.maxTtlMs - 60_000);
    expect(ttl).toBeLessThanOrEqual(STORE_DEFAULTS.maxTtlMs);
    const shortCap = store({ maxTtlMs: 60_000 });
    await shortCap.set('user-1', record(), null, HOUR_MS);
    expect(await rawRedis(url).pttl(shortCap.keyOf('user-1'))).toBeLessThanOrEqual(60_000);
    expect(() => store({ maxTtlMs: Number.POSITIVE_INFINITY })).toThrow(
      'RedisStore: maxTtlMs must be a positive whole number of milliseconds, got Infinity',
    );
  });

  it('forgets a session once its TTL has passed', async () => {
    const sessions = store();
    await sessions.set('user-1', record(), null, 50);
    await eventually(async () => (await sessions.get('user-1')) === undefined);
    expect(await rawRedis(url).exists(sessions.keyOf('user-1'))).toBe(0);
  });

  it('keeps a session and its lock under one hash tag, so Redis Cluster puts them in one slot', () => {
    const sessions = store();
    const lock = new RedisLock({ store: sessions });
    for (const key of ['user-42', 'a}b{c', 'ada@example.test']) {
      expect(hashTag(sessions.keyOf(key))).toBe(hashTag(lock.keyOf(key)));
      expect(hashTag(sessions.keyOf(key))).toMatch(/^[\w-]{22}$/);
    }
    expect(hashTag(sessions.keyOf('user-1'))).not.toBe(hashTag(sessions.keyOf('user-2')));
  });

  it('keeps session keys with braces or percent signs apart', async () => {
    const sessions = store();
    const braced = record({ loginId: 'braced' });
    const encoded = record({ loginId: 'encoded' });
    await sessions.set('a}b', braced, null, HOUR_MS);
    await sessions.set('a%7Db', encoded, null, HOUR_MS);
    expect(await sessions.get('a}b')).toEqual(braced);
    expect(await sessions.get('a%7Db')).toEqual(encoded);
  });

  it('runs its scripts again after Redis has forgotten them (a restart or SCRIPT FLUSH)', async () => {
    const sessions = store();
    await sessions.set('user-1', record(), null, HOUR_MS);
    await rawRedis(url).script('FLUSH');
    const renewed = record({ version: 2 });
    expect(await sessions.set('user-1', renewed, { loginId: 'login-a', version: 1 }, HOUR_MS)).toBe(true);
    expect(await sessions.get('user-1')).toEqual(renewed);
  });

  it('keeps user ids and emails out of Redis key names, for the session and its lock', async () => {
    const prefix = uniquePrefix();
    const sessions = store({ prefix });
    const lock = new RedisLock({ store: sessions });
    await sessions.set('ada@example.test', record(), null, HOUR_MS);
    await lock.acquire('ada@example.test', { ttlMs: 10_000, waitMs: 0 });
    const keys = await rawRedis(url).keys(`${prefix}:*`);
    expect(keys.sort()).toEqual([lock.keyOf('ada@example.test'), sessions.keyOf('ada@example.test')].sort());
    expect(keys.join(' ')).not.toMatch(/ada|example/);
  });

  it('names keys by a keyed HMAC: another secret gives other names', () => {
    const prefix = uniquePrefix();
    const names = (secret: Buffer) => store({ prefix, encryptionKey: secret }).keyOf('ada@example.test');
    expect(names(KEY)).toBe(names(KEY));
    expect(names(KEY)).not.toBe(names(randomBytes(32)));
  });

  it('stores the login id and version in plain text next to the token set', async () => {
    const sessions = store();
    await sessions.set('user-1', record({ version: 3 }), null, HOUR_MS);
    const raw = await rawRedis(url).hgetall(sessions.keyOf('user-1'));
    expect(raw).toMatchObject({ loginId: 'login-a', version: '3' });
  });
});

describe('RedisStore with an encryptionKey', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  it('keeps no readable token in Redis', async () => {
    const prefix = uniquePrefix();
    const sessions = store({ prefix, encryptionKey: newKey });
    const written = record();
    await sessions.set('user-1', written, null, HOUR_MS);
    const raw = rawRedis(url);
    const keys = await raw.keys(`${prefix}:*`);
    expect(keys).toEqual([sessions.keyOf('user-1')]);
    const stored = JSON.stringify(await raw.hgetall(keys[0]!));
    expect(stored).not.toContain(written.tokens.accessToken);
    expect(stored).not.toContain(written.tokens.refreshToken);
    expect(stored).not.toContain('access-');
    expect(await sessions.get('user-1')).toEqual(written);
  });

  it('reads sessions sealed with an older key and seals new writes with the first key', async () => {
    const prefix = uniquePrefix();
    // Key names stay put through the rotation: keyNameSecret pinned to the key in use before.
    const before = store({ prefix, encryptionKey: oldKey });
    const rotating = store({ prefix, encryptionKey: [newKey, oldKey], keyNameSecret: oldKey });
    const after = store({ prefix, encryptionKey: newKey, keyNameSecret: oldKey });
    const written = record();
    await before.set('user-1', written, null, HOUR_MS);
    expect(await rotating.get('user-1')).toEqual(written);
    const renewed = record({ version: 2 });
    await rotating.set('user-1', renewed, { loginId: 'login-a', version: 1 }, HOUR_MS);
    expect(await after.get('user-1')).toEqual(renewed);
  });

  it('refuses a session sealed with a key it does not have, with STORE_UNAVAILABLE and no token in the message', async () => {
    const prefix = uniquePrefix();
    const written = record();
    await store({ prefix, encryptionKey: newKey }).set('user-1', written, null, HOUR_MS);
    const error = await rejection(() => store({ prefix, encryptionKey: oldKey, keyNameSecret: newKey }).get('user-1'));
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 });
    expect(JSON.stringify(error.toJSON?.())).not.toContain(written.tokens.accessToken);
  });

  it('refuses sealed data moved from one session to another', async () => {
    const sessions = store({ encryptionKey: newKey });
    await sessions.set('mallory', record(), null, HOUR_MS);
    await sessions.set('victim', record(), null, HOUR_MS);
    const raw = rawRedis(url);
    await raw.hset(sessions.keyOf('victim'), 'data', (await raw.hget(sessions.keyOf('mallory'), 'data'))!);
    expect(await rejection(() => sessions.get('victim'))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('refuses a plain-text session when it has an encryptionKey', async () => {
    const prefix = uniquePrefix();
    await store({ prefix, allowPlaintext: true, keyNameSecret: newKey }).set('user-1', record(), null, HOUR_MS);
    expect(await rejection(() => store({ prefix, encryptionKey: newKey }).get('user-1'))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('takes the same key as bytes, hex digits or base64', async () => {
    const prefix = uniquePrefix();
    const written = record();
    await store({ prefix, encryptionKey: newKey }).set('user-1', written, null, HOUR_MS);
    expect(await store({ prefix, encryptionKey: newKey.toString('hex') }).get('user-1')).toEqual(written);
    expect(await store({ prefix, encryptionKey: newKey.toString('base64') }).get('user-1')).toEqual(written);
  });

  it('rejects an encryptionKey that is not 32 bytes, naming the option', () => {
    expect(() => new RedisStore({ url, encryptionKey: randomBytes(16), redis: { lazyConnect: true } })).toThrow(/encryptionKey/);
    expect(() => new RedisStore({ url, encryptionKey: [newKey, 'short'], redis: { lazyConnect: true } })).toThrow(/encryptionKey\[1\]/);
  });
});

describe('RedisStore against someone who can write to Redis', () => {
  /** Saves a session's hash as it is now, to put it back later as an attacker would. */
  async function snapshot(sessions: RedisStore, key: string): Promise<() => Promise<void>> {
    const raw = rawRedis(url);
    const saved = await raw.hgetall(sessions.keyOf(key));
    return async () => {
      await raw.hset(sessions.keyOf(key), saved);
    };
  }

  it('refuses an older sealed (loginId, version, data) put back in Redis, instead of bringing an old token back', async () => {
    const sessions = store();
    const old = record();
    await sessions.set('user-1', old, null, HOUR_MS);
    const putBackOld = await snapshot(sessions, 'user-1');
    const renewed = record({ version: 2 });
    await sessions.set('user-1', renewed, { loginId: 'login-a', version: 1 }, HOUR_MS);
    await putBackOld();

    const error = await rejection(() => sessions.get('user-1'));
    expect(error).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      status: 503,
      message: 'a session in Redis is older than one this instance has seen (rolled back)',
    });
    expect(JSON.stringify(error.toJSON?.())).not.toContain(old.tokens.accessToken);
  });

  it('refuses a rollback to a version it only read, written by another instance', async () => {
    const prefix = uniquePrefix();
    const writer = store({ prefix });
    const reader = store({ prefix });
    await writer.set('user-1', record(), null, HOUR_MS);
    const putBackOld = await snapshot(writer, 'user-1');
    await writer.set('user-1', record({ version: 2 }), { loginId: 'login-a', version: 1 }, HOUR_MS);
    expect((await reader.get('user-1'))?.version).toBe(2);
    await putBackOld();
    expect(await rejection(() => reader.get('user-1'))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('refuses a logged-out session put back in Redis', async () => {
    const sessions = store();
    await sessions.set('user-1', record(), null, HOUR_MS);
    const putBack = await snapshot(sessions, 'user-1');
    await sessions.delete('user-1');
    await putBack();
    expect(await rejection(() => sessions.get('user-1'))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('refuses an earlier login put back over a later one', async () => {
    const sessions = store();
    await sessions.set('user-1', record({ version: 4 }), null, HOUR_MS);
    const putBackEarlier = await snapshot(sessions, 'user-1');
    await sessions.set('user-1', record({ loginId: 'login-b' }), null, HOUR_MS);
    await putBackEarlier();
    expect(await rejection(() => sessions.get('user-1'))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('does not take a read sent before its own renewal was written for a rollback', async () => {
    const sessions = store();
    await sessions.set('user-1', record(), null, HOUR_MS);
    for (let version = 1; version <= 50; version++) {
      // A request reads while the renewal writes: the read was sent first, so it answers the older version.
      const [read, written] = await Promise.all([
        sessions.get('user-1'),
        sessions.set('user-1', record({ version: version + 1 }), { loginId: 'login-a', version }, HOUR_MS),
      ]);
      expect(written).toBe(true);
      expect(read?.version).toBe(version);
    }
  });

  it('still reads the same version again, newer versions and new logins', async () => {
    const sessions = store();
    await sessions.set('user-1', record(), null, HOUR_MS);
    expect((await sessions.get('user-1'))?.version).toBe(1);
    expect((await sessions.get('user-1'))?.version).toBe(1);
    await sessions.set('user-1', record({ version: 2 }), { loginId: 'login-a', version: 1 }, HOUR_MS);
    expect((await sessions.get('user-1'))?.version).toBe(2);
    await sessions.set('user-1', record({ loginId: 'login-b' }), null, HOUR_MS);
    expect(await sessions.get('user-1')).toMatchObject({ loginId: 'login-b', version: 1 });
  });

  it('remembers at most maxRememberedSessions sessions, forgetting the least recently used', async () => {
    const sessions = store({ maxRememberedSessions: 2 });
    const restores: (() => Promise<void>)[] = [];
    for (const key of ['user-1', 'user-2', 'user-3']) {
      await sessions.set(key, record(), null, HOUR_MS);
      restores.push(await snapshot(sessions, key));
      await sessions.set(key, record({ version: 2 }), { loginId: 'login-a', version: 1 }, HOUR_MS);
    }
    for (const restore of restores) await restore();
    expect((await sessions.get('user-1'))?.version).toBe(1); // forgotten: unchecked
    expect(await rejection(() => sessions.get('user-3'))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(() => store({ maxRememberedSessions: -1 })).toThrow('RedisStore: maxRememberedSessions must be a whole number ≥ 0, got -1');
  });
});

describe('RedisStore without an encryptionKey', () => {
  it('refuses to be built, instead of silently writing tokens in plain text', () => {
    const attempt = () => new RedisStore({ url, redis: { lazyConnect: true } });
    expect(attempt).toThrow(TypeError);
    expect(attempt).toThrow(
      'RedisStore: encryptionKey is required (32 random bytes: `openssl rand -base64 32`); to store tokens unencrypted, pass allowPlaintext: true',
    );
    // What `encryptionKey: process.env.TOKEN_KEY` gives when the variable is not set.
    expect(() => new RedisStore({ url, encryptionKey: undefined, redis: { lazyConnect: true } })).toThrow(/encryptionKey is required/);
  });

  it('stores plain JSON only when told to with allowPlaintext: true', async () => {
    const sessions = store({ allowPlaintext: true });
    const written = record();
    await sessions.set('user-1', written, null, HOUR_MS);
    expect(await rawRedis(url).hget(sessions.keyOf('user-1'), 'data')).toContain(written.tokens.accessToken);
    expect(await sessions.get('user-1')).toEqual(written);
  });

  it('refuses allowPlaintext together with an encryptionKey, or as anything but a boolean', () => {
    const lazy = { url, redis: { lazyConnect: true } };
    expect(() => new RedisStore({ ...lazy, encryptionKey: KEY, allowPlaintext: true })).toThrow(
      'RedisStore: give encryptionKey or allowPlaintext: true, not both',
    );
    expect(() => new RedisStore({ ...lazy, allowPlaintext: 'yes' as unknown as boolean })).toThrow(
      'RedisStore: allowPlaintext must be a boolean',
    );
  });
});

describe('RedisStore encryption keys', () => {
  const lazy = { url, redis: { lazyConnect: true } };
  const passphrase = 'passwordpasswordpasswordpasswordpassword123';

  it('refuses a passphrase that happens to be 43 base64 characters, saying how to make a key, without echoing it', () => {
    expect(passphrase).toMatch(/^[A-Za-z0-9+/]{43}$/);
    let message = '';
    try {
      new RedisStore({ ...lazy, encryptionKey: passphrase });
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      message = (error as Error).message;
    }
    expect(message).toBe(
      'RedisStore: encryptionKey looks like a passphrase or a pattern, not 32 random bytes; make one with `openssl rand -base64 32` or crypto.randomBytes(32)',
    );
  });

  it.each([
    ['32 bytes of ASCII text', Buffer.from('correct horse battery staple!!!!')],
    ['a passphrase in hex', Buffer.from('correct horse battery staple!!!!').toString('hex')],
    ['a passphrase in base64', Buffer.from('correct horse battery staple!!!!').toString('base64')],
    ['words in base64 characters', 'CorrectHorseBatteryStapleCorrectHorseBatt12'],
    ['32 zero bytes', Buffer.alloc(32)],
    ['a repeated hex pattern', 'deadbeef'.repeat(8)],
  ])('refuses %s as an encryptionKey, naming the option', (_, key) => {
    expect(() => new RedisStore({ ...lazy, encryptionKey: key })).toThrow(/^RedisStore: encryptionKey looks like a passphrase/);
    expect(() => new RedisStore({ ...lazy, encryptionKey: [KEY, key] })).toThrow(/^RedisStore: encryptionKey\[1\] looks like a passphrase/);
    expect(() => new RedisStore({ ...lazy, allowPlaintext: true, keyNameSecret: key })).toThrow(/^RedisStore: keyNameSecret looks like/);
  });

  it('accepts keys made as the docs say, in every form', () => {
    for (let round = 0; round < 200; round++) {
      const bytes = randomBytes(32);
      for (const key of [bytes, bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url')]) {
        expect(() => new RedisStore({ ...lazy, encryptionKey: key })).not.toThrow();
      }
    }
  });
});

describe('RedisStore connections', () => {
  it('fails with STORE_UNAVAILABLE, without a token in the message, when Redis cannot be reached', async () => {
    const sessions = store({ url: `redis://127.0.0.1:${await closedPort()}`, commandTimeoutMs: 200 });
    const written = record();
    const error = await rejection(() => sessions.set('user-1', written, null, HOUR_MS));
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 });
    expect(JSON.stringify(error.toJSON?.())).not.toContain(written.tokens.accessToken);
    expect(await rejection(() => sessions.get('user-1'))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('leaves no unhandled rejection behind when a caller drops a failed answer', async () => {
    const sessions = store({ url: `redis://127.0.0.1:${await closedPort()}`, commandTimeoutMs: 100 });
    void sessions.get('user-1');
    // Fails as late as the dropped call: by then an unhandled rejection would have been reported.
    expect(await rejection(() => sessions.get('user-1'))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('fails with STORE_UNAVAILABLE when Redis stops answering, and works again once it answers', async () => {
    const server = await startRedisServer();
    onCleanup(() => server.close());
    const sessions = store({ url: server.url, commandTimeoutMs: 200 });
    const written = record();
    await sessions.set('user-1', written, null, HOUR_MS);
    server.pause();
    expect(await rejection(() => sessions.get('user-1'))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    server.resume();
    expect(await sessions.get('user-1')).toEqual(written);
  });

  it('never sends a write late that it gave up on while Redis was down', async () => {
    const server = await startRedisServer();
    onCleanup(() => server.close());
    const sessions = store({ url: server.url, commandTimeoutMs: 200 });
    await sessions.set('user-1', record(), null, HOUR_MS);
    await server.stop();
    expect(await rejection(() => sessions.set('user-2', record(), null, HOUR_MS))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await server.start();
    await eventually(
      async () =>
        await sessions.get('user-2').then(
          () => true,
          () => false,
        ),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await sessions.get('user-2')).toBeUndefined();
  });

  it('leaves a client it was given open when closed, and refuses calls afterwards', async () => {
    const client = new Redis(url);
    onCleanup(() => client.disconnect());
    const sessions = new RedisStore({ client, prefix: uniquePrefix(), encryptionKey: KEY });
    await sessions.set('user-1', record(), null, HOUR_MS);
    await sessions.close();
    expect(await client.ping()).toBe('PONG');
    expect(await rejection(() => sessions.get('user-1'))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('closes the connection it opened', async () => {
    const sessions = store();
    await sessions.get('user-1');
    await sessions.close();
    expect(sessions.client.status).toBe('end');
  });

  it('rejects a client given together with a url, naming the options', () => {
    const client = new Redis(url, { lazyConnect: true });
    expect(() => new RedisStore({ client, url, encryptionKey: KEY })).toThrow(/client, or url/);
    expect(() => new RedisStore({ url, commandTimeoutMs: 0, encryptionKey: KEY })).toThrow(/commandTimeoutMs/);
  });
});

/** Redis's rule: the part between the first `{` and the next `}`, if not empty. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
}

/** A loopback port nobody listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
