import { randomBytes } from 'node:crypto';
import type { SessionState } from '@tokenkeeper/auth-core';
import { type FakeUpstream, type FakeUpstreamOptions, startFakeUpstream } from '@tokenkeeper/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRedisCluster, RedisLock, RedisStore } from '../src/index.js';
import { eventually, fileCluster, onCleanup, sharedRedisUrl, uniquePrefix } from './helpers.js';
import { type KeeperWorker, startWorker, startWorkers, sumTallies, type Tally, type WorkerConfig } from './workers.js';

const ADA = { username: 'ada', password: 'ada-password-1' };
const GRACE = { username: 'grace', password: 'grace-password-2' };
const RESOURCE = '/reports/call-data';

let redisUrl: string;
beforeAll(async () => {
  redisUrl = await sharedRedisUrl();
});

async function upstreamWith(options: Partial<FakeUpstreamOptions> = {}): Promise<FakeUpstream> {
  const upstream = await startFakeUpstream({ protocol: 'refreshToken', ...options });
  onCleanup(() => upstream.close());
  return upstream;
}

function configFor(upstream: FakeUpstream, extra: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    ...(!extra.clusterNodes && { redisUrl }),
    upstreamUrl: upstream.url,
    prefix: uniquePrefix(),
    resource: RESOURCE,
    encryptionKey: randomBytes(32).toString('base64'),
    ...extra,
  };
}

/** A store in the test process on the workers' Redis (or Cluster), with their key. */
function storeFor(config: WorkerConfig): RedisStore {
  // Queued until connected: the test reads through this client's own commands too.
  const connection = config.clusterNodes
    ? { client: createRedisCluster(config.clusterNodes, { enableOfflineQueue: true }) }
    : { url: config.redisUrl };
  const store = new RedisStore({ ...connection, prefix: config.prefix, encryptionKey: config.encryptionKey });
  onCleanup(async () => {
    await store.close();
    if (connection.client) await connection.client.quit();
  });
  return store;
}

/** Rewrites the stored session as if its access token had expired a minute ago. */
async function expireStoredSession(config: WorkerConfig, key: string): Promise<void> {
  const store = storeFor(config);
  const record = (await store.get(key))!;
  const now = Date.now();
  const expired = { ...record, tokens: { ...record.tokens, issuedAt: now - 3_660_000, expiresAt: now - 60_000 } };
  expect(await store.set(key, expired, { loginId: record.loginId, version: record.version }, 3_600_000)).toBe(true);
}

const BACKENDS = [
  { name: 'one Redis', connection: async () => ({ redisUrl }) },
  { name: 'a Redis Cluster (3 masters, 3 replicas)', connection: async () => ({ clusterNodes: (await fileCluster()).nodes }) },
];

describe.each(BACKENDS)('four app instances on $name', ({ connection }) => {
  it('refresh an expired session once for 1,000 concurrent requests, and all of them succeed', async () => {
    const upstream = await upstreamWith();
    // 1,000 store reads at once on a shared two-core machine can outlast the 2 s default on a
    // Cluster; this test is about one refresh between the instances, not about store latency.
    const config = configFor(upstream, { ...(await connection()), keeper: { keepAlive: false }, commandTimeoutMs: 10_000 });
    const workers = await startWorkers(4, config);
    await workers[0]!.call('login', { key: 'user-1', credentials: ADA });
    await expireStoredSession(config, 'user-1');

    const tallies = await Promise.all(workers.map((worker) => worker.call<Tally>('burst', { key: 'user-1', count: 250 })));

    expect(sumTallies(tallies)).toEqual({ '200': 1000 });
    expect(upstream.stats.refreshes).toBe(1);
    expect(upstream.stats.reuseDetections).toBe(0);
  }, 90_000); // the Cluster variant starts six nodes first

  it('never present the refresh token again when the instance presenting it is killed (kill -9) mid-refresh: another logs in again within the lock TTL', async () => {
    const upstream = await upstreamWith();
    // Upstream calls time out after 3 s, so the lock lives min(renewalTimeoutMs / 2, 2 × 3 s + 2 s) = 5 s.
    const config = configFor(upstream, {
      ...(await connection()),
      credentials: ADA,
      keeper: { keepAlive: false, timeoutMs: 3_000, renewalTimeoutMs: 12_000 },
    });
    const [holder, other] = (await startWorkers(2, config)) as [KeeperWorker, KeeperWorker];
    await holder.call('login', { key: 'user-1', credentials: ADA });
    await expireStoredSession(config, 'user-1');
    const store = storeFor(config);
    const lockKey = new RedisLock({ store }).keyOf('user-1');

    // The holder's refresh reaches the upstream, which rotates the refresh token at once and
    // would answer a minute later: the holder dies before it hears, and the new pair is lost.
    upstream.faults.next('refresh', 'lateAnswer', { delayMs: 60_000 });
    const dropped = holder.call('burst', { key: 'user-1', count: 5 }).catch(() => 'killed');
    await eventually(() => upstream.stats.refreshes === 1);
    const holderOwner = await store.client.get(lockKey);
    const waiting = other.call<Tally>('burst', { key: 'user-1', count: 50 });
    await holder.kill();

    expect(holderOwner).toMatch(/^[\w-]{20,}$/);
    expect(await dropped).toBe('killed');
    expect(await waiting).toEqual({ '200': 50 });
    expect(upstream.stats.reuseDetections).toBe(0);
    expect(upstream.stats.refreshes).toBe(1);
    expect(upstream.stats.logins).toBe(2);
  }, 90_000);

  it('end the session, rather than present the refresh token again, when the instance presenting it is killed and no credentials are at hand', async () => {
    const upstream = await upstreamWith();
    const config = configFor(upstream, {
      ...(await connection()),
      keeper: { keepAlive: false, timeoutMs: 3_000, renewalTimeoutMs: 12_000 },
    });
    const [holder, other] = (await startWorkers(2, config)) as [KeeperWorker, KeeperWorker];
    await holder.call('login', { key: 'user-1', credentials: ADA });
    await expireStoredSession(config, 'user-1');

    upstream.faults.next('refresh', 'lateAnswer', { delayMs: 60_000 });
    const dropped = holder.call('burst', { key: 'user-1', count: 5 }).catch(() => 'killed');
    await eventually(() => upstream.stats.refreshes === 1);
    const waiting = other.call<Tally>('burst', { key: 'user-1', count: 50 });
    await holder.kill();

    expect(await dropped).toBe('killed');
    expect(await waiting).toEqual({ SESSION_EXPIRED: 50 });
    expect(upstream.stats.reuseDetections).toBe(0);
    expect(upstream.stats.refreshes).toBe(1);
    expect(await other.call('events')).toMatchObject({ expired: 1 });
  }, 90_000);
});

