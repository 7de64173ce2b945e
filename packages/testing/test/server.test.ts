import { describe, expect, it } from 'vitest';
import { createManualClock, type FakeUpstreamOptions, startFakeUpstream, startRecordingServer } from '../src/index.js';
import { ADA, basic, bearer, postJson, refreshTokenLogin, sessionRenewLogin, useClosables, useUpstreams } from './helpers.js';

const START_AT = Date.UTC(2030, 0, 1, 0, 0, 0);

describe('fake upstream server', () => {
  const start = useUpstreams();
  const track = useClosables();

  describe('listening', () => {
    it('listens on 127.0.0.1 with a port of its own, without a trailing slash', async () => {
      const first = await start({ protocol: 'basicAuth' });
      const second = await start({ protocol: 'basicAuth' });
      expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(first.url).not.toBe(second.url);
    });

    it('exposes its protocol, clock and users', async () => {
      const clock = createManualClock(START_AT);
      const upstream = await start({ protocol: 'refreshToken', clock });
      expect(upstream.protocol).toBe('refreshToken');
      expect(upstream.clock).toBe(clock);
      expect(upstream.users.map((user) => user.username)).toEqual(['ada', 'grace', 'nomember']);
    });

    it('gives each server its own copy of the default users', async () => {
      const first = await start({ protocol: 'basicAuth' });
      first.users[0]!.password = 'changed';
      const second = await start({ protocol: 'basicAuth' });
      expect(second.users[0]!.password).toBe('ada-password-1');
    });

    it('lets tests add users while it runs', async () => {
      const upstream = await start({ protocol: 'basicAuth' });
      upstream.users.push({ id: 9, username: 'linus', password: 'pw' });
      expect((await fetch(`${upstream.url}/auth`, { headers: { authorization: basic('linus', 'pw') } })).status).toBe(200);
    });

    it('closes idempotently', async () => {
      const upstream = await startFakeUpstream({ protocol: 'sessionRenew' });
      await upstream.close();
      await expect(upstream.close()).resolves.toBeUndefined();
      await expect(fetch(`${upstream.url}/public`)).rejects.toThrow();
    });
  });

  describe('time', () => {
    it('sends a Date header from the clock', async () => {
      const upstream = await start({ protocol: 'sessionRenew', clock: createManualClock(START_AT) });
      const res = await fetch(`${upstream.url}/public`);
      expect(res.headers.get('date')).toBe('Tue, 01 Jan 2030 00:00:00 GMT');
    });

    it('shifts the Date header by clockSkewMs', async () => {
      const upstream = await start({ protocol: 'sessionRenew', clock: createManualClock(START_AT), clockSkewMs: 3_600_000 });
      expect(Date.parse((await fetch(`${upstream.url}/public`)).headers.get('date')!)).toBe(START_AT + 3_600_000);
    });

    it('sends the Date header on error and fault answers too', async () => {
      const upstream = await start({ protocol: 'basicAuth', clock: createManualClock(START_AT), clockSkewMs: -5_000 });
      upstream.faults.next('login', 'status503');
      expect((await fetch(`${upstream.url}/auth`)).headers.get('date')).toBe('Mon, 31 Dec 2029 23:59:55 GMT');
      expect((await fetch(`${upstream.url}/nowhere`)).headers.get('date')).toBe('Mon, 31 Dec 2029 23:59:55 GMT');
    });

    it('follows setClockSkew for later answers and expiry checks', async () => {
      const clock = createManualClock(START_AT);
      const upstream = await start({ protocol: 'refreshToken', clock });
      const { token } = await refreshTokenLogin(upstream);
      upstream.setClockSkew(3_600_000);
      expect(Date.parse((await fetch(`${upstream.url}/public`)).headers.get('date')!)).toBe(START_AT + 3_600_000);
      expect(upstream.tokenOwner(token)).toBeUndefined();
    });

    it('uses the system clock by default', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const date = Date.parse((await fetch(`${upstream.url}/public`)).headers.get('date')!);
      expect(Math.abs(date - Date.now())).toBeLessThan(5_000);
    });
  });

  describe('close()', () => {
    it('releases a request the server never answers', async () => {
      const upstream = await startFakeUpstream({ protocol: 'basicAuth' });
      upstream.faults.next('login', 'hang');
      const pending = fetch(`${upstream.url}/auth`);
      await expect.poll(() => upstream.requests.length).toBe(1);
      await upstream.close();
      await expect(pending).rejects.toThrow();
    });

    it('releases a request waiting out latencyMs', async () => {
      const upstream = await startFakeUpstream({ protocol: 'basicAuth', latencyMs: 60_000 });
      const pending = fetch(`${upstream.url}/public`);
      await expect.poll(() => upstream.requests.length).toBe(1);
      await upstream.close();
      await expect(pending).rejects.toThrow();
    });
  });

  it('delays every answer by latencyMs of real time', async () => {
    const upstream = await start({ protocol: 'sessionRenew', latencyMs: 100, clock: createManualClock() });
    const startedAt = performance.now();
    expect((await fetch(`${upstream.url}/public`)).status).toBe(200);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(90);
  });

  describe('requests log', () => {
    it('records method, path with query, authorization header and clock time', async () => {
      const clock = createManualClock(START_AT);
      const upstream = await start({ protocol: 'sessionRenew', clock, clockSkewMs: 10_000 });
      await fetch(`${upstream.url}/public?x=1`, { headers: { authorization: 'Bearer abc' } });
      expect(upstream.requests).toEqual([
        {
          method: 'GET',
          path: '/public?x=1',
          authorization: 'Bearer abc',
          headers: expect.objectContaining({ authorization: 'Bearer abc' }),
          at: START_AT,
        },
      ]);
    });

    it('records requests without an authorization header as undefined', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      await sessionRenewLogin(upstream);
      expect(upstream.requests[0]).toMatchObject({ method: 'POST', path: '/user/authenticate', authorization: undefined });
    });
  });

  describe('common endpoints', () => {
    it('serves GET /public without authentication', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const res = await fetch(`${upstream.url}/public`);
      expect(res.status).toBe(200);
      expect(upstream.stats.apiCalls).toBe(0);
    });

    it('answers GET /redirect?to=<url> with a 302 to that url', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const target = 'http://127.0.0.1:9/elsewhere?q=1';
      const res = await fetch(`${upstream.url}/redirect?to=${encodeURIComponent(target)}`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(target);
    });

    it('refuses GET /redirect without an absolute url with 400', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      expect((await fetch(`${upstream.url}/redirect?to=/relative`, { redirect: 'manual' })).status).toBe(400);
    });

    it('answers GET /redirect?status=307 with that status, and refuses a status that is no redirect with 400', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      const to = encodeURIComponent('http://127.0.0.1:9/elsewhere');
      const res = await fetch(`${upstream.url}/redirect?status=307&to=${to}`, { redirect: 'manual' });
      expect(res.status).toBe(307);
      expect(res.headers.get('location')).toBe('http://127.0.0.1:9/elsewhere');
      const refused = await fetch(`${upstream.url}/redirect?status=200&to=${to}`, { redirect: 'manual' });
      expect(refused.status).toBe(400);
      expect(await refused.text()).toBe('status= must be 301, 302, 303, 307 or 308');
    });

    it('answers 404 to an unknown path and 405 to a known path with the wrong method', async () => {
      const upstream = await start({ protocol: 'refreshToken' });
      expect((await fetch(`${upstream.url}/nope`)).status).toBe(404);
      expect((await fetch(`${upstream.url}/auth/login`)).status).toBe(405);
    });

    it('refuses a request body over 64 KiB with 413', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const res = await postJson(`${upstream.url}/user/authenticate`, { ...ADA, padding: 'x'.repeat(64 * 1024) });
      expect(res.status).toBe(413);
      expect(upstream.stats.logins + upstream.stats.loginFailures).toBe(0);
    });

    it('accepts a request body of just under 64 KiB', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const res = await postJson(`${upstream.url}/user/authenticate`, { ...ADA, padding: 'x'.repeat(60 * 1024) });
      expect(res.status).toBe(200);
    });
  });

  describe('startRecordingServer', () => {
    it('answers 200 {ok: true} and records what it received', async () => {
      const recorder = await track(startRecordingServer());
      const res = await fetch(`${recorder.url}/steal?x=1`, { headers: { authorization: 'Bearer leaked' } });
      expect(await res.json()).toEqual({ ok: true });
      expect(recorder.requests).toMatchObject([{ method: 'GET', path: '/steal?x=1', authorization: 'Bearer leaked' }]);
    });

    it('receives the requests the fake upstream redirects to it', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const recorder = await track(startRecordingServer());
      await fetch(`${upstream.url}/redirect?to=${encodeURIComponent(`${recorder.url}/landing`)}`);
      expect(recorder.requests).toMatchObject([{ method: 'GET', path: '/landing' }]);
    });
    it('redirects /redirect?to=<url>&status=<3xx> as the fake upstream does, and records that request too', async () => {
      const recorder = await track(startRecordingServer());
      const res = await fetch(`${recorder.url}/redirect?status=308&to=${encodeURIComponent('http://127.0.0.1:9/back')}`, {
        redirect: 'manual',
      });
      expect(res.status).toBe(308);
      expect(res.headers.get('location')).toBe('http://127.0.0.1:9/back');
      expect(recorder.requests).toMatchObject([{ method: 'GET', path: expect.stringMatching(/^\/redirect\?/) }]);
    });
  });

  describe('stats', () => {
    it('resets every counter to zero', async () => {
      const upstream = await start({ protocol: 'sessionRenew' });
      const token = await sessionRenewLogin(upstream);
      await fetch(`${upstream.url}/whoami`, { headers: bearer(token) });
      await fetch(`${upstream.url}/whoami`);
      expect(upstream.stats).toMatchObject({ logins: 1, apiCalls: 2, rejected: 1 });
      upstream.stats.reset();
      expect(upstream.stats).toMatchObject({
        logins: 0,
        loginFailures: 0,
        renewals: 0,
        refreshes: 0,
        refreshFailures: 0,
        reuseDetections: 0,
        logouts: 0,
        apiCalls: 0,
        rejected: 0,
      });
    });
  });

  describe('options', () => {
    it.each([
      [{ protocol: 'oauth2' }, /protocol/],
      [{ protocol: 'basicAuth', accessTokenLifetimeMs: 0 }, /accessTokenLifetimeMs/],
      [{ protocol: 'basicAuth', refreshTokenLifetimeMs: -1 }, /refreshTokenLifetimeMs/],
      [{ protocol: 'basicAuth', latencyMs: -1 }, /latencyMs/],
      [{ protocol: 'basicAuth', clockSkewMs: Number.NaN }, /clockSkewMs/],
      [{ protocol: 'refreshToken', expiredStatus: 400 }, /expiredStatus/],
      [{ protocol: 'sessionRenew', loginBody: 'xml' }, /loginBody/],
    ])('refuses %o with a TypeError naming the option', async (options, message) => {
      await expect(startFakeUpstream(options as unknown as FakeUpstreamOptions)).rejects.toThrow(message);
    });
  });
});
