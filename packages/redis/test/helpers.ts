import { randomBytes } from 'node:crypto';
import { basicAuth, refreshToken, type SessionRecord, TokenKeeper, type TokenKeeperOptions } from '@tokenkeeper/auth-core';
import { startFakeUpstream } from '@tokenkeeper/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, inject } from 'vitest';
import { RedisLock, RedisStore, type RedisStoreOptions } from '../src/index.js';
import { type RedisCluster, startRedisCluster } from './redis-cluster.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs `cleanup` after the current test, last registered first. */
export function onCleanup(cleanup: () => unknown): void {
  cleanups.push(cleanup);
}

let ownServer: Promise<RedisServer> | undefined;
let ownCluster: Promise<RedisCluster> | undefined;
afterAll(async () => {
  await (await ownServer)?.close();
  await (await ownCluster)?.close();
});

/** A real Redis Cluster (3 masters, 3 replicas) for this test file, started on first use and stopped after the file. */
export function fileCluster(): Promise<RedisCluster> {
  ownCluster ??= startRedisCluster();
  return ownCluster;
}

/**
 * The URL of the shared test Redis (from the globalSetup), or of one started for this file when
 * the run has no globalSetup. Tests keep apart by key prefix (see {@link uniquePrefix}).
 */
export async function sharedRedisUrl(): Promise<string> {
  const provided = inject('redisUrl');
  if (provided) return provided;
  ownServer ??= startRedisServer();
  return (await ownServer).url;
}

/** A key prefix no other test uses. */
export function uniquePrefix(): string {
  return `tk-test-${randomBytes(6).toString('hex')}`;
}

/** A plain ioredis client for reading what the store wrote; closed after the test. */
export function rawRedis(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 0, lazyConnect: false });
  client.on('error', () => {});
  onCleanup(() => client.disconnect());
  return client;
}

/** The AuthError-like value `run` rejected with; fails the test if it resolved. */
export async function rejection(run: () => unknown): Promise<{ code: string; status: number; message: string; toJSON?(): unknown }> {
  try {
    await run();
  } catch (error) {
    return error as { code: string; status: number; message: string };
  }
  throw new Error('expected a rejection');
}

/** Polls `check` every 20 ms until it returns true, failing after `limitMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, limitMs = 10_000): Promise<void> {
  const giveUpAt = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > giveUpAt) throw new Error(`condition not met within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** How many times Redis ran `command` (scripts' calls included), summed over `nodes`: from INFO commandstats. */
export async function commandCalls(nodes: { host: string; port: number }[], command: string): Promise<number> {
  let total = 0;
  for (const { host, port } of nodes) {
    const client = new Redis({ host, port, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    try {
      const stats = await client.info('commandstats');
      total += Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
    } finally {
      client.disconnect();
    }
  }
  return total;
}

/** What one app instance of {@link instancesOnRedis} changes: how its store connects, and its keeper's options. */
export interface InstanceOverrides {
  /** Store options over the shared ones; a `url` (a proxy's) or a `client` (a Cluster) replaces the shared URL. */
  store?: Partial<Pick<RedisStoreOptions, 'url' | 'client' | 'commandTimeoutMs' | 'nearCache' | 'redis'>>;
  keeper?: Partial<Omit<TokenKeeperOptions<unknown>, 'protocol' | 'store' | 'lock'>>;
}

/**
 * App instances sharing one Redis or Cluster (one prefix, one encryption key) against a fake
 * upstream of `protocol`: each `instance()` is a keeper on its own RedisStore and RedisLock; all
 * are closed after the test.
 */
export async function instancesOnRedis<Name extends 'refreshToken' | 'basicAuth'>(url: string | undefined, protocol: Name) {
  const upstream = await startFakeUpstream({ protocol });
  onCleanup(() => upstream.close());
  const prefix = uniquePrefix();
  const encryptionKey = randomBytes(32);
  const preset = protocol === 'refreshToken' ? refreshToken : basicAuth;
  const instance = ({ store: connection = {}, keeper: options = {} }: InstanceOverrides = {}) => {
    const store = new RedisStore({ ...(connection.client === undefined && { url }), ...connection, prefix, encryptionKey });
    const keeper = new TokenKeeper({
      protocol: preset({ baseUrl: upstream.url }),
      store,
      lock: new RedisLock({ store }),
      keepAlive: false,
      ...options,
    });
    onCleanup(async () => {
      await keeper.close();
      await store.close();
    });
    return { keeper, store };
  };
  return { upstream, instance };
}

/** A session record of one login (`login-a`, version 1) with a fresh random access token for an hour. */
export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    tokens: { accessToken: `access-${randomBytes(12).toString('hex')}`, expiresAt: now + 3_600_000, issuedAt: now },
    version: 1,
    loginId: 'login-a',
    service: false,
    ...overrides,
  };
}

/** A request's read of `key` (`{ cached: true }`): the near cache's copy, or undefined when the store asks Redis. */
export function keptCopy(store: RedisStore, key: string): SessionRecord | undefined {
  const answer = store.get(key, { cached: true });
  return typeof (answer as { then?: unknown } | undefined)?.then === 'function' ? undefined : (answer as SessionRecord | undefined);
}
