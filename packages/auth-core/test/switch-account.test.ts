import { createManualClock, startFakeUpstream } from '@tokenkeeper/testing';
import { describe, expect, it } from 'vitest';
import { basicAuth, type Lock, MemoryStore, refreshToken, TokenKeeper } from '../src/index.js';
import { protocolCase, rejection, setup } from './harness.js';

const teletracker = protocolCase('refreshToken');
const grace = teletracker.credentials('grace') as { username: string; password: string };

async function accountOf(keeper: TokenKeeper<any>, key: string): Promise<unknown> {
  return ((await (await keeper.session(key).fetch(teletracker.resource)).json()) as { accountId: unknown }).accountId;
}

describe('session.switchAccount', () => {
  it('binds the session to another account through the masquerade call: new tokens under the same key, and an event', async () => {
    const { keeper, upstream } = await setup('refreshToken');
    const switches: unknown[] = [];
    keeper.on('switch', (event) => switches.push(event));
    const session = keeper.session('grace');
    const before = await session.login(grace);
    const oldToken = await session.token();

    const after = await session.switchAccount(201);
    expect(after).toMatchObject({ status: 'active', version: before.version! + 1 });
    expect(await session.token()).not.toBe(oldToken);
    expect(await accountOf(keeper, 'grace')).toBe(201);
    expect(switches).toEqual([{ key: 'grace', protocol: 'refreshToken', durationMs: expect.any(Number), accountId: 201 }]);
    expect(upstream.stats).toMatchObject({ logins: 1, masquerades: 1 });
  });

  it('keeps refreshing the switched session with the refresh token the switch issued', async () => {
    const { keeper, upstream, clock } = await setup('refreshToken');
    await keeper.session('grace').login(grace);
    await keeper.session('grace').switchAccount(201);
    await clock.advance(teletracker.lifetimeMs + 1_000);
    expect(await accountOf(keeper, 'grace')).toBe(201);
    expect(upstream.stats).toMatchObject({ refreshes: 1, reuseDetections: 0 });
  });

  it('binds the switched account again when the session has to log in anew, not the one the credentials name', async () => {
    const { keeper, upstream, clock } = await setup(
      'refreshToken',
      { rememberCredentials: true },
      { refreshTokenLifetimeMs: 2 * teletracker.lifetimeMs },
    );
    await keeper.session('grace').login(grace);
    await keeper.session('grace').switchAccount(201);
    await clock.advance(2.5 * teletracker.lifetimeMs);
    expect(await accountOf(keeper, 'grace')).toBe(201);
    expect(upstream.stats).toMatchObject({ logins: 2, masquerades: 1 });
  });

  it('refuses an account the user may not use with ACCESS_DENIED and leaves the session as it was', async () => {
    const { keeper } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(teletracker.credentials('ada'));
    const token = await session.token();
    expect(await rejection(() => session.switchAccount(200))).toMatchObject({
      code: 'ACCESS_DENIED',
      status: 403,
      message: 'the upstream refused this switch (403)',
    });
    expect(await session.token()).toBe(token);
    expect(await accountOf(keeper, 'ada')).toBe(100);
  });

  it('renews an expired token first, since a dead bearer cannot switch', async () => {
    const { keeper, upstream, clock } = await setup('refreshToken');
    await keeper.session('grace').login(grace);
    await clock.advance(teletracker.lifetimeMs + 1_000);
    await keeper.session('grace').switchAccount(201);
    expect(upstream.stats).toMatchObject({ refreshes: 1, masquerades: 1, reuseDetections: 0 });
    expect(await accountOf(keeper, 'grace')).toBe(201);
  });

  it('renews a token the upstream killed early when the switch is answered with the expiry signal, and switches once more', async () => {
    const { keeper, upstream } = await setup('refreshToken');
    const session = keeper.session('grace');
    await session.login(grace);
    upstream.expireAccessToken();
    await session.switchAccount(201);
    expect(upstream.stats).toMatchObject({ refreshes: 1, masquerades: 1, reuseDetections: 0 });
    expect(await accountOf(keeper, 'grace')).toBe(201);
  });

  it('reports a switch answered 500 as it is, and a renewal that fails after the expiry signal, without switching', async () => {
    const { keeper, upstream } = await setup('refreshToken');
    const session = keeper.session('grace');
    await session.login(grace);
    upstream.faults.next('switch', 'status500'); // not the expiry signal: reported as it is
    expect(await rejection(() => session.switchAccount(201))).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      message: 'upstream switch answered 500',
    });
    upstream.expireAccessToken();
    upstream.faults.next('refresh', 'status503');
    expect(await rejection(() => session.switchAccount(201))).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(upstream.stats.masquerades).toBe(0);
  });

  it('never runs beside a renewal: a renewal that begins during the switch waits for it and finds the new tokens', async () => {
    const { keeper, upstream, clock } = await setup('refreshToken');
    const session = keeper.session('grace');
    await session.login(grace);
    await clock.advance(teletracker.lifetimeMs - 30_000); // inside the refresh window
    upstream.faults.next('switch', 'lateAnswer', { delayMs: 100 });
    const switching = session.switchAccount(201);
    const token = session.token(); // would start a background renewal, but the switch holds the key
    await switching;
    await token;
    await keeper.settled();
    expect(upstream.stats).toMatchObject({ masquerades: 1, refreshes: 0, reuseDetections: 0 });
    expect(await accountOf(keeper, 'grace')).toBe(201);
  });

  it('waits for a renewal that is running, then switches from the tokens it stored (no refresh token presented twice)', async () => {
    const { keeper, upstream, clock } = await setup('refreshToken');
    const session = keeper.session('grace');
    await session.login(grace);
    await clock.advance(teletracker.lifetimeMs + 1_000);
    upstream.faults.next('refresh', 'lateAnswer', { delayMs: 100 });
    const renewing = session.token();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await session.switchAccount(201);
    await renewing;
    expect(upstream.stats).toMatchObject({ refreshes: 1, masquerades: 1, reuseDetections: 0 });
    expect(await accountOf(keeper, 'grace')).toBe(201);
  });

  it('loses to a logout that begins while the switch is answering: NOT_LOGGED_IN, and nothing comes back', async () => {
    const { keeper, upstream } = await setup('refreshToken');
    const session = keeper.session('grace');
    await session.login(grace);
    upstream.faults.next('switch', 'lateAnswer', { delayMs: 150 });
    const switching = session.switchAccount(201);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await session.logout();
    expect(await rejection(() => switching)).toMatchObject({ code: 'NOT_LOGGED_IN', message: 'no session: log in first' });
    expect(await session.state()).toEqual({ status: 'none' });
    expect(await rejection(() => session.token())).toMatchObject({ code: 'NOT_LOGGED_IN' });
  });

  it('takes the same cross-process lock as renewals, and releases it', async () => {
    const taken: string[] = [];
    const lock: Lock = {
      async acquire(key) {
        taken.push(`acquire ${key}`);
        return async () => {
          taken.push(`release ${key}`);
        };
      },
    };
    const { keeper } = await setup('refreshToken', { lock, store: new MemoryStore() });
    await keeper.session('grace').login(grace);
    await keeper.session('grace').switchAccount(201);
    expect(taken).toEqual(['acquire grace', 'release grace']);
  });

  it('is a TypeError for an account id that is not an integer, or a protocol that cannot switch', async () => {
    const { keeper } = await setup('refreshToken');
    await keeper.session('grace').login(grace);
    await expect(keeper.session('grace').switchAccount('201' as unknown as number)).rejects.toThrow(
      new TypeError('switchAccount: accountId must be a safe integer'),
    );
    const clock = createManualClock();
    const upstream = await startFakeUpstream({ protocol: 'basicAuth', clock });
    const sensu = new TokenKeeper({ protocol: basicAuth({ baseUrl: upstream.url }), clock, keepAlive: false });
    try {
      await expect(sensu.session('ada').switchAccount(1)).rejects.toThrow(new TypeError('protocol basicAuth cannot switch accounts'));
    } finally {
      await sensu.close();
      await upstream.close();
    }
  });

  it('follows the masquerade option: another path and field, or none at all', async () => {
    const { upstream } = await setup('refreshToken');
    const none = new TokenKeeper({ protocol: refreshToken({ baseUrl: upstream.url, masquerade: false }), keepAlive: false });
    const elsewhere = new TokenKeeper({
      protocol: refreshToken({ baseUrl: upstream.url, masquerade: { path: '/accounts/switch', accountField: 'account' } }),
      keepAlive: false,
    });
    try {
      await expect(none.session('grace').switchAccount(201)).rejects.toThrow(TypeError);
      await elsewhere.session('grace').login(grace);
      expect(await rejection(() => elsewhere.session('grace').switchAccount(201))).toMatchObject({
        code: 'UPSTREAM_REJECTED',
        message: 'upstream switch answered 404',
      });
      expect(upstream.requests.at(-1)).toMatchObject({ method: 'POST', path: '/accounts/switch' });
    } finally {
      await none.close();
      await elsewhere.close();
    }
  });
});
