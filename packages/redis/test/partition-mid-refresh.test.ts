import { describe, expect, it } from 'vitest';
import { eventually, instancesOnRedis, onCleanup, sharedRedisUrl } from './helpers.js';
import { startTcpProxy } from './tcp-proxy.js';

const ADA = { username: 'ada', password: 'ada-password-1' };
const RESOURCE = '/reports/call-data';

describe('one app instance partitioned from Redis in the middle of its refresh', () => {
  it('never lets the other instance present the refresh token the partitioned one spent: it logs in again, and both serve after the heal', async () => {
    const url = await sharedRedisUrl();
    const { upstream, instance } = await instancesOnRedis(url, 'refreshToken');
    const { hostname, port } = new URL(url);
    const proxy = await startTcpProxy({ host: hostname, port: Number(port) });
    onCleanup(() => proxy.close());
    // A service's credentials, from its vault: a re-login replaces a session whose refresh token may be spent.
    const keeper = { renewalTimeoutMs: 2_000, credentials: async () => ADA };
    const { keeper: cutOff } = instance({ store: { url: `redis://${proxy.host}:${proxy.port}`, commandTimeoutMs: 300 }, keeper });
    const { keeper: connected } = instance({ store: { commandTimeoutMs: 300 }, keeper });
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
