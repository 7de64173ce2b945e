import { startRecordingServer } from '@tokenkeeper/testing';
import { describe, expect, it } from 'vitest';
import { refreshToken, TokenKeeper } from '../src/index.js';
import { protocolCase, rejection, setup } from './harness.js';

const teletracker = protocolCase('refreshToken');
const ada = teletracker.credentials('ada');

describe('where tokens go', () => {
  it('refuses a request for another origin by default, sending nothing (a request forgery through req.upstream.fetch(req.query.path))', async () => {
    const { keeper } = await setup('refreshToken');
    const elsewhere = await startRecordingServer();
    try {
      const session = keeper.session('ada');
      await session.login(ada);
      const host = new URL(elsewhere.url).host;
      for (const input of [`${elsewhere.url}/latest/meta-data`, `//${host}/latest/meta-data`, `\\\\${host}\\latest`]) {
        const error = await rejection(() => session.fetch(input));
        expect(error).toMatchObject({ code: 'ORIGIN_NOT_ALLOWED', status: 400 });
        expect(error.message).toBe(
          `session.fetch does not send requests to ${elsewhere.url}: not the upstream's origin, and not in allowedOrigins`,
        );
      }
      expect(elsewhere.requests).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  it('sends requests to an allowed origin, without the token', async () => {
    const elsewhere = await startRecordingServer();
    const { keeper } = await setup('refreshToken', { allowedOrigins: [elsewhere.url] });
    try {
      const session = keeper.session('ada');
      await session.login(ada);
      expect((await session.fetch(`${elsewhere.url}/collect`)).status).toBe(200);
      expect(elsewhere.requests.map((request) => request.authorization)).toEqual([undefined]);
    } finally {
      await elsewhere.close();
    }
  });

  it('hands back a redirect to an origin nobody allowed, follows an allowed one without the token, and keeps the token on a same-origin redirect', async () => {
    const elsewhere = await startRecordingServer();
    const { keeper, upstream } = await setup('refreshToken', {}, {});
    const allowing = new TokenKeeper({ protocol: keeper.protocol, allowedOrigins: [elsewhere.url], keepAlive: false });
    try {
      const away = `/redirect?to=${encodeURIComponent(`${elsewhere.url}/landing`)}`;
      const session = keeper.session('ada');
      await session.login(ada);
      const refused = await session.fetch(away);
      expect(refused.status).toBe(302);
      expect(elsewhere.requests).toEqual([]);
      await allowing.session('ada').login(ada);
      expect((await allowing.session('ada').fetch(away)).status).toBe(200);
      expect(elsewhere.requests.map((request) => request.authorization)).toEqual([undefined]);
      const home = await session.fetch(`/redirect?to=${encodeURIComponent(`${upstream.url}/whoami`)}`);
      expect(await home.json()).toEqual({ userId: 1 });
    } finally {
      await allowing.close();
      await elsewhere.close();
    }
  });

  it('never authorizes a hop after the redirect chain left the origin, even one back on it (upstream 302 → CDN 307 → upstream)', async () => {
    const cdn = await startRecordingServer();
    const { keeper, upstream } = await setup('refreshToken', { allowedOrigins: [cdn.url] });
    try {
      const session = keeper.session('ada');
      await session.login(ada);
      const back = `${upstream.url}/whoami?via=cdn`;
      const response = await session.fetch(
        `/redirect?to=${encodeURIComponent(`${cdn.url}/redirect?status=307&to=${encodeURIComponent(back)}`)}`,
      );
      await response.body?.cancel();
      const reentries = upstream.requests.filter((request) => request.path === '/whoami?via=cdn');
      expect(reentries.length).toBeGreaterThan(0);
      for (const request of reentries) expect(request.authorization).toBeUndefined();
      expect(cdn.requests.every((request) => request.authorization === undefined)).toBe(true);
    } finally {
      await cdn.close();
    }
  });

  it('bounds a call to an API that never answers with requestTimeoutMs (TIMEOUT), instead of hanging forever', async () => {
    const { keeper, upstream } = await setup('refreshToken', { requestTimeoutMs: 200 });
    const session = keeper.session('ada');
    await session.login(ada);
    upstream.faults.next('api', 'hang');
    expect(await rejection(() => session.fetch(teletracker.resource))).toMatchObject({
      code: 'TIMEOUT',
      status: 504,
      message: 'upstream request took longer than 200 ms',
    });
    expect((await session.fetch(teletracker.resource)).status).toBe(200);
  });

  it('resolves relative URLs against the protocol’s base URL', async () => {
    const { keeper, upstream } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(ada);
    await session.fetch('whoami');
    expect(upstream.requests.at(-1)).toMatchObject({ method: 'GET', path: '/whoami' });
  });
});

describe('request bodies', () => {
  it('resends a string body on the one retry after the expiry signal', async () => {
    const { keeper, upstream } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(ada);
    upstream.faults.next('api', 'expired');
    const response = await session.fetch('/echo', { method: 'POST', body: 'report=42', headers: { 'content-type': 'text/plain' } });
    expect(await response.json()).toEqual({ userId: 1, body: 'report=42' });
    expect(upstream.stats.rejected).toBe(1);
  });

  it('resends a streamed Request body on the one retry, from a copy taken before sending', async () => {
    const { keeper, upstream } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(ada);
    upstream.faults.next('api', 'expired');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed '));
        controller.enqueue(new TextEncoder().encode('body'));
        controller.close();
      },
    });
    const request = new Request(`${upstream.url}/echo`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    const response = await session.fetch(request);
    expect(await response.json()).toEqual({ userId: 1, body: 'streamed body' });
    expect(upstream.stats.rejected).toBe(1);
  });
});

describe('logout wins', () => {
  it('never lets a renewal that finishes after logout() bring the session back', async () => {
    const { keeper, upstream, clock } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(ada);
    await clock.advance(teletracker.lifetimeMs + 1_000);
    upstream.faults.next('refresh', 'timeout', { delayMs: 300 });
    const request = session.fetch(teletracker.resource);
    await expect.poll(() => upstream.requests.some((seen) => seen.path === '/auth/refresh')).toBe(true);
    await session.logout();
    const error = await rejection(() => request);
    expect(error).toMatchObject({ code: 'NOT_LOGGED_IN', message: 'no session: log in first' });
    expect(await session.state()).toEqual({ status: 'none' });
    expect(upstream.stats.refreshes).toBe(1); // the refresh did happen upstream; it was not kept
  });

  it('does not let a renewal of an earlier login overwrite a newer login', async () => {
    const { keeper, upstream, clock } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(ada);
    await clock.advance(teletracker.lifetimeMs + 1_000);
    upstream.faults.next('refresh', 'timeout', { delayMs: 300 });
    const request = session.fetch('/whoami');
    await expect.poll(() => upstream.requests.some((seen) => seen.path === '/auth/refresh')).toBe(true);
    await session.login(teletracker.credentials('grace'));
    expect(await (await request).json()).toEqual({ userId: 2 });
    expect(upstream.tokenOwner(await session.token())).toBe(2);
  });
});

describe('re-login', () => {
  it('logs in again before the refresh token lapses when a credentials provider is given', async () => {
    const { keeper, upstream, clock } = await setup(
      'refreshToken',
      { credentials: () => ada },
      { accessTokenLifetimeMs: 4 * 60_000, refreshTokenLifetimeMs: 10 * 60_000 },
    );
    const logins: string[] = [];
    keeper.on('login', (event) => logins.push(event.reason));
    const session = keeper.session('ada');
    await session.login(ada);
    for (let minute = 0; minute < 12; minute++) {
      await clock.advance(60_000);
      expect((await session.fetch('/whoami')).status).toBe(200);
    }
    await expect.poll(() => logins).toEqual(['login', 'relogin']);
    expect(upstream.stats.refreshFailures).toBe(0);
    expect(upstream.stats.rejected).toBe(0);
  });

  it('remembers login credentials, sealed, when rememberCredentials is on', async () => {
    const { keeper, upstream, clock } = await setup('sessionRenew', { rememberCredentials: true });
    const session = keeper.session('ada');
    await session.login(protocolCase('sessionRenew').credentials('ada'));
    await clock.advance(16 * 60_000);
    expect((await session.fetch('/whoami')).status).toBe(200);
    expect(upstream.stats.logins).toBe(2);
  });

  it('forgets remembered credentials on logout', async () => {
    const { keeper, clock } = await setup('sessionRenew', { rememberCredentials: true });
    const session = keeper.session('ada');
    await session.login(protocolCase('sessionRenew').credentials('ada'));
    await session.logout();
    await clock.advance(16 * 60_000);
    expect(await rejection(() => session.fetch('/whoami'))).toMatchObject({ code: 'NOT_LOGGED_IN' });
  });

  it('ends the session when the re-login is refused, answering STORED_CREDENTIALS_REFUSED', async () => {
    const { keeper, upstream, clock } = await setup('sessionRenew', {
      credentials: () => ({ email: 'ada@example.test', password: 'changed-since', selectedOrg: 7 }),
    });
    const session = keeper.session('ada');
    await session.login(protocolCase('sessionRenew').credentials('ada'));
    await clock.advance(16 * 60_000);
    const error = await rejection(() => session.fetch('/whoami'));
    expect(error).toMatchObject({ code: 'STORED_CREDENTIALS_REFUSED', status: 401 });
    expect(await session.state()).toEqual({ status: 'ended' });
    expect(await rejection(() => session.fetch('/whoami'))).toMatchObject({ code: 'STORED_CREDENTIALS_REFUSED' });
    expect(upstream.stats.loginFailures).toBe(1);
  });
});

describe('keep-alive', () => {
  it('renews an unused session across several lifetimes so it never expires', async () => {
    const { keeper, upstream, clock } = await setup('sessionRenew', { keepAlive: true, idleMs: 2 * 3_600_000 });
    const session = keeper.session('ada');
    await session.login(protocolCase('sessionRenew').credentials('ada'));
    for (let step = 0; step < 45; step++) {
      await clock.advance(60_000); // 45 minutes, three 15-minute lifetimes
      await keeper.settled(); // the renewal's HTTP round trip, not a guess at how long it takes
    }
    expect(upstream.stats.renewals).toBeGreaterThanOrEqual(3);
    expect(upstream.stats.logins).toBe(1);
    expect((await session.state()).status).toBe('active');
    expect((await session.fetch('/whoami')).status).toBe(200);
    expect(upstream.stats.rejected).toBe(0);
  });

  it('spreads the renewals of sessions logged in together over the keep-alive jitter', async () => {
    const { keeper, upstream, clock } = await setup('sessionRenew', {
      keepAlive: true,
      keepAliveJitterMs: 20_000,
      maxSessionsPerIdentity: 60,
    });
    const renewedAt = new Set<number>();
    keeper.on('refresh', () => renewedAt.add(Math.floor(clock.now() / 1_000)));
    const credentials = protocolCase('sessionRenew').credentials('ada');
    await Promise.all(Array.from({ length: 60 }, (_, index) => keeper.session(`s${index}`).login(credentials, { service: true })));
    await clock.advance(13 * 60_000);
    for (let second = 0; second < 90; second++) {
      await clock.advance(1_000);
      await keeper.settled();
    }
    expect(upstream.stats.renewals).toBe(60);
    expect(renewedAt.size).toBeGreaterThanOrEqual(8); // 60 renewals over a 20 s jitter, not one burst
  });

  it('lets a user session go once it has been idle for idleMs, but keeps a service session', async () => {
    const { keeper, upstream, clock } = await setup('sessionRenew', { keepAlive: true, idleMs: 20 * 60_000 });
    const credentials = protocolCase('sessionRenew');
    await keeper.session('user').login(credentials.credentials('ada'));
    await keeper.session('service').login(credentials.credentials('grace'), { service: true });
    for (let step = 0; step < 60; step++) {
      await clock.advance(60_000);
      await keeper.settled();
    }
    expect((await keeper.session('service').state()).status).toBe('active');
    expect((await keeper.session('user').state()).status).toBe('expired');
    expect(upstream.stats.renewals).toBeGreaterThanOrEqual(4 + 1); // the service's 4, the user's 1 before idling
  });

  it('notices a missed window after a stall and logs in again, or ends the session without credentials', async () => {
    const { keeper, upstream, clock } = await setup('sessionRenew', {
      keepAlive: true,
      idleMs: 2 * 3_600_000,
      credentials: (key: string) => (key === 'with' ? protocolCase('sessionRenew').credentials('ada') : undefined),
    });
    const expired: string[] = [];
    keeper.on('expired', (event) => expired.push(event.key));
    const credentials = protocolCase('sessionRenew').credentials('ada');
    await keeper.session('with').login(credentials);
    await keeper.session('without').login(credentials);
    await clock.advance(40 * 60_000); // the process slept through the renewal window
    await expect.poll(() => expired).toEqual(['without']);
    await expect.poll(() => upstream.stats.logins).toBe(3);
    expect((await keeper.session('with').state()).status).toBe('active');
  });
});

describe('options', () => {
  it('names the option at fault', () => {
    const protocol = refreshToken({ baseUrl: 'http://127.0.0.1:9' });
    expect(() => new TokenKeeper({ protocol, refreshWindowMs: -1 })).toThrow(
      new TypeError('TokenKeeper: refreshWindowMs must be a non-negative number, got -1'),
    );
    expect(() => new TokenKeeper({ protocol, timeoutMs: Number.NaN })).toThrow(/timeoutMs must be a positive number/);
    expect(() => new TokenKeeper({ protocol, maxSessions: 1.5 })).toThrow(/maxSessions must be an integer/);
    expect(() => new TokenKeeper({ protocol: {} as never })).toThrow(/protocol must be a preset/);
    expect(() => refreshToken({ baseUrl: 'ftp://example.test' })).toThrow(/baseUrl must be an http\(s\) URL/);
  });

  it('refuses a session key that is empty, too long, a fraction or not a string with a TypeError (a programming error)', () => {
    const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: 'http://127.0.0.1:9' }) });
    for (const key of ['', 'x'.repeat(1_025), 4.2, true as unknown as string]) {
      expect(() => keeper.session(key)).toThrow(
        new TypeError('TokenKeeper: the session key must be a non-empty string of at most 1024 characters, or a safe integer'),
      );
    }
    return keeper.close();
  });

  it('refuses credentials of the wrong shape before any I/O', async () => {
    const { keeper, upstream } = await setup('basicAuth');
    const session = keeper.session('ada');
    const cases: [unknown, string][] = [
      [null, 'credentials must be an object'],
      [{ username: 'ada' }, 'credentials.password must be a non-empty string'],
      [{ username: 'a:b', password: 'x' }, 'credentials.username must not contain ":"'],
      [{ username: 'ada\r\nX-Injected: 1', password: 'x' }, 'credentials.username contains control characters'],
      [{ username: 'ada', password: 'p'.repeat(4_097) }, 'credentials.password is longer than 4096 characters'],
    ];
    for (const [credentials, message] of cases) {
      expect(await rejection(() => session.login(credentials))).toMatchObject({ code: 'INVALID_CREDENTIALS', message });
    }
    expect(upstream.requests).toHaveLength(0);
  });
});
