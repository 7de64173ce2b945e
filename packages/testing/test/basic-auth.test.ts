import { describe, expect, it } from 'vitest';
import { createManualClock } from '../src/index.js';
import { ADA, basic, basicAuthLogin, bearer, GRACE, postJson, type SensuTokens, sensuRefresh, useUpstreams } from './helpers.js';

const FIVE_MINUTES_MS = 5 * 60_000;
const TWELVE_HOURS_MS = 12 * 3_600_000;

function namespaces(url: string, accessToken: string): Promise<Response> {
  return fetch(`${url}/api/core/v2/namespaces`, { headers: bearer(accessToken) });
}

describe('basicAuth (Sensu) fake upstream', () => {
  const start = useUpstreams();

  describe('GET /auth (login)', () => {
    it('answers Basic credentials with access_token, expires_at in epoch seconds and refresh_token', async () => {
      const clock = createManualClock(1_800_000_000_000);
      const upstream = await start({ protocol: 'basicAuth', clock });
      const body = await basicAuthLogin(upstream);
      expect(body).toEqual({
        access_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        expires_at: 1_800_000_000 + 300,
        refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      });
      expect(upstream.tokenOwner(body.access_token)).toBe(1);
    });

    it('computes expires_at on the server clock, skew included', async () => {
      const clock = createManualClock(1_800_000_000_000);
      const upstream = await start({ protocol: 'basicAuth', clock, clockSkewMs: -120_000 });
      expect((await basicAuthLogin(upstream)).expires_at).toBe(1_800_000_000 + 300 - 120);
    });

    it('refuses bad credentials with 401 and a plain-text body', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const res = await fetch(`${upstream.url}/auth`, { headers: { authorization: basic('ada', 'wrong') } });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(upstream.stats.loginFailures).toBe(1);
    });

    it('refuses a request without credentials with 401', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      expect((await fetch(`${upstream.url}/auth`)).status).toBe(401);
    });
  });

  describe('GET /auth/test', () => {
    it('answers 200 to valid credentials and 401 to bad ones', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      expect((await fetch(`${upstream.url}/auth/test`, { headers: { authorization: basic('ada', ADA.password) } })).status).toBe(200);
      expect((await fetch(`${upstream.url}/auth/test`, { headers: { authorization: basic('ada', 'nope') } })).status).toBe(401);
      expect(upstream.stats.logins).toBe(0);
    });
  });

  describe('POST /auth/token (refresh)', () => {
    it('answers a new access token and a rotated refresh token', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const login = await basicAuthLogin(upstream);
      const res = await sensuRefresh(upstream, login.access_token, login.refresh_token);
      expect(res.status).toBe(200);
      const body = (await res.json()) as SensuTokens;
      expect(body.access_token).not.toBe(login.access_token);
      expect(body.refresh_token).not.toBe(login.refresh_token);
      expect(upstream.stats.refreshes).toBe(1);
    });

    it('accepts an expired access token as bearer', async () => {
      const clock = createManualClock();
      const upstream = await start({ protocol: 'basicAuth', clock });
      const login = await basicAuthLogin(upstream);
      await clock.advance(FIVE_MINUTES_MS + 1);
      expect((await sensuRefresh(upstream, login.access_token, login.refresh_token)).status).toBe(200);
    });

    it('refuses a request without a bearer with 401', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const login = await basicAuthLogin(upstream);
      expect((await postJson(`${upstream.url}/auth/token`, { refresh_token: login.refresh_token })).status).toBe(401);
    });

    it('refuses a bearer this server never issued with 401', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const login = await basicAuthLogin(upstream);
      expect((await sensuRefresh(upstream, 'forged', login.refresh_token)).status).toBe(401);
    });

    it('refuses a Basic header with 400', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const login = await basicAuthLogin(upstream);
      const res = await postJson(
        `${upstream.url}/auth/token`,
        { refresh_token: login.refresh_token },
        { authorization: basic('ada', ADA.password) },
      );
      expect(res.status).toBe(400);
    });

    it('refuses a body that is not JSON with 400 and a plain-text error', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const login = await basicAuthLogin(upstream);
      const res = await fetch(`${upstream.url}/auth/token`, { method: 'POST', headers: bearer(login.access_token), body: '{refresh' });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    });

    it('refuses an empty or unknown refresh token with 401', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const login = await basicAuthLogin(upstream);
      expect((await sensuRefresh(upstream, login.access_token, '')).status).toBe(401);
      expect((await sensuRefresh(upstream, login.access_token, 'unknown')).status).toBe(401);
    });

    it('refuses another user’s refresh token with 401', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const ada = await basicAuthLogin(upstream);
      const grace = await basicAuthLogin(upstream, GRACE);
      expect((await sensuRefresh(upstream, ada.access_token, grace.refresh_token)).status).toBe(401);
    });

    it('answers 400 "invalid access token" to a reused refresh token and deletes the whole session', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const login = await basicAuthLogin(upstream);
      const rotated = (await (await sensuRefresh(upstream, login.access_token, login.refresh_token)).json()) as SensuTokens;
      const reuse = await sensuRefresh(upstream, login.access_token, login.refresh_token);
      expect(reuse.status).toBe(400);
      expect(await reuse.text()).toBe('invalid access token');
      expect(upstream.stats.reuseDetections).toBe(1);
      expect((await namespaces(upstream.url, rotated.access_token)).status).toBe(401);
      expect((await namespaces(upstream.url, login.access_token)).status).toBe(401);
      expect((await sensuRefresh(upstream, rotated.access_token, rotated.refresh_token)).status).toBe(401);
    });

    it('logs the user out when two refreshes of one session race', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const login = await basicAuthLogin(upstream);
      const statuses = (
        await Promise.all([
          sensuRefresh(upstream, login.access_token, login.refresh_token),
          sensuRefresh(upstream, login.access_token, login.refresh_token),
        ])
      ).map((res) => res.status);
      expect(statuses.sort()).toEqual([200, 400]);
      expect(upstream.tokenOwner(login.access_token)).toBeUndefined();
    });

    it('leaves the user’s other sessions alone when one is deleted', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const doomed = await basicAuthLogin(upstream);
      const other = await basicAuthLogin(upstream);
      await sensuRefresh(upstream, doomed.access_token, doomed.refresh_token);
      await sensuRefresh(upstream, doomed.access_token, doomed.refresh_token);
      expect((await namespaces(upstream.url, other.access_token)).status).toBe(200);
    });

    it('lets the refresh token expire 12 hours after the last refresh, not after login', async () => {
      const clock = createManualClock();
      const upstream = await start({ protocol: 'basicAuth', clock });
      let tokens = await basicAuthLogin(upstream);
      await clock.advance(TWELVE_HOURS_MS - 1);
      tokens = (await (await sensuRefresh(upstream, tokens.access_token, tokens.refresh_token)).json()) as SensuTokens;
      await clock.advance(TWELVE_HOURS_MS - 1);
      const res = await sensuRefresh(upstream, tokens.access_token, tokens.refresh_token);
      expect(res.status).toBe(200);
      tokens = (await res.json()) as SensuTokens;
      await clock.advance(TWELVE_HOURS_MS);
      expect((await sensuRefresh(upstream, tokens.access_token, tokens.refresh_token)).status).toBe(401);
    });

    it('echoes the same refresh token when rotateRefreshTokens is false, sliding its expiry', async () => {
      const clock = createManualClock();
      const upstream = await start({ protocol: 'basicAuth', clock, rotateRefreshTokens: false });
      const login = await basicAuthLogin(upstream);
      await clock.advance(TWELVE_HOURS_MS - 1);
      const body = (await (await sensuRefresh(upstream, login.access_token, login.refresh_token)).json()) as SensuTokens;
      expect(body.refresh_token).toBe(login.refresh_token);
      await clock.advance(TWELVE_HOURS_MS - 1);
      expect((await sensuRefresh(upstream, body.access_token, login.refresh_token)).status).toBe(200);
    });
  });

  describe('POST /auth/logout', () => {
    it('ends refreshes of the session but leaves the access token working until it expires', async () => {
      const clock = createManualClock();
      const upstream = await start({ protocol: 'basicAuth', clock });
      const login = await basicAuthLogin(upstream);
      expect((await sensuRefresh(upstream, login.access_token, login.refresh_token, '/auth/logout')).status).toBe(200);
      expect(upstream.stats.logouts).toBe(1);
      expect((await sensuRefresh(upstream, login.access_token, login.refresh_token)).status).toBe(401);
      expect((await namespaces(upstream.url, login.access_token)).status).toBe(200);
      await clock.advance(FIVE_MINUTES_MS);
      expect((await namespaces(upstream.url, login.access_token)).status).toBe(401);
    });

    it('refuses a logout without a bearer with 401', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const login = await basicAuthLogin(upstream);
      expect((await postJson(`${upstream.url}/auth/logout`, { refresh_token: login.refresh_token })).status).toBe(401);
      expect(upstream.stats.logouts).toBe(0);
    });
  });

  describe('GET /api/core/v2/namespaces (protected)', () => {
    it('answers [{"name":"default"}] to a valid token', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const login = await basicAuthLogin(upstream);
      expect(await (await namespaces(upstream.url, login.access_token)).json()).toEqual([{ name: 'default' }]);
    });

    it('answers 401 {"Code":5,"Message":"invalid credentials"} once the token is 5 minutes old', async () => {
      const clock = createManualClock();
      const upstream = await start({ protocol: 'basicAuth', clock });
      const login = await basicAuthLogin(upstream);
      await clock.advance(FIVE_MINUTES_MS);
      const res = await namespaces(upstream.url, login.access_token);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ Code: 5, Message: 'invalid credentials' });
    });

    it('answers /whoami with the user id of the token', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const login = await basicAuthLogin(upstream, GRACE);
      expect(await (await fetch(`${upstream.url}/whoami`, { headers: bearer(login.access_token) })).json()).toEqual({ userId: 2 });
    });
  });
});
