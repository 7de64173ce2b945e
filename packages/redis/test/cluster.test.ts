import { randomBytes } from 'node:crypto';
import type { SessionState, TokenKeeper } from '@tokenkeeper/auth-core';
import { startFakeUpstream } from '@tokenkeeper/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createKeeper } from '../../../docs/snippets/redis/cluster.js';
import { createRedisCluster, RedisLock, RedisStore } from '../src/index.js';
import {
  commandCalls,
  eventually,
  fileCluster,
  instancesOnRedis,
  keptCopy,
  onCleanup,
  rejection,
  sessionRecord,
  uniquePrefix,
} from './helpers.js';
import type { RedisCluster } from './redis-cluster.js';
import { startWorkers, sumTallies, type Tally, type WorkerConfig } from './workers.js';

const ADA = { username: 'ada', password: 'ada-password-1' };
const GRACE = { username: 'grace', password: 'grace-password-2' };
const HOUR_MS = 3_600_000;

let cluster: RedisCluster;
// Six nodes started one at a time: give the start more than the default hook timeout on a busy machine.
beforeAll(async () => {
  cluster = await fileCluster();
}, 90_000);

/** An ioredis Cluster client of the test's own, bounded as the package advises. */
function clusterClient() {
  const client = createRedisCluster(cluster.nodes);
  client.on('error', () => {});
  onCleanup(() => client.quit().catch(() => {}));
  return client;
}

