import { describe, expect, it } from 'vitest';
import { PROTOCOLS, type ProtocolCase, rejection, type Setup, setup } from './harness.js';

/**
 * Refresh tokens that live 20 minutes and access tokens at most 10, so a test can outlive both
 * without outliving the stored session.
 */
const SHORT_REFRESH = { refreshTokenLifetimeMs: 20 * 60_000, accessTokenLifetimeMs: 5 * 60_000 };

/**
 * Moves the clock past the point where the session can be renewed: seed 000's token expires (it
 * can then only log in again); seed 001's refresh token lapses (its expiry is known); seed 002's
 * refresh token lapses on the upstream, which refuses it.
 */
async function outliveRenewal(clock: Setup['clock'], name: ProtocolCase['name']): Promise<void> {
  await clock.advance(name === 'sessionRenew' ? 16 * 60_000 : 21 * 60_000);
}

describe.each(PROTOCOLS)('$name preset against the fake upstream', (protocol) => {
  it('logs in and calls the upstream with the fresh token', async () => {
    const { upstream, keeper } = await setup(protocol.name);
    const session = keeper.session('ada');
    const state = await session.login(protocol.credentials('ada'));
    expect(state.status).toBe('active');
    const response = await session.fetch(protocol.resource);
    expect(response.status).toBe(200);
    expect(upstream.tokenOwner(await session.token())).toBe(1);
    expect(upstream.stats).toMatchObject({ logins: 1, apiCalls: 1, rejected: 0 });
  });

  it('refuses wrong credentials with INVALID_CREDENTIALS and stores nothing', async () => {
    const { keeper } = await setup(protocol.name);
    const session = keeper.session('ada');
    const error = await rejection(() => session.login(protocol.wrongCredentials));
    expect(error).toMatchObject({ code: 'INVALID_CREDENTIALS', status: 401, message: 'the upstream refused the credentials' });
    expect(await session.state()).toEqual({ status: 'none' });
  });

  it('renews in the background inside the refresh window while requests keep the current token', async () => {
    const { upstream, keeper, clock } = await setup(protocol.name);
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    const first = await session.token();
    await clock.advance(protocol.lifetimeMs - 30_000); // inside the 60 s window, not yet expired
    expect(await session.token()).toBe(first); // answered at once with the current token
    await expect.poll(() => protocol.renewals(upstream)).toBe(1);
    await expect.poll(() => session.token()).not.toBe(first);
    expect((await session.fetch(protocol.resource)).status).toBe(200);
    expect(upstream.stats.rejected).toBe(0);
    expect(protocol.renewals(upstream)).toBe(1);
  });

  it('renews and retries exactly once when the upstream answers the expiry signal', async () => {
    const { upstream, keeper } = await setup(protocol.name);
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    upstream.faults.next('api', 'expired');
    const response = await session.fetch(protocol.resource);
    expect(response.status).toBe(200);
    expect(upstream.stats.rejected).toBe(1);
    expect(protocol.renewals(upstream)).toBe(1);
    expect(upstream.stats.apiCalls).toBe(2);
  });

  it('hands a second rejection back to the caller instead of looping', async () => {
    const { upstream, keeper } = await setup(protocol.name);
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    upstream.faults.next('api', 'expired', { count: 5 });
    const response = await session.fetch(protocol.resource);
    expect(response.status).toBe(protocol.expirySignal);
    expect(upstream.stats.apiCalls).toBe(2);
    expect(protocol.renewals(upstream)).toBe(1);
  });

  it('logs in again through the credentials provider once the session can no longer be renewed', async () => {
    const { upstream, keeper, clock } = await setup(
      protocol.name,
      { credentials: (key: string) => protocol.credentials(key as 'ada') },
      protocol.name === 'sessionRenew' ? {} : SHORT_REFRESH,
    );
    const logins: string[] = [];
    keeper.on('login', (event) => logins.push(event.reason));
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    await outliveRenewal(clock, protocol.name);
    const response = await session.fetch(protocol.resource);
    expect(response.status).toBe(200);
    expect(logins).toEqual(['login', 'relogin']);
    expect(upstream.stats.logins).toBe(2);
    expect(upstream.stats.rejected).toBe(0);
  });

  it('ends the session with SESSION_EXPIRED when it can no longer be renewed and no credentials are at hand', async () => {
    const { keeper, clock } = await setup(protocol.name, {}, protocol.name === 'sessionRenew' ? {} : SHORT_REFRESH);
    const session = keeper.session('ada');
    const expired: string[] = [];
    keeper.on('expired', (event) => expired.push(event.key));
    await session.login(protocol.credentials('ada'));
    await outliveRenewal(clock, protocol.name);
    const error = await rejection(() => session.fetch(protocol.resource));
    expect(error).toMatchObject({ code: 'SESSION_EXPIRED', status: 401, message: 'the session has expired: log in again' });
    expect(expired).toEqual(['ada']);
    expect(await session.state()).toEqual({ status: 'ended' });
    await session.logout();
    expect(await session.state()).toEqual({ status: 'none' });
  });

  it('logs out: the session is gone here and further calls answer NOT_LOGGED_IN', async () => {
    const { upstream, keeper } = await setup(protocol.name);
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    await session.logout();
    expect(await session.state()).toEqual({ status: 'none' });
    const error = await rejection(() => session.fetch(protocol.resource));
    expect(error).toMatchObject({ code: 'NOT_LOGGED_IN', status: 401, message: 'no session: log in first' });
    if (protocol.name === 'basicAuth') expect(upstream.stats.logouts).toBe(1);
  });

  it('keeps two users apart: each request carries its own user’s token', async () => {
    const { upstream, keeper } = await setup(protocol.name);
    const ada = keeper.session('user-ada');
    const grace = keeper.session('user-grace');
    await Promise.all([ada.login(protocol.credentials('ada')), grace.login(protocol.credentials('grace'))]);
    const [adaAnswer, graceAnswer] = await Promise.all([ada.fetch('/whoami'), grace.fetch('/whoami')]);
    expect(await adaAnswer.json()).toEqual({ userId: 1 });
    expect(await graceAnswer.json()).toEqual({ userId: 2 });
    expect(upstream.tokenOwner(await grace.token())).toBe(2);
  });
});
