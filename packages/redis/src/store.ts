import { AuthError, type RecordVersion, type SessionRecord, type SessionStore } from '@tokenkeeper/auth-core';
import { type EncryptionKey, SessionCodec } from './codec.js';
import { handled, type RedisClient, RedisConnection, type RedisConnectionOptions, script } from './connection.js';
import { sessionRedisKey } from './keys.js';

export interface RedisStoreOptions extends RedisConnectionOptions {
  /**
   * Seal token sets with AES-256-GCM: a 32-byte key (Uint8Array, 64 hex digits or base64), or a
   * list of them to rotate keys: the first seals every write, all of them open reads. Default:
   * none, and token sets are stored as plain JSON (protect Redis accordingly).
   */
  encryptionKey?: EncryptionKey | readonly EncryptionKey[];
}

// A session is one hash: `loginId` and `version` in plain text for the compare-and-set, `data`
// the (sealed) token set. Each script touches one key, so it runs on any Cluster node.

/** ARGV: '1' to compare ('0' writes whatever is there), expected loginId, expected version, loginId, version, data, TTL ms ('0': none). */
const COMPARE_AND_SET = script(`
if ARGV[1] == '1' then
  local current = redis.call('HMGET', KEYS[1], 'loginId', 'version')
  if current[1] ~= ARGV[2] or current[2] ~= ARGV[3] then return 0 end
end
redis.call('HSET', KEYS[1], 'loginId', ARGV[4], 'version', ARGV[5], 'data', ARGV[6])
if ARGV[7] == '0' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[7]) end
return 1
`);

/** ARGV: the loginId the session must still belong to. */
const DELETE_IF_LOGIN = script(`
if redis.call('HGET', KEYS[1], 'loginId') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * A {@link SessionStore} in Redis, shared by every app instance that points at it. Writes are
 * compare-and-set on the session's login id and version (a Lua script), so a slower instance
 * never overwrites a newer token set or brings back a logged-out session. Every call is bounded
 * by `commandTimeoutMs` and fails with `AuthError('STORE_UNAVAILABLE')`.
 *
 * @example
 * const store = new RedisStore({ url: process.env.REDIS_URL, encryptionKey: process.env.TOKEN_KEY });
 * const keeper = new TokenKeeper({ protocol, store, lock: new RedisLock({ client: store.client }) });
 * // on shutdown
 * await keeper.close();
 * await store.close();
 */
export class RedisStore implements SessionStore {
  readonly #connection: RedisConnection;
  readonly #codec: SessionCodec;

  constructor(options: RedisStoreOptions = {}) {
    this.#codec = new SessionCodec(options?.encryptionKey);
    this.#connection = new RedisConnection('RedisStore', options);
  }

  /** The ioredis client in use: pass it to `RedisLock` to share one connection. */
  get client(): RedisClient {
    return this.#connection.client;
  }

  /** The Redis key a session lives under, e.g. `tk:{user-42}:session`. */
  keyOf(sessionKey: string): string {
    return sessionRedisKey(this.#connection.prefix, sessionKey);
  }

  get(key: string): Promise<SessionRecord | undefined> {
    return handled(this.#get(key));
  }

  set(key: string, record: SessionRecord, expected: RecordVersion | null, ttlMs: number): Promise<boolean> {
    return handled(this.#set(key, record, expected, ttlMs));
  }

  delete(key: string, expected?: Pick<RecordVersion, 'loginId'>): Promise<void> {
    return handled(this.#delete(key, expected));
  }

  async #get(key: string): Promise<SessionRecord | undefined> {
    const redisKey = this.keyOf(key);
    const [loginId, version, data] = await this.#connection.call((client) => client.hmget(redisKey, 'loginId', 'version', 'data'));
    if (loginId == null && version == null && data == null) return undefined;
    const parsedVersion = Number(version);
    if (!loginId || !data || !Number.isSafeInteger(parsedVersion)) {
      throw new AuthError('STORE_UNAVAILABLE', 'a session in Redis has missing or mistyped fields');
    }
    const { tokens, service } = this.#codec.decode(redisKey, loginId, parsedVersion, data);
    return { tokens, service, loginId, version: parsedVersion };
  }

  async #set(key: string, record: SessionRecord, expected: RecordVersion | null, ttlMs: number): Promise<boolean> {
    const redisKey = this.keyOf(key);
    const data = this.#codec.encode(redisKey, record);
    if (typeof ttlMs !== 'number' || Number.isNaN(ttlMs)) throw new TypeError('RedisStore: ttlMs must be a number');
    // '0' keeps it without expiry (an infinite TTL); anything due already lives 1 ms, as in MemoryStore.
    const ttl = ttlMs > Number.MAX_SAFE_INTEGER ? 0 : Math.max(1, Math.ceil(ttlMs));
    const written = await this.#connection.eval(COMPARE_AND_SET, redisKey, [
      expected ? '1' : '0',
      expected?.loginId ?? '',
      expected ? String(expected.version) : '',
      record.loginId,
      String(record.version),
      data,
      String(ttl),
    ]);
    return written === 1;
  }

  async #delete(key: string, expected?: Pick<RecordVersion, 'loginId'>): Promise<void> {
    const redisKey = this.keyOf(key);
    if (expected) await this.#connection.eval(DELETE_IF_LOGIN, redisKey, [expected.loginId]);
    else await this.#connection.call((client) => client.del(redisKey));
  }

  /** Closes the connection if the store created it (from `url`/`redis`); a `client` passed in stays open. */
  close(): Promise<void> {
    return this.#connection.close();
  }
}