describe('RedisStore and RedisLock on a real Redis Cluster', () => {
  it("run the README's Cluster example: a keeper on the Cluster logs in, serves and logs out", async () => {
    const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
    onCleanup(() => upstream.close());
    const { keeper, close } = createKeeper(upstream.url, randomBytes(32).toString('base64'), cluster.nodes);
    try {
      await keeper.session('ada').login(ADA);
      expect(await (await keeper.session('ada').fetch('/reports/call-data')).json()).toMatchObject({ userId: 1 });
      await keeper.session('ada').logout();
      expect(await keeper.session('ada').state()).toMatchObject({ status: 'none' });
    } finally {
      await close();
    }
  });

  it('keep a session and its lock in one slot, and do compare-and-set there', async () => {
    const store = new RedisStore({ client: clusterClient(), prefix: uniquePrefix(), encryptionKey: randomBytes(32) });
    const lock = new RedisLock({ store });
    for (const key of ['user-1', 'ada@example.test', 'a}b{c']) {
      expect(await cluster.slotOf(store.keyOf(key))).toBe(await cluster.slotOf(lock.keyOf(key)));
      const written = sessionRecord();
      expect(await store.set(key, written, null, HOUR_MS)).toBe(true);
      expect(await store.set(key, sessionRecord({ version: 2 }), { loginId: 'login-a', version: 7 }, HOUR_MS)).toBe(false);
      expect(await store.get(key)).toEqual(written);
      const release = await lock.acquire(key, { ttlMs: 10_000, waitMs: 0 });
      expect(await rejection(() => lock.acquire(key, { ttlMs: 10_000, waitMs: 50 }))).toMatchObject({ code: 'TIMEOUT' });
      await release();
    }
  });

  it('wake a lock waiter on the release through the Cluster, without polling while the holder works', async () => {
    const store = new RedisStore({ client: clusterClient(), prefix: uniquePrefix(), encryptionKey: randomBytes(32) });
    const holder = new RedisLock({ store });
    const release = await holder.acquire('user-1', { ttlMs: 60_000, waitMs: 0 });
    // Attempts run on the master of the lock's slot (replicas only repeat successful writes).
    const master = [(await cluster.roles(await cluster.slotOf(holder.keyOf('user-1')))).master];
    const attemptsBefore = await commandCalls(master, 'set');
    const waiting = new RedisLock({ store, maxRetryDelayMs: 60_000 }).acquire('user-1', { ttlMs: 60_000, waitMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await release();
    await waiting;
    expect((await commandCalls(master, 'set')) - attemptsBefore).toBe(3);
  });

  it("drop a near cache's copies on every instance when any master takes a write, and serve copies without a round trip meanwhile", async () => {
    const prefix = uniquePrefix();
    const encryptionKey = randomBytes(32);
    const near = { maxAgeMs: 600_000 };
    const here = new RedisStore({ client: clusterClient(), prefix, encryptionKey, nearCache: near });
    const elsewhere = new RedisStore({ client: clusterClient(), prefix, encryptionKey, nearCache: near });
    onCleanup(() => Promise.all([here.close(), elsewhere.close()]));
    const keys = ['user-1', 'user-2', 'user-3', 'user-4', 'user-5', 'user-6'];
    // Six sessions over the three masters: the writes publish on whichever master holds the key.
    expect(
      new Set(await Promise.all(keys.map(async (key) => (await cluster.roles(await cluster.slotOf(here.keyOf(key)))).master.port))).size,
    ).toBeGreaterThan(1);
    for (const key of keys) await elsewhere.set(key, sessionRecord(), null, HOUR_MS);
    for (const key of keys) {
      await eventually(async () => {
        await here.get(key);
        return keptCopy(here, key) !== undefined;
      });
    }
    for (const key of keys) {
      expect(await elsewhere.set(key, sessionRecord({ version: 2 }), { loginId: 'login-a', version: 1 }, HOUR_MS)).toBe(true);
    }
    for (const key of keys) await eventually(() => keptCopy(here, key)?.version !== 1);
    for (const key of keys) expect(await here.get(key, { cached: true })).toMatchObject({ version: 2 });
  });

  it('spread sessions over the masters: keys of different sessions land in different slots', async () => {
    const store = new RedisStore({ client: clusterClient(), prefix: uniquePrefix(), encryptionKey: randomBytes(32) });
    const slots = new Set(await Promise.all(Array.from({ length: 20 }, (_, index) => cluster.slotOf(store.keyOf(`user-${index}`)))));
    expect(slots.size).toBeGreaterThan(10);
  });
});

describe('four app instances on a Redis Cluster during a failover', () => {
  it('lose no session and present no refresh token twice while a replica takes over, failing at most with STORE_UNAVAILABLE', async () => {
    const lifetimeMs = 2_000;
    const upstream = await startFakeUpstream({ protocol: 'refreshToken', accessTokenLifetimeMs: lifetimeMs });
    onCleanup(() => upstream.close());
    const config: WorkerConfig = {
      clusterNodes: cluster.nodes,
      upstreamUrl: upstream.url,
      prefix: uniquePrefix(),
      resource: '/reports/call-data',
      encryptionKey: randomBytes(32).toString('base64'),
      commandTimeoutMs: 1_000,
      keeper: { refreshWindowMs: lifetimeMs / 4, expiryMarginMs: 200, keepAliveJitterMs: 100, retryIntervalMs: 200 },
    };
    const workers = await startWorkers(4, config);
    const keys = ['user-1', 'user-2', 'user-3'];
    await workers[0]!.call('login', { key: 'user-1', credentials: ADA });
    await workers[1]!.call('login', { key: 'user-2', credentials: GRACE });
    await workers[2]!.call('login', { key: 'user-3', credentials: ADA });
    // Names the workers' keys: their store derives names from its first encryptionKey.
    const names = new RedisStore({
      allowPlaintext: true,
      keyNameSecret: config.encryptionKey,
      prefix: config.prefix,
      redis: { lazyConnect: true },
    });
    onCleanup(() => names.close());
    const slot = await cluster.slotOf(names.keyOf('user-1'));

    const traffic = Promise.all(
      workers.map((worker) => worker.call<Tally>('traffic', { keys, perKey: 2, durationMs: 4 * lifetimeMs, pauseMs: 20 })),
    );
    await new Promise((resolve) => setTimeout(resolve, 1.5 * lifetimeMs));
    const refreshesBefore = upstream.stats.refreshes;
    const { from, to } = await cluster.failover(slot);
    const tally = sumTallies(await traffic);

    // The failover happened, under traffic that kept refreshing.
    expect(to.port).not.toBe(from.port);
    expect((await cluster.roles(slot)).master.port).toBe(to.port);
    expect(upstream.stats.refreshes).toBeGreaterThan(refreshesBefore);
    // Requests saw at most STORE_UNAVAILABLE while the switch ran.
    expect(Object.keys(tally).filter((outcome) => outcome !== '200' && outcome !== 'STORE_UNAVAILABLE')).toEqual([]);
    expect(tally['200']).toBeGreaterThan(0);
    // No refresh token presented twice, no session lost (a lost one would need a new login).
    expect(upstream.stats.reuseDetections).toBe(0);
    expect(upstream.stats.logins).toBe(keys.length);
    for (const key of keys) {
      expect((await workers[3]!.call<SessionState>('state', { key })).status).not.toBe('none');
      expect(await workers[3]!.call('burst', { key, count: 1 })).toEqual({ '200': 1 });
    }
  });
});

describe('two app instances on a Redis Cluster whose master fails over in the middle of a refresh', () => {
  it('present no refresh token twice: the mark that one instance is presenting it moves to the new master with the session', async () => {
    const { upstream, instance: onCluster } = await instancesOnRedis(undefined, 'refreshToken');
    // Upstream calls time out after 10 s: a refresh may answer for min(10 s / 2, 22 s) = 5 s.
    const instance = () => onCluster({ store: { client: clusterClient(), commandTimeoutMs: 1_000 }, keeper: { renewalTimeoutMs: 10_000 } });
    const first = instance();
    const second = instance();
    const outcome = (keeper: TokenKeeper<unknown>) =>
      keeper
        .session('user-1')
        .fetch('/reports/call-data')
        .then(
          async (response) => {
            await response.arrayBuffer();
            return String(response.status);
          },
          (error: { code?: string }) => error.code ?? String(error),
        );
    await first.keeper.session('user-1').login(ADA);
    const slot = await cluster.slotOf(first.store.keyOf('user-1'));

    // The first instance's refresh is rotated upstream at once, its answer held back while the slot's master changes.
    upstream.faults.next('api', 'expired');
    upstream.faults.next('refresh', 'lateAnswer', { delayMs: 1_500 });
    const during = outcome(first.keeper);
    await eventually(() => upstream.stats.refreshes === 1);
    const { from, to } = await cluster.failover(slot);
    expect(['200', 'STORE_UNAVAILABLE']).toContain(await during);

    // The second instance is then told its token is dead.
    upstream.faults.next('api', 'expired');
    const after = await outcome(second.keeper);

    expect(to.port).not.toBe(from.port);
    expect(upstream.stats.reuseDetections).toBe(0);
    expect(after).toBe('200');
    await eventually(async () => (await outcome(first.keeper)) === '200');
    expect(upstream.stats.logins).toBe(1);
  }, 60_000);
});
