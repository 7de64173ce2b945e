import { describe, expect, it } from 'vitest';
import { createManualClock } from '../src/index.js';
import { ADA, bearer, GRACE, postJson, sessionRenewLogin, useUpstreams } from './helpers.js';

const FIFTEEN_MINUTES_MS = 15 * 60_000;

describe('sessionRenew fake upstream', () => {
  const start = useUpstreams();

  describe('POST /user/authenticate (login)', () => {
    it('answers valid credentials with {"token": ...}', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const res = await postJson(`${upstream.url}/user/authenticate`, { email: ADA.email, password: ADA.password, selectedOrg: 7 });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { token: string };
      expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(upstream.tokenOwner(body.token)).toBe(1);
      expect(upstream.stats.logins).toBe(1);
    });

    it('answers with a text/plain body holding only the token when loginBody is text', async () => {
      const upstream = await start({ protocol: 'sessionRenew', loginBody: 'text' });
      const res = await postJson(`${upstream.url}/user/authenticate`, { email: ADA.email, password: ADA.password });
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const token = await res.text();
      expect(upstream.tokenOwner(token)).toBe(1);
    });

    it('issues a different token on every login', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      expect(await sessionRenewLogin(upstream)).not.toBe(await sessionRenewLogin(upstream));
    });

    it('refuses a wrong password with 401', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const res = await postJson(`${upstream.url}/user/authenticate`, { email: ADA.email, password: 'wrong' });
      expect(res.status).toBe(401);
      expect(upstream.stats.loginFailures).toBe(1);
    });

    it('refuses an unknown email with 401', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const res = await postJson(`${upstream.url}/user/authenticate`, { email: 'nobody@example.test', password: ADA.password });
      expect(res.status).toBe(401);
    });

    it('answers 404 for a user who is not an active member of any org', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const res = await postJson(`${upstream.url}/user/authenticate`, { email: 'nomember@example.test', password: 'nomember-password-3' });
      expect(res.status).toBe(404);
    });

    it('answers 404 for a selectedOrg the user is not a member of', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const res = await postJson(`${upstream.url}/user/authenticate`, { email: ADA.email, password: ADA.password, selectedOrg: 8 });
      expect(res.status).toBe(404);
    });

    it('answers 400 for a body that is not JSON', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const res = await fetch(`${upstream.url}/user/authenticate`, { method: 'POST', body: 'email=ada' });
      expect(res.status).toBe(400);
    });

    it('answers 400 for missing fields or a selectedOrg that is not a number', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      expect((await postJson(`${upstream.url}/user/authenticate`, { email: ADA.email })).status).toBe(400);
      expect((await postJson(`${upstream.url}/user/authenticate`, { ...ADA, selectedOrg: '7' })).status).toBe(400);
    });

    it('reads the users list on every request, so a changed password takes effect at once', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      upstream.users[0]!.password = 'new-password';
      expect((await postJson(`${upstream.url}/user/authenticate`, ADA)).status).toBe(401);
      expect((await postJson(`${upstream.url}/user/authenticate`, { ...ADA, password: 'new-password' })).status).toBe(200);
    });
  });

  describe('GET /user/users/me (protected)', () => {
    it('answers the user and the org chosen at login', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const token = await sessionRenewLogin(upstream, GRACE, 8);
      const res = await fetch(`${upstream.url}/user/users/me`, { headers: bearer(token) });
      expect(await res.json()).toEqual({ id: 2, email: GRACE.email, currentOrg: { id: 8 } });
    });

    it('defaults the org to the first one the user belongs to', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const token = await sessionRenewLogin(upstream, GRACE);
      const res = await fetch(`${upstream.url}/user/users/me`, { headers: bearer(token) });
      expect(((await res.json()) as { currentOrg: { id: number } }).currentOrg.id).toBe(7);
    });

    it('answers 403 once the token is 15 minutes old', async () => {
      const clock = createManualClock();
      const upstream = await start({ protocol: 'sessionRenew', clock });
      const token = await sessionRenewLogin(upstream);
      await clock.advance(FIFTEEN_MINUTES_MS - 1);
      expect((await fetch(`${upstream.url}/user/users/me`, { headers: bearer(token) })).status).toBe(200);
      await clock.advance(1);
      expect((await fetch(`${upstream.url}/user/users/me`, { headers: bearer(token) })).status).toBe(403);
      expect(upstream.stats).toMatchObject({ apiCalls: 2, rejected: 1 });
    });

    it('answers 403 without a token or with an unknown one', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      expect((await fetch(`${upstream.url}/user/users/me`)).status).toBe(403);
      expect((await fetch(`${upstream.url}/user/users/me`, { headers: bearer('made-up') })).status).toBe(403);
    });

    it('answers 403 for a token killed early with expireAccessToken', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const killed = await sessionRenewLogin(upstream);
      const kept = await sessionRenewLogin(upstream);
      upstream.expireAccessToken(killed);
      expect((await fetch(`${upstream.url}/user/users/me`, { headers: bearer(killed) })).status).toBe(403);
      expect((await fetch(`${upstream.url}/user/users/me`, { headers: bearer(kept) })).status).toBe(200);
      expect(upstream.tokenOwner(killed)).toBeUndefined();
    });

    it('answers 403 for every token issued so far after expireAccessToken()', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const first = await sessionRenewLogin(upstream);
      const second = await sessionRenewLogin(upstream, GRACE);
      upstream.expireAccessToken();
      expect(upstream.tokenOwner(first)).toBeUndefined();
      expect(upstream.tokenOwner(second)).toBeUndefined();
      expect(upstream.tokenOwner(await sessionRenewLogin(upstream))).toBe(1);
    });
  });

  describe('GET /user/authenticate (renew)', () => {
    it('renews a valid token into a new 15-minute token', async () => {
      const clock = createManualClock();
      const upstream = await start({ protocol: 'sessionRenew', clock });
      const old = await sessionRenewLogin(upstream);
      await clock.advance(10 * 60_000);
      const res = await fetch(`${upstream.url}/user/authenticate`, { headers: bearer(old) });
      expect(res.status).toBe(200);
      const renewed = ((await res.json()) as { token: string }).token;
      expect(renewed).not.toBe(old);
      await clock.advance(FIFTEEN_MINUTES_MS - 1);
      expect(upstream.tokenOwner(renewed)).toBe(1);
      expect(upstream.stats.renewals).toBe(1);
    });

    it('keeps the old token valid until its own expiry', async () => {
      const clock = createManualClock();
      const upstream = await start({ protocol: 'sessionRenew', clock });
      const old = await sessionRenewLogin(upstream);
      await clock.advance(60_000);
      await fetch(`${upstream.url}/user/authenticate`, { headers: bearer(old) });
      expect(upstream.tokenOwner(old)).toBe(1);
      await clock.advance(FIFTEEN_MINUTES_MS - 60_000);
      expect(upstream.tokenOwner(old)).toBeUndefined();
    });

    it('keeps the org of the renewed session', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const old = await sessionRenewLogin(upstream, GRACE, 8);
      const renewed = ((await (await fetch(`${upstream.url}/user/authenticate`, { headers: bearer(old) })).json()) as { token: string })
        .token;
      const me = await (await fetch(`${upstream.url}/user/users/me`, { headers: bearer(renewed) })).json();
      expect(me).toMatchObject({ currentOrg: { id: 8 } });
    });

    it('refuses to renew an expired token with 403', async () => {
      const clock = createManualClock();
      const upstream = await start({ protocol: 'sessionRenew', clock });
      const token = await sessionRenewLogin(upstream);
      await clock.advance(FIFTEEN_MINUTES_MS);
      expect((await fetch(`${upstream.url}/user/authenticate`, { headers: bearer(token) })).status).toBe(403);
      expect(upstream.stats).toMatchObject({ renewals: 0, refreshFailures: 1 });
    });

    it('refuses to renew an unknown token with 403', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      expect((await fetch(`${upstream.url}/user/authenticate`, { headers: bearer('made-up') })).status).toBe(403);
    });

    it('answers a renewal in text/plain when loginBody is text', async () => {
      const upstream = await start({ protocol: 'sessionRenew', loginBody: 'text' });
      const old = await (await postJson(`${upstream.url}/user/authenticate`, ADA)).text();
      const renewed = await (await fetch(`${upstream.url}/user/authenticate`, { headers: bearer(old) })).text();
      expect(upstream.tokenOwner(renewed)).toBe(1);
    });
  });

  it('honours a custom accessTokenLifetimeMs', async () => {
    const clock = createManualClock();
    const upstream = await start({ protocol: 'sessionRenew', clock, accessTokenLifetimeMs: 1_000 });
    const token = await sessionRenewLogin(upstream);
    await clock.advance(1_000);
    expect(upstream.tokenOwner(token)).toBeUndefined();
  });

  it('serves GET /whoami with the same 403 expiry signal', async () => {
    const upstream = await start({ protocol: 'sessionRenew' });
    const token = await sessionRenewLogin(upstream, GRACE);
    expect(await (await fetch(`${upstream.url}/whoami`, { headers: bearer(token) })).json()).toEqual({ userId: 2 });
    expect((await fetch(`${upstream.url}/whoami`)).status).toBe(403);
  });
});
