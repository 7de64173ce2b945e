import { randomBytes } from 'node:crypto';
import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { startFakeUpstream } from '@tokenkeeper/testing';
import { describe, expect, it } from 'vitest';
import { RedisLock, RedisStore } from '../src/index.js';
import { eventually, onCleanup, sharedRedisUrl, uniquePrefix } from './helpers.js';
import { startTcpProxy } from './tcp-proxy.js';

const ADA = { username: 'ada', password: 'ada-password-1' };
const RESOURCE = '/reports/call-data';

describe('one app instance partitioned from Redis in the middle of its refresh', () => {
  it('never lets the other instance present the refresh token the partitioned one spent: it logs in again, and both serve after the heal', async () => {
    const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
    onCleanup(() => upstream.close());
    const url = await sharedRedisUrl();
    const { hostname, port } = new URL(url);
    const proxy = await startTcpProxy({ host: hostname, port: Number(port) });
    onCleanup(() => proxy.close());
    const shared = { prefix: uniquePrefix(), encryptionKey: randomBytes(32), commandTimeoutMs: 300 };
    const keeperOn = (store: RedisStore) => {
      const keeper = new TokenKeeper({
        protocol: refreshToken({ baseUrl: upstream.url }),
        store,
        lock: new RedisLock({ store }),
        keepAlive: false,
        renewalTimeoutMs: 2_000,
        // A service's credentials, from its vault: a re-login replaces a session whose refresh token may be spent.
        credentials: async () => ADA,
      });
      onCleanup(async () => {
        await keeper.close();
        await store.close();
      });
      return keeper;
    };
    const cutOff = keeperOn(new RedisStore({ url: `redis://${proxy.host}:${proxy.port}`, ...shared }));
    const connected = keeperOn(new RedisStore({ url, ...shared }));
    await connected.session('ada').login(ADA);
    expect((await cutOff.session('ada').fetch(RESOURCE)).status).toBe(200);

    // The token dies early; the partitioned instance's refresh is rotated upstream, its answer held back.
    upstream.expireAccessToken();
    upstream.faults.next('refresh', 'lateAnswer', { delayMs: 800 });
    const cutOffRequest = cutOff
      .session('ada')
      .fetch(RESOURCE)
      .then(
        (response) => String(response.status),
        (error: { code?: string }) => error.code ?? String(error),
      );
    await eventually(() => upstream.stats.refreshes === 1);
    proxy.cut('blackhole');
    const cutOffOutcome = await cutOffRequest;

    // Meanwhile the other instance sees the same dead token and renews.
    const otherOutcome = await connected
      .session('ada')
      .fetch(RESOURCE)
      .then(
        (response) => String(response.status),
        (error: { code?: string }) => error.code ?? String(error),
      );
    proxy.heal();
    await eventually(
      async () =>
        (await cutOff
          .session('ada')
          .fetch(RESOURCE)
          .then(
            (r) => r.status,
            () => 0,
          )) === 200,
      10_000,
    );

    expect(cutOffOutcome).toBe('STORE_UNAVAILABLE');
    // It waited for the partitioned instance's answer while the record said it might come, then logged in.
    expect(otherOutcome).toBe('200');
    expect(upstream.stats.reuseDetections).toBe(0);
    expect(upstream.stats.refreshes).toBe(1);
    expect(upstream.stats.logins).toBe(2);
    expect(await connected.session('ada').token()).toBe(await cutOff.session('ada').token());
  }, 30_000);
});
