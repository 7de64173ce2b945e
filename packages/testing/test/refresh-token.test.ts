import { describe, expect, it } from 'vitest';
import { createManualClock } from '../src/index.js';
import { ADA, bearer, GRACE, postJson, type RefreshTokenBody, refreshTokenLogin, useUpstreams } from './helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const START_AT = Date.UTC(2030, 0, 1, 12, 0, 0);

function refresh(url: string, refreshToken: string): Promise<Response> {
  return postJson(`${url}/auth/refresh`, { refresh_token: refreshToken });
}

describe('refreshToken fake upstream', () => {
  const start = useUpstreams();

  describe('POST /auth/login', () => {
    it('answers JSON credentials with the vendor response shape', async () => {
      const clock = createManualClock(START_AT);
      const upstream = await start({ protocol: 'refreshToken', clock });
      const body = await refreshTokenLogin(upstream);
      expect(body).toEqual({
        success: true,
        guid: expect.stringMatching(UUID),
        token: expect.stringMatching(UUID),
        tokenExpiration: '2030-01-01T13:00:00+00:00',
        tokenLifetime: 3600,
        refreshToken: expect.stringMatching(UUID),
        refreshTokenExpiration: '2030-01-31T12:00:00+00:00',
        accountId: 100,
      });
      expect(upstream.tokenOwner(body.token)).toBe(1);
    });

    it('writes tokenExpiration on the server clock, skew included', async () => {
      const clock = createManualClock(START_AT);
      const upstream = await start({ protocol: 'refreshToken', clock, clockSkewMs: 90_000 });
      expect((await refreshTokenLogin(upstream)).tokenExpiration).toBe('2030-01-01T13:01:30+00:00');
    });

    it('accepts a form-urlencoded body', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const res = await fetch(`${upstream.url}/auth/login`, {
        method: 'POST',
        body: new URLSearchParams({ username: 'grace', password: GRACE.password, account_id: '201' }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as RefreshTokenBody).accountId).toBe(201);
    });

    it('accepts a multipart/form-data body', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const form = new FormData();
      form.set('username', 'grace');
      form.set('password', GRACE.password);
      form.set('account_id', '200');
      const res = await fetch(`${upstream.url}/auth/login`, { method: 'POST', body: form });
      expect(res.status).toBe(200);
      expect(((await res.json()) as RefreshTokenBody).accountId).toBe(200);
    });

    it('refuses bad credentials with 401 and {success: false}', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const res = await postJson(`${upstream.url}/auth/login`, { username: 'ada', password: 'wrong' });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ success: false, message: expect.any(String) });
      expect(upstream.stats.loginFailures).toBe(1);
    });

    it('refuses an account_id that is not one of the user’s accounts with 403 "No access to account", as the vendor does', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const res = await postJson(`${upstream.url}/auth/login`, { username: 'ada', password: ADA.password, account_id: 200 });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ success: false, message: 'No access to account' });
    });

    it('refuses an account_id that is not an integer with 400', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const res = await postJson(`${upstream.url}/auth/login`, { username: 'ada', password: ADA.password, account_id: 'x1' });
      expect(res.status).toBe(400);
    });

    it('refuses a body without username or password with 400', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      expect((await postJson(`${upstream.url}/auth/login`, { username: 'ada' })).status).toBe(400);
    });

    it('only checks the credentials when auth_only=1', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const res = await fetch(`${upstream.url}/auth/login`, {
        method: 'POST',
        body: new URLSearchParams({ username: 'ada', password: ADA.password, auth_only: '1' }),
      });
      expect(await res.json()).toEqual({ success: true });
      expect(upstream.stats.logins).toBe(0);
    });
  });

  describe('POST /auth/refresh', () => {
    it('answers a new guid, token and refresh token', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const login = await refreshTokenLogin(upstream);
      const res = await refresh(upstream.url, login.refreshToken);
      expect(res.status).toBe(200);
      const body = (await res.json()) as RefreshTokenBody;
      expect(body.success).toBe(true);
      expect(body.guid).not.toBe(login.guid);
      expect(body.token).not.toBe(login.token);
      expect(body.refreshToken).not.toBe(login.refreshToken);
      expect(upstream.tokenOwner(body.token)).toBe(1);
      expect(upstream.stats.refreshes).toBe(1);
    });

    it('accepts refresh_token in a form-urlencoded body', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const login = await refreshTokenLogin(upstream);
      const res = await fetch(`${upstream.url}/auth/refresh`, {
        method: 'POST',
        body: new URLSearchParams({ refresh_token: login.refreshToken }),
      });
      expect(res.status).toBe(200);
    });

    it('refuses a reused refresh token with 401 and counts the reuse', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const login = await refreshTokenLogin(upstream);
      expect((await refresh(upstream.url, login.refreshToken)).status).toBe(200);
      expect((await refresh(upstream.url, login.refreshToken)).status).toBe(401);
      expect(upstream.stats).toMatchObject({ refreshes: 1, refreshFailures: 1, reuseDetections: 1 });
    });

    it('lets only one of two concurrent refreshes with the same token succeed', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const login = await refreshTokenLogin(upstream);
      const statuses = (await Promise.all([refresh(upstream.url, login.refreshToken), refresh(upstream.url, login.refreshToken)])).map(
        (r) => r.status,
      );
      expect(statuses.sort()).toEqual([200, 401]);
    });

    it('keeps the rotated refresh token usable', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const login = await refreshTokenLogin(upstream);
      const first = (await (await refresh(upstream.url, login.refreshToken)).json()) as RefreshTokenBody;
      expect((await refresh(upstream.url, first.refreshToken)).status).toBe(200);
    });

    it('refuses an unknown refresh token with 401', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      expect((await refresh(upstream.url, 'c04c7ff7-5fa1-48fb-aa2a-bcf97a6b8a79')).status).toBe(401);
      expect(upstream.stats.reuseDetections).toBe(0);
    });

    it('refuses a refresh token past its lifetime with 401', async () => {
      const clock = createManualClock();
      const upstream = await start({ protocol: 'refreshToken', clock, refreshTokenLifetimeMs: 60_000 });
      const login = await refreshTokenLogin(upstream);
      await clock.advance(60_000);
      expect((await refresh(upstream.url, login.refreshToken)).status).toBe(401);
    });

    it('expires refresh tokens a fixed time after login, however often they rotate', async () => {
      const clock = createManualClock(START_AT);
      const upstream = await start({ protocol: 'refreshToken', clock, refreshTokenLifetimeMs: 10 * 60_000 });
      let tokens = await refreshTokenLogin(upstream);
      for (let minute = 3; minute < 10; minute += 3) {
        await clock.advance(3 * 60_000);
        tokens = (await (await refresh(upstream.url, tokens.refreshToken)).json()) as RefreshTokenBody;
        expect(tokens.refreshTokenExpiration).toBe('2030-01-01T12:10:00+00:00');
      }
      await clock.advance(60_000);
      expect((await refresh(upstream.url, tokens.refreshToken)).status).toBe(401);
    });

    it('echoes the same refresh token, still usable, when rotateRefreshTokens is false', async () => {
      const upstream = await start({ protocol: 'refreshToken', rotateRefreshTokens: false });
      const login = await refreshTokenLogin(upstream);
      const body = (await (await refresh(upstream.url, login.refreshToken)).json()) as RefreshTokenBody;
      expect(body.refreshToken).toBe(login.refreshToken);
      expect((await refresh(upstream.url, login.refreshToken)).status).toBe(200);
    });
  });

  describe('GET /reports/call-data (protected)', () => {
    it('answers {success, data, userId} to a valid token', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const { token } = await refreshTokenLogin(upstream, GRACE);
      const res = await fetch(`${upstream.url}/reports/call-data`, { headers: bearer(token) });
      expect(await res.json()).toEqual({ success: true, data: [], userId: 2, accountId: 200 });
    });

    it('answers 401 once the token is an hour old', async () => {
      const clock = createManualClock();
      const upstream = await start({ protocol: 'refreshToken', clock });
      const { token } = await refreshTokenLogin(upstream);
      await clock.advance(3_600_000);
      expect((await fetch(`${upstream.url}/reports/call-data`, { headers: bearer(token) })).status).toBe(401);
      expect(upstream.stats.rejected).toBe(1);
    });

    it('answers 403 to an expired token when expiredStatus is 403', async () => {
      const clock = createManualClock();
      const upstream = await start({ protocol: 'refreshToken', clock, expiredStatus: 403 });
      const { token } = await refreshTokenLogin(upstream);
      await clock.advance(3_600_000);
      expect((await fetch(`${upstream.url}/reports/call-data`, { headers: bearer(token) })).status).toBe(403);
      expect((await fetch(`${upstream.url}/whoami`, { headers: bearer(token) })).status).toBe(403);
    });

    it('keeps the token from before a refresh valid until its own expiry', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const login = await refreshTokenLogin(upstream);
      await refresh(upstream.url, login.refreshToken);
      expect((await fetch(`${upstream.url}/reports/call-data`, { headers: bearer(login.token) })).status).toBe(200);
    });
  });

  describe('POST /auth/masquerade', () => {
    it('issues a token bound to another account of the same user', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const { token } = await refreshTokenLogin(upstream, GRACE);
      const res = await postJson(`${upstream.url}/auth/masquerade`, { account_id: 201 }, bearer(token));
      expect(res.status).toBe(200);
      const body = (await res.json()) as RefreshTokenBody;
      expect(body.accountId).toBe(201);
      expect(upstream.tokenOwner(body.token)).toBe(2);
    });

    it('refuses an account the user does not have with 403 "No access to account", like a login', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const { token } = await refreshTokenLogin(upstream);
      const res = await postJson(`${upstream.url}/auth/masquerade`, { account_id: 200 }, bearer(token));
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ success: false, message: 'No access to account' });
      expect(upstream.stats.masquerades).toBe(0);
    });

    it('answers the expiry signal to a dead bearer, and counts each switch it carries out', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const { token } = await refreshTokenLogin(upstream, GRACE);
      expect((await postJson(`${upstream.url}/auth/masquerade`, { account_id: 201 }, bearer(token))).status).toBe(200);
      expect(upstream.stats.masquerades).toBe(1);
      upstream.expireAccessToken(token);
      expect((await postJson(`${upstream.url}/auth/masquerade`, { account_id: 201 }, bearer(token))).status).toBe(401);
    });
  });
});
