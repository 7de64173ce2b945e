import { randomBytes } from 'node:crypto';
import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { type FakeUpstream, startFakeUpstream } from '@tokenkeeper/testing';
import { describe, expect, it } from 'vitest';
import { RedisLock, RedisStore } from '../src/index.js';
import { eventually, onCleanup, rawRedis, rejection, uniquePrefix } from './helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

const ADA = { username: 'ada', password: 'ada-password-1' };
const GRACE = { username: 'grace', password: 'grace-password-2' };
const RESOURCE = '/reports/call-data';

interface Outage {
  redis: RedisServer;
  upstream: FakeUpstream;
  prefix: string;
  /** The Redis key of a session. */
  keyOf(sessionKey: string): string;
  /** Two app instances on the same Redis. */
  instances: [TokenKeeper<typeof ADA>, TokenKeeper<typeof ADA>];
}

/** A Redis of this test's own (it gets stopped), a fake upstream and two keepers on them. */
async function outage({ renewalTimeoutMs = 2_000 } = {}): Promise<Outage> {
  const redis = await startRedisServer();
  onCleanup(() => redis.close());
  const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
  onCleanup(() => upstream.close());
  const prefix = uniquePrefix();
  const encryptionKey = randomBytes(32);
  const stores: RedisStore[] = [];
  const instance = () => {
    const store = new RedisStore({ url: redis.url, prefix, commandTimeoutMs: 300, encryptionKey });
    stores.push(store);
    const keeper = new TokenKeeper({
      protocol: refreshToken({ baseUrl: upstream.url }),
      store,
      lock: new RedisLock({ store }),
      keepAlive: false,
      renewalTimeoutMs,
    });
    onCleanup(async () => {
      await keeper.close();
      await store.close();
    });
    return keeper;
  };
  const instances: Outage['instances'] = [instance(), instance()];
  return { redis, upstream, prefix, keyOf: (key) => stores[0]!.keyOf(key), instances };
}

