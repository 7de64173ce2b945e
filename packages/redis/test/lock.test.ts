import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { RedisLock, type RedisLockOptions, RedisStore } from '../src/index.js';
import { commandCalls, eventually, onCleanup, rawRedis, rejection, sharedRedisUrl, uniquePrefix } from './helpers.js';
import { startRedisServer } from './redis-server.js';

let url: string;
beforeAll(async () => {
  url = await sharedRedisUrl();
});

/** A lock on its own connection, as a separate app instance would have. */
function lockOf(prefix: string, options: RedisLockOptions = {}): RedisLock {
  const lock = new RedisLock({ url, prefix, ...options });
  onCleanup(() => lock.close());
  return lock;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RedisLock', () => {
  it('lets one holder at a time into the critical section, across connections', async () => {
    const prefix = uniquePrefix();
    const instances = Array.from({ length: 5 }, () => lockOf(prefix));
    let inside = 0;
    let mostInside = 0;
    let entries = 0;
    await Promise.all(
      instances.map(async (lock) => {
        for (let round = 0; round < 4; round++) {
          const release = await lock.acquire('user-1', { ttlMs: 10_000, waitMs: 10_000 });
          inside++;
          entries++;
          mostInside = Math.max(mostInside, inside);
          await sleep(3);
          inside--;
          await release();
        }
      }),
    );
    expect(entries).toBe(20);
    expect(mostInside).toBe(1);
  });

  it('does not make locks on different sessions wait for each other', async () => {
    const lock = lockOf(uniquePrefix());
    await lock.acquire('user-1', { ttlMs: 10_000, waitMs: 0 });
    await expect(lock.acquire('user-2', { ttlMs: 10_000, waitMs: 0 })).resolves.toBeTypeOf('function');
  });

  it('can be taken again once released', async () => {
    const lock = lockOf(uniquePrefix());
    const release = await lock.acquire('user-1', { ttlMs: 10_000, waitMs: 0 });
    await release();
    await expect(lock.acquire('user-1', { ttlMs: 10_000, waitMs: 0 })).resolves.toBeTypeOf('function');
  });

  it('fails with TIMEOUT (504) after waitMs while another instance holds it', async () => {
    const prefix = uniquePrefix();
    await lockOf(prefix).acquire('user-1', { ttlMs: 10_000, waitMs: 0 });
    const error = await rejection(() => lockOf(prefix).acquire('user-1', { ttlMs: 10_000, waitMs: 100 }));
    expect(error).toMatchObject({ code: 'TIMEOUT', status: 504 });
  });

  it('frees itself after ttlMs when its holder never releases it', async () => {
    const prefix = uniquePrefix();
    await lockOf(prefix).acquire('user-1', { ttlMs: 100, waitMs: 0 });
    await expect(lockOf(prefix).acquire('user-1', { ttlMs: 10_000, waitMs: 5_000 })).resolves.toBeTypeOf('function');
  });

  it('wakes a waiter when the holder releases, instead of polling while the holder works', async () => {
    const server = await startRedisServer();
    onCleanup(() => server.close());
    const node = [{ host: '127.0.0.1', port: server.port }];
    const lockOn = (options: RedisLockOptions = {}) => {
      const lock = new RedisLock({ url: server.url, prefix: 'tk', ...options });
      onCleanup(() => lock.close());
      return lock;
    };
    const release = await lockOn().acquire('user-1', { ttlMs: 60_000, waitMs: 0 });
    const attemptsBefore = await commandCalls(node, 'set');
    const waiting = lockOn({ maxRetryDelayMs: 60_000 }).acquire('user-1', { ttlMs: 60_000, waitMs: 20_000 });
    // The holder works for a while (polling would try again and again meanwhile), then releases.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await release();
    await waiting;
    // One attempt, one after subscribing (a release in between is not missed), one on the release.
    expect((await commandCalls(node, 'set')) - attemptsBefore).toBe(3);
  });

  it('wakes every waiter in turn, across instances, each by the release before it', async () => {
    const prefix = uniquePrefix();
    const release = await lockOf(prefix).acquire('user-1', { ttlMs: 60_000, waitMs: 0 });
    const waiters = Array.from({ length: 4 }, () => lockOf(prefix, { maxRetryDelayMs: 60_000 }));
    const order: number[] = [];
    const done = waiters.map(async (lock, index) => {
      const releaseNext = await lock.acquire('user-1', { ttlMs: 60_000, waitMs: 10_000 });
      order.push(index);
      await releaseNext();
    });
    setTimeout(() => void release(), 50);
    await Promise.all(done);
    expect(order.sort()).toEqual([0, 1, 2, 3]);
  });

  it('notices a holder that died (no release message) once its TTL runs out', async () => {
    const prefix = uniquePrefix();
    await lockOf(prefix).acquire('user-1', { ttlMs: 300, waitMs: 0 });
    const waiter = lockOf(prefix, { maxRetryDelayMs: 60_000 });
    await expect(waiter.acquire('user-1', { ttlMs: 10_000, waitMs: 5_000 })).resolves.toBeTypeOf('function');
  });

  it('closes its subscriber connection with the store it shares, leaving no socket open', async () => {
    const server = await startRedisServer();
    onCleanup(() => server.close());
    const subscribers = async () =>
      String(await rawRedis(server.url).client('LIST', 'TYPE', 'PUBSUB'))
        .split('\n')
        .filter(Boolean).length;
    const store = new RedisStore({ url: server.url, prefix: uniquePrefix(), encryptionKey: randomBytes(32) });
    const release = await new RedisLock({ store }).acquire('user-1', { ttlMs: 60_000, waitMs: 0 });
    const waiting = new RedisLock({ store }).acquire('user-1', { ttlMs: 10_000, waitMs: 5_000 });
    await eventually(async () => (await subscribers()) === 1);
    await release();
    await waiting;
    await store.close();
    await eventually(async () => (await subscribers()) === 0);
  });

  it('never deletes a lock that has expired and passed to another holder', async () => {
    const prefix = uniquePrefix();
    const first = lockOf(prefix);
    const releaseFirst = await first.acquire('user-1', { ttlMs: 100, waitMs: 0 });
    await lockOf(prefix).acquire('user-1', { ttlMs: 10_000, waitMs: 5_000 });
    const secondOwner = await rawRedis(url).get(first.keyOf('user-1'));
    await releaseFirst();
    expect(await rawRedis(url).get(first.keyOf('user-1'))).toBe(secondOwner);
    expect(await rejection(() => lockOf(prefix).acquire('user-1', { ttlMs: 10_000, waitMs: 50 }))).toMatchObject({ code: 'TIMEOUT' });
  });

  it('stops waiting with the signal’s reason when aborted', async () => {
    const prefix = uniquePrefix();
    await lockOf(prefix).acquire('user-1', { ttlMs: 10_000, waitMs: 0 });
    const reason = new Error('the caller gave up');
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 50);
    const error = await rejection(() => lockOf(prefix).acquire('user-1', { ttlMs: 10_000, waitMs: 10_000, signal: controller.signal }));
    expect(error).toBe(reason);
  });

  it('does not try at all with a signal that is already aborted', async () => {
    const lock = lockOf(uniquePrefix());
    const reason = new Error('already gone');
    expect(await rejection(() => lock.acquire('user-1', { ttlMs: 10_000, waitMs: 1_000, signal: AbortSignal.abort(reason) }))).toBe(reason);
    expect(await rawRedis(url).exists(lock.keyOf('user-1'))).toBe(0);
  });

  it('holds the lock under tk:{hash}:lock with a random owner and the TTL asked for', async () => {
    const prefix = uniquePrefix();
    const lock = lockOf(prefix);
    const raw = rawRedis(url);
    const release = await lock.acquire('user-1', { ttlMs: 30_000, waitMs: 0 });
    expect(await raw.keys(`${prefix}:*`)).toEqual([lock.keyOf('user-1')]);
    expect(lock.keyOf('user-1')).toMatch(new RegExp(`^${prefix}:\\{[\\w-]{22}\\}:lock$`));
    const firstOwner = await raw.get(lock.keyOf('user-1'));
    const ttl = await raw.pttl(lock.keyOf('user-1'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30_000);
    await release();
    await lock.acquire('user-1', { ttlMs: 30_000, waitMs: 0 });
    const secondOwner = await raw.get(lock.keyOf('user-1'));
    expect(firstOwner).toMatch(/^[\w-]{20,}$/);
    expect(secondOwner).not.toBe(firstOwner);
  });

  it('fails with STORE_UNAVAILABLE when Redis cannot be reached', async () => {
    const lock = new RedisLock({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 200 });
    onCleanup(() => lock.close());
    expect(await rejection(() => lock.acquire('user-1', { ttlMs: 1_000, waitMs: 1_000 }))).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      status: 503,
    });
  });

  it('shares the connection and key names of the store it is built from, and refuses connection options with it', () => {
    const store = new RedisStore({ url, encryptionKey: randomBytes(32), redis: { lazyConnect: true } });
    onCleanup(() => store.close());
    const lock = new RedisLock({ store });
    expect(lock.client).toBe(store.client);
    expect(() => new RedisLock({ store, url })).toThrow('RedisLock: give store, or url, not both');
    expect(() => new RedisLock({ store, prefix: 'other' })).toThrow('RedisLock: give store, or prefix, not both');
    expect(() => new RedisLock({ store: {} as RedisStore })).toThrow('RedisLock: store must be a RedisStore');
  });

  it('rejects invalid retry delays, naming the option', () => {
    expect(() => new RedisLock({ url, retryDelayMs: -1, redis: { lazyConnect: true } })).toThrow(/retryDelayMs/);
  });
});
