import { randomBytes } from 'node:crypto';
import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { startFakeUpstream } from '@tokenkeeper/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { RedisLock, RedisStore } from '../src/index.js';
import { onCleanup, sharedRedisUrl, uniquePrefix } from './helpers.js';

let url: string;
beforeAll(async () => {
  url = await sharedRedisUrl();
});

describe('account switching across instances on one Redis', () => {
  it('a renewal on another instance waits for the switch’s lock and takes its tokens: no refresh of the replaced session', async () => {
    const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
    onCleanup(() => upstream.close());
    const prefix = uniquePrefix();
    const encryptionKey = randomBytes(32);
    const instance = () => {
      const store = new RedisStore({ url, prefix, encryptionKey });
      const keeper = new TokenKeeper({
        protocol: refreshToken({ baseUrl: upstream.url }),
        store,
        lock: new RedisLock({ store }),
        keepAlive: false,
      });
      onCleanup(async () => {
        await keeper.close();
        await store.close();
      });
      return { keeper, store };
    };
    const [{ keeper: a }, { keeper: b, store }] = [instance(), instance()];
    await a.session('grace').login({ username: 'grace', password: 'grace-password-2' });

    upstream.faults.next('switch', 'lateAnswer', { delayMs: 300 });
    const switching = a.session('grace').switchAccount(201);
    await new Promise((resolve) => setTimeout(resolve, 80));
    upstream.faults.next('api', 'expired'); // b's call is rejected while a's switch is answering: b must renew
    const answer = await b.session('grace').fetch('/reports/call-data');

    expect(await switching).toMatchObject({ status: 'active' });
    expect(await answer.json()).toMatchObject({ userId: 2, accountId: 201 });
    expect(upstream.stats).toMatchObject({ masquerades: 1, refreshes: 0, reuseDetections: 0 });
    expect(await store.get('grace')).toMatchObject({ accountId: 201 }); // sealed with the tokens, for a later re-login
  });
});
