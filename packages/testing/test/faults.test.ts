import { describe, expect, it } from 'vitest';
import { createManualClock } from '../src/index.js';
import {
  ADA,
  basicAuthLogin,
  bearer,
  postJson,
  type RefreshTokenBody,
  refreshTokenLogin,
  type SensuTokens,
  sensuRefresh,
  sessionRenewLogin,
  useUpstreams,
} from './helpers.js';

function refreshTokenLoginRequest(url: string): Promise<Response> {
  return postJson(`${url}/auth/login`, { username: ADA.username, password: ADA.password });
}

describe('fault injection', () => {
  const start = useUpstreams();

  describe('answers that replace the response', () => {
    it.each([
      ['status500', 500],
      ['status502', 502],
      ['status503', 503],
    ] as const)('%s answers %i', async (kind, status) => {
      const upstream = await start({ protocol: 'refreshToken' });
      upstream.faults.next('login', kind);
      expect((await refreshTokenLoginRequest(upstream.url)).status).toBe(status);
      expect(upstream.stats.logins).toBe(0);
    });

    it('status429 answers 429 with Retry-After: 1', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      upstream.faults.next('login', 'status429');
      const res = await refreshTokenLoginRequest(upstream.url);
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('1');
    });

    it('malformedJson answers 200 with a JSON body cut short', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      upstream.faults.next('login', 'malformedJson');
      const res = await postJson(`${upstream.url}/user/authenticate`, ADA);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.text()).toBe('{"token": "abc');
    });

    it('htmlError answers 500 with an HTML page', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      upstream.faults.next('login', 'htmlError');
      const res = await fetch(`${upstream.url}/auth`);
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain('<html>');
    });

    it('ssoPage answers 200 with an HTML login form', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      upstream.faults.next('login', 'ssoPage');
      const res = await postJson(`${upstream.url}/user/authenticate`, ADA);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toMatch(/<form[^>]*method="post"/);
    });

    it('ssoRedirect answers 302 to an identity provider', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      upstream.faults.next('login', 'ssoRedirect');
      const manual = await fetch(`${upstream.url}/user/authenticate`, { method: 'POST', body: JSON.stringify(ADA), redirect: 'manual' });
      expect(manual.status).toBe(302);
      expect(manual.headers.get('location')).toBe('http://127.0.0.1:1/adfs/ls?client=x');
    });

    it('hugeBody answers 200 with a 2 MiB JSON body', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      upstream.faults.next('login', 'hugeBody');
      const res = await refreshTokenLoginRequest(upstream.url);
      const body = await res.text();
      expect(res.status).toBe(200);
      expect(body.length).toBe(2 * 1024 * 1024);
      expect(() => JSON.parse(body) as unknown).not.toThrow();
    });

    it('emptyBody answers 200 with no body', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      upstream.faults.next('refresh', 'emptyBody');
      const login = await refreshTokenLogin(upstream);
      const res = await postJson(`${upstream.url}/auth/refresh`, { refresh_token: login.refreshToken });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe('0');
      expect(await res.text()).toBe('');
    });

    it('expired answers an API call with the protocol’s expiry signal even for a valid token', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const token = await sessionRenewLogin(upstream);
      upstream.faults.next('api', 'expired');
      expect((await fetch(`${upstream.url}/user/users/me`, { headers: bearer(token) })).status).toBe(403);
      expect((await fetch(`${upstream.url}/user/users/me`, { headers: bearer(token) })).status).toBe(200);
      expect(upstream.stats.rejected).toBe(1);
    });

    it('leaves the server state untouched: a refresh answered 503 did not rotate', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const login = await refreshTokenLogin(upstream);
      upstream.faults.next('refresh', 'status503');
      expect((await postJson(`${upstream.url}/auth/refresh`, { refresh_token: login.refreshToken })).status).toBe(503);
      expect((await postJson(`${upstream.url}/auth/refresh`, { refresh_token: login.refreshToken })).status).toBe(200);
    });
  });

  describe('broken connections', () => {
    it('reset destroys the socket, so fetch rejects', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      upstream.faults.next('login', 'reset');
      await expect(fetch(`${upstream.url}/auth`)).rejects.toThrow();
    });

    it('truncated promises 200 bytes, sends 20 and ends the socket', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      upstream.faults.next('login', 'truncated');
      const res = await refreshTokenLoginRequest(upstream.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe('200');
      await expect(res.text()).rejects.toThrow();
    });

    it('hang never answers, until close() releases the request', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      upstream.faults.next('login', 'hang');
      const pending = postJson(`${upstream.url}/user/authenticate`, ADA);
      await expect.poll(() => upstream.requests.length).toBe(1);
      const outcome = await Promise.race([
        pending.then(
          () => 'answered',
          () => 'failed',
        ),
        delay(100).then(() => 'still waiting'),
      ]);
      expect(outcome).toBe('still waiting');
      await upstream.close();
      await expect(pending).rejects.toThrow();
    });

    it('timeout holds the answer back for delayMs, then answers normally', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      upstream.faults.next('login', 'timeout', { delayMs: 150 });
      const startedAt = performance.now();
      const res = await refreshTokenLoginRequest(upstream.url);
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(140);
      expect(res.status).toBe(200);
    });

    it('timeout is cut short by close(), which releases the waiting request', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      upstream.faults.next('login', 'timeout');
      const res = postJson(`${upstream.url}/auth/login`, ADA).catch((error: unknown) => error);
      await expect.poll(() => upstream.requests.length).toBe(1);
      const startedAt = performance.now();
      await upstream.close();
      expect(await res).toBeInstanceOf(Error);
      expect(performance.now() - startedAt).toBeLessThan(1_000);
    });
  });

  describe('token responses with something wrong inside', () => {
    it('crlfToken puts CR LF inside the token of an otherwise valid response', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      upstream.faults.next('login', 'crlfToken');
      const body = (await (await refreshTokenLoginRequest(upstream.url)).json()) as RefreshTokenBody;
      expect(body.token).toContain('\r\n');
      expect(body.refreshToken).not.toContain('\r\n');
    });

    it('crlfToken works on a text/plain sessionRenew body', async () => {
      const upstream = await start({ protocol: 'sessionRenew', loginBody: 'text' });
      upstream.faults.next('login', 'crlfToken');
      expect(await (await postJson(`${upstream.url}/user/authenticate`, ADA)).text()).toContain('\r\n');
    });

    it('missingExpiry drops tokenLifetime and tokenExpiration (refreshToken)', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      upstream.faults.next('login', 'missingExpiry');
      const body = (await (await refreshTokenLoginRequest(upstream.url)).json()) as Record<string, unknown>;
      expect(body).not.toHaveProperty('tokenLifetime');
      expect(body).not.toHaveProperty('tokenExpiration');
      expect(body).toHaveProperty('token');
    });

    it('missingExpiry drops expires_at (basicAuth)', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      upstream.faults.next('login', 'missingExpiry');
      const body = await basicAuthLogin(upstream);
      expect(body).not.toHaveProperty('expires_at');
      expect(body.access_token).toBeTruthy();
    });

    it('pastExpiry answers tokenLifetime -60 and a tokenExpiration a minute ago (refreshToken)', async () => {
      const clock = createManualClock(Date.UTC(2030, 5, 1, 0, 0, 0));
      const upstream = await start({ protocol: 'refreshToken', clock });
      upstream.faults.next('login', 'pastExpiry');
      const body = (await (await refreshTokenLoginRequest(upstream.url)).json()) as RefreshTokenBody;
      expect(body.tokenLifetime).toBe(-60);
      expect(body.tokenExpiration).toBe('2030-05-31T23:59:00+00:00');
    });

    it('pastExpiry answers an expires_at 60 seconds ago (basicAuth)', async () => {
      const clock = createManualClock(1_800_000_000_000);
      const upstream = await start({ protocol: 'basicAuth', clock });
      upstream.faults.next('refresh', 'pastExpiry');
      const login = await basicAuthLogin(upstream);
      const body = (await (await sensuRefresh(upstream, login.access_token, login.refresh_token)).json()) as SensuTokens;
      expect(body.expires_at).toBe(1_800_000_000 - 60);
    });

    it('stringLifetime answers "tokenLifetime": "3600"', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      upstream.faults.next('login', 'stringLifetime');
      const body = (await (await refreshTokenLoginRequest(upstream.url)).json()) as Record<string, unknown>;
      expect(body.tokenLifetime).toBe('3600');
    });

    it('extraFields adds unknown fields to a response that stays valid', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      upstream.faults.next('login', 'extraFields');
      const body = (await basicAuthLogin(upstream)) as unknown as Record<string, unknown>;
      expect(Object.keys(body).length).toBeGreaterThan(3);
      expect(upstream.tokenOwner(body.access_token as string)).toBe(1);
    });

    it('rotateThen500 rotates the refresh token, then answers 500', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const login = await refreshTokenLogin(upstream);
      upstream.faults.next('refresh', 'rotateThen500');
      expect((await postJson(`${upstream.url}/auth/refresh`, { refresh_token: login.refreshToken })).status).toBe(500);
      expect(upstream.stats.refreshes).toBe(1);
      expect((await postJson(`${upstream.url}/auth/refresh`, { refresh_token: login.refreshToken })).status).toBe(401);
      expect(upstream.stats.reuseDetections).toBe(1);
    });

    it('rotateThen500 on basicAuth leaves the client holding a refresh token whose reuse deletes the session', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      const login = await basicAuthLogin(upstream);
      upstream.faults.next('refresh', 'rotateThen500');
      expect((await sensuRefresh(upstream, login.access_token, login.refresh_token)).status).toBe(500);
      expect((await sensuRefresh(upstream, login.access_token, login.refresh_token)).status).toBe(400);
    });
  });

  describe('FaultControl', () => {
    it('injects a fault into the next count calls only', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      upstream.faults.next('login', 'status503', { count: 2 });
      expect(upstream.faults.pending('login')).toBe(2);
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${upstream.url}/auth/test`)).status);
      expect(upstream.faults.pending('login')).toBe(2); // /auth/test draws no faults
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${upstream.url}/auth`)).status);
      expect(statuses.slice(3)).toEqual([503, 503, 401]);
      expect(upstream.faults.pending('login')).toBe(0);
    });

    it('plays queued faults in the order they were given', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      upstream.faults.next('login', 'status502');
      upstream.faults.next('login', 'status429');
      expect((await fetch(`${upstream.url}/auth`)).status).toBe(502);
      expect((await fetch(`${upstream.url}/auth`)).status).toBe(429);
    });

    it('keeps faults of one endpoint away from the others', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      upstream.faults.next('refresh', 'status500');
      expect((await fetch(`${upstream.url}/public`)).status).toBe(200);
      expect((await basicAuthLogin(upstream)).access_token).toBeTruthy();
      expect(upstream.faults.pending('refresh')).toBe(1);
    });

    it('drops every queued fault on clear()', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      upstream.faults.next('login', 'status500', { count: 5 });
      upstream.faults.next('api', 'expired');
      upstream.faults.clear();
      expect(upstream.faults.pending('login')).toBe(0);
      expect(upstream.faults.pending('api')).toBe(0);
    });

    it('counts /whoami as an api call for faults', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const { token } = await refreshTokenLogin(upstream);
      upstream.faults.next('api', 'status502');
      expect((await fetch(`${upstream.url}/whoami`, { headers: bearer(token) })).status).toBe(502);
    });

    it.each([
      ['refreshToken', 'logout', 'status500', /no logout endpoint/],
      ['basicAuth', 'login', 'expired', /'api' calls only/],
      ['basicAuth', 'login', 'rotateThen500', /'refresh' calls only/],
      ['basicAuth', 'api', 'crlfToken', /'login' and 'refresh'/],
      ['sessionRenew', 'login', 'missingExpiry', /no expiry/],
      ['basicAuth', 'login', 'stringLifetime', /refreshToken only/],
    ] as const)('refuses %s %s/%s with a TypeError', async (protocol, endpoint, kind, message) => {
      const upstream = await start({ protocol });
      expect(() => upstream.faults.next(endpoint, kind)).toThrow(message);
    });

    it('refuses a count below 1 with a TypeError', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      expect(() => upstream.faults.next('login', 'status500', { count: 0 })).toThrow(TypeError);
    });
  });
});

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