/** What a request ended with: its HTTP status, or the AuthError code. */
async function outcome(keeper: TokenKeeper<typeof ADA>, key: string): Promise<string> {
  try {
    const response = await keeper.session(key).fetch(RESOURCE);
    await response.arrayBuffer();
    return String(response.status);
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

/** Requests in a loop on every instance until stopped; returns every outcome seen. */
function traffic(keepers: TokenKeeper<typeof ADA>[], key: string): { seen: Set<string>; stop(): Promise<Set<string>> } {
  let running = true;
  const seen = new Set<string>();
  const loops = keepers.map(async (keeper) => {
    while (running) {
      seen.add(await outcome(keeper, key));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
  return {
    seen,
    async stop() {
      running = false;
      await Promise.all(loops);
      return seen;
    },
  };
}

describe('when Redis goes down', () => {
  it('answers requests, logins and logouts with STORE_UNAVAILABLE (503), with no token in the error', async () => {
    const {
      redis,
      instances: [first, second],
    } = await outage();
    await first.session('user-1').login(ADA);
    const token = await first.session('user-1').token();
    await redis.stop({ keepData: true });

    const failures = [
      await rejection(() => first.session('user-1').fetch(RESOURCE)),
      await rejection(() => second.session('user-1').token()),
      await rejection(() => second.session('user-2').login(GRACE)),
      await rejection(() => first.session('user-1').logout()),
    ];

    for (const failure of failures) {
      expect(failure).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 });
      expect(JSON.stringify(failure.toJSON?.())).not.toContain(token);
    }
  });

  it('recovers by itself once Redis is back, with the sessions it had, without restarting the app', async () => {
    const { redis, upstream, instances } = await outage();
    await instances[0].session('user-1').login(ADA);
    const load = traffic(instances, 'user-1');
    await eventually(() => upstream.stats.apiCalls >= 10);
    await redis.stop({ keepData: true });
    await eventually(() => load.seen.has('STORE_UNAVAILABLE'));
    await redis.start();
    await eventually(async () => (await outcome(instances[0], 'user-1')) === '200' && (await outcome(instances[1], 'user-1')) === '200');
    const seen = await load.stop();

    expect([...seen].sort()).toEqual(['200', 'STORE_UNAVAILABLE']);
    expect(upstream.stats.logins).toBe(1);
    expect(upstream.stats.reuseDetections).toBe(0);
  });

  it('leaves no half-applied write: a login and a logout that failed while it was down changed nothing', async () => {
    const {
      redis,
      prefix,
      keyOf,
      instances: [first, second],
    } = await outage();
    await first.session('user-1').login(ADA);
    const raw = rawRedis(redis.url);
    const before = await raw.hgetall(keyOf('user-1'));
    await redis.stop({ keepData: true });
    await rejection(() => second.session('user-1').login(GRACE));
    await rejection(() => first.session('user-1').logout());
    await rejection(() => second.session('user-2').login(GRACE));
    await redis.start();
    await eventually(async () => (await outcome(second, 'user-1')) === '200');

    expect(await raw.hgetall(keyOf('user-1'))).toEqual(before);
    expect(await raw.keys(`${prefix}:*`)).toEqual([keyOf('user-1')]);
    expect((await second.session('user-2').state()).status).toBe('none');
  });
});

describe('when Redis restarts in the middle of a refresh', () => {
  /**
   * The first instance's refresh reaches the upstream, which rotates at once but answers 800 ms
   * later; Redis goes away before the answer arrives, so the rotated tokens cannot be stored
   * then. Answers what that request ended with, once Redis is back.
   */
  async function refreshLostToRestart({ redis, upstream, instances: [first] }: Outage): Promise<string> {
    await first.session('user-1').login(ADA);
    upstream.faults.next('api', 'expired');
    upstream.faults.next('refresh', 'lateAnswer', { delayMs: 800 });
    const during = outcome(first, 'user-1');
    await eventually(() => upstream.stats.refreshes === 1);
    await redis.stop({ keepData: true });
    const ended = await during;
    await redis.start();
    return ended;
  }

  it('the other instance never presents the refresh token the first one spent: it waits for the tokens the first one stores once Redis is back', async () => {
    // Upstream calls time out after 10 s, so a refresh may answer for min(6 s / 2, 22 s) = 3 s.
    const setup = await outage({ renewalTimeoutMs: 6_000 });
    const {
      upstream,
      instances: [first, second],
    } = setup;
    expect(await refreshLostToRestart(setup)).toBe('STORE_UNAVAILABLE');

    // After the restart, the second instance is told its token is dead.
    upstream.faults.next('api', 'expired');
    const after = await outcome(second, 'user-1');

    expect(upstream.stats.reuseDetections).toBe(0);
    expect(after).toBe('200');
    expect(await outcome(first, 'user-1')).toBe('200');
    // 1 when the second read the session before the first stored its tokens (it waited for them);
    // 2 when after (the second's rejected token was already the new one, and it refreshed that).
    expect(upstream.stats.refreshes).toBeLessThanOrEqual(2);
    expect(upstream.stats.logins).toBe(1);
  });

  it('ends the session honestly when Redis stays away longer than the refresh may answer: no refresh token is presented twice', async () => {
    // A refresh may answer for min(2 s / 2, 22 s) = 1 s; Redis is away for longer.
    const setup = await outage({ renewalTimeoutMs: 2_000 });
    const {
      upstream,
      instances: [first, second],
    } = setup;
    expect(await refreshLostToRestart(setup)).toBe('STORE_UNAVAILABLE');
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const reasons: string[] = [];
    second.on('expired', ({ reason }) => reasons.push(reason));
    upstream.faults.next('api', 'expired');
    const failure = await rejection(() => second.session('user-1').fetch(RESOURCE));

    expect(failure).toMatchObject({ code: 'SESSION_EXPIRED', status: 401, message: 'the session has expired: log in again' });
    expect(reasons).toEqual(["another instance's refresh did not store an answer in time: its refresh token may be spent"]);
    expect(upstream.stats.reuseDetections).toBe(0);
    expect(upstream.stats.refreshes).toBe(1);
    expect(await outcome(first, 'user-1')).toBe('NOT_LOGGED_IN'); // ended elsewhere: gone from Redis
  });
});
