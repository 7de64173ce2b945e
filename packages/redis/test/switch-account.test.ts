import { beforeAll, describe, expect, it } from 'vitest';
import { instancesOnRedis, sharedRedisUrl } from './helpers.js';

let url: string;
beforeAll(async () => {
  url = await sharedRedisUrl();
});

describe('account switching across instances on one Redis', () => {
  it('a renewal on another instance waits for the switch’s lock and takes its tokens: no refresh of the replaced session', async () => {
    const { upstream, instance } = await instancesOnRedis(url, 'refreshToken');
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
