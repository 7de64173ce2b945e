/**
 * Four app instances in four processes, sharing sessions in one real Redis, against
 * oidc-provider: an expired session hit by 1,000 concurrent requests across them is refreshed
 * once, and the rotating refresh token is never presented twice.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { TokenKeeper } from '@tokenkeeper/auth-core';
import { type OAuth2Credentials, oauth2 } from '@tokenkeeper/oauth2';
import { connect, SECRET, startProvider, type TestProvider } from '@tokenkeeper/oauth2/testing';
import { RedisLock, RedisStore } from '@tokenkeeper/redis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { onCleanup, sharedRedisUrl, uniquePrefix } from '../../redis/test/helpers.js';
import { startWorker, sumTallies, type Tally } from '../../redis/test/workers.js';

const WORKER = fileURLToPath(new URL('./workers/oauth-worker.mjs', import.meta.url));
let redisUrl: string;
let provider: TestProvider;
beforeAll(async () => {
  redisUrl = await sharedRedisUrl();
});
afterEach(() => provider?.close());

describe('four app instances on one Redis, against oidc-provider', () => {
  it('refresh an expired session once for 1,000 concurrent requests, with no refresh token presented twice', async () => {
    provider = await startProvider();
    const config = {
      redisUrl,
      prefix: uniquePrefix(),
      encryptionKey: randomBytes(32).toString('base64'),
      issuer: provider.issuer,
      api: provider.api,
      clientId: 'basic-client',
      clientSecret: SECRET,
      resource: '/me',
    };
    // The user connects through one instance (here, the test process).
    const store = new RedisStore({ url: redisUrl, prefix: config.prefix, encryptionKey: config.encryptionKey });
    const protocol = oauth2(
      { issuer: provider.issuer },
      { baseUrl: provider.api, clientId: 'basic-client', clientSecret: SECRET, scope: 'openid offline_access' },
    );
    const keeper = new TokenKeeper<OAuth2Credentials>({ protocol, store, lock: new RedisLock({ store }), keepAlive: false });
    onCleanup(async () => {
      await keeper.close();
      await store.close();
    });
    await connect(keeper, protocol, 'ada');
    const record = (await store.get('ada'))!;
    const now = Date.now();
    const expired = { ...record, tokens: { ...record.tokens, issuedAt: now - 120_000, expiresAt: now - 60_000 } };
    expect(await store.set('ada', expired, { loginId: record.loginId, version: record.version }, 3_600_000)).toBe(true);
    const workers = await Promise.all(Array.from({ length: 4 }, () => startWorker(config, WORKER, ['auth-core', 'redis', 'oauth2'])));

    const tallies = await Promise.all(workers.map((worker) => worker.call<Tally>('burst', { key: 'ada', count: 250 })));

    expect(sumTallies(tallies)).toEqual({ '200': 1000 });
    expect(provider.tokenCalls).toEqual({ authorization_code: 1, refresh_token: 1 });
    expect(provider.revokedGrants).toBe(0);
  }, 60_000);
});