describe('four app instances on one Redis', () => {
  it('never present a rotated refresh token twice under steady traffic across five token lifetimes', async () => {
    const lifetimeMs = 2_000;
    const upstream = await upstreamWith({ accessTokenLifetimeMs: lifetimeMs });
    const config = configFor(upstream, {
      // Everything scaled down with the 2-second tokens: renew in the last quarter of a lifetime.
      keeper: { refreshWindowMs: lifetimeMs / 4, expiryMarginMs: 200, keepAliveJitterMs: 100, retryIntervalMs: 200 },
    });
    const workers = await startWorkers(4, config);
    const keys = ['user-1', 'user-2', 'user-3'];
    await workers[0]!.call('login', { key: 'user-1', credentials: ADA });
    await workers[1]!.call('login', { key: 'user-2', credentials: GRACE });
    await workers[2]!.call('login', { key: 'user-3', credentials: ADA });

    const tallies = await Promise.all(
      workers.map((worker) => worker.call<Tally>('traffic', { keys, perKey: 2, durationMs: 5 * lifetimeMs, pauseMs: 40 })),
    );

    expect(upstream.stats.reuseDetections).toBe(0);
    expect(upstream.stats.refreshFailures).toBe(0);
    expect(Object.keys(sumTallies(tallies))).toEqual(['200']);
    // Five lifetimes crossed: every session was refreshed at least four times, and none was ended.
    expect(upstream.stats.refreshes).toBeGreaterThanOrEqual(4 * keys.length);
    expect(upstream.stats.logins).toBe(keys.length);
    for (const worker of workers) {
      expect(await worker.call('events')).toMatchObject({ expired: 0, errors: [] });
    }
    for (const key of keys) {
      expect((await workers[3]!.call<SessionState>('state', { key })).status).not.toBe('none');
    }
  });

  it('keep every session through an instance restart: a new process reads them from Redis', async () => {
    const upstream = await upstreamWith();
    const config = configFor(upstream, { keeper: { keepAlive: false } });
    const before = await startWorker(config);
    await before.call('login', { key: 'user-1', credentials: ADA });
    await before.call('login', { key: 'user-2', credentials: GRACE });
    await before.kill();

    const after = await startWorker(config);
    const tallies = [
      await after.call<Tally>('burst', { key: 'user-1', count: 5 }),
      await after.call<Tally>('burst', { key: 'user-2', count: 5 }),
    ];

    expect(sumTallies(tallies)).toEqual({ '200': 10 });
    expect(upstream.stats.logins).toBe(2);
  });

  it('see a logout on one instance on the next request to another', async () => {
    const upstream = await upstreamWith();
    const config = configFor(upstream, { keeper: { keepAlive: false } });
    const [first, second] = (await startWorkers(2, config)) as [
      Awaited<ReturnType<typeof startWorker>>,
      Awaited<ReturnType<typeof startWorker>>,
    ];
    await first.call('login', { key: 'user-1', credentials: ADA });
    expect(await second.call('burst', { key: 'user-1', count: 1 })).toEqual({ '200': 1 });

    await first.call('logout', { key: 'user-1' });

    expect(await second.call('burst', { key: 'user-1', count: 1 })).toEqual({ NOT_LOGGED_IN: 1 });
  });
});
