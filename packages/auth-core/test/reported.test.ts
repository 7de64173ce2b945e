import { createServer } from 'node:net';
import { createManualClock } from '@tokenkeeper/testing';
import { describe, expect, it } from 'vitest';
import { AuthError, defineProtocol, MemoryStore, RequestSession, sessionKeyOf, TokenKeeper } from '../src/index.js';
import { PROTOCOLS, protocolCase, rejection, setup } from './harness.js';

// Defects an upstream written apart from this project, and its users, found. Each spec failed
// before its fix; each is named after what the user saw.

const sensu = protocolCase('basicAuth');
const teletracker = protocolCase('refreshToken');
const resolver = protocolCase('sessionRenew');

describe('logout wins, and no refresh token is presented twice', () => {
  it('a logout 5 ms after a refresh began presents the new refresh token, not the spent one (no reuse, no 400, no 401)', async () => {
    const { keeper, upstream, clock } = await setup('basicAuth');
    const session = keeper.session('ada');
    await session.login(sensu.credentials('ada'));
    await clock.advance(sensu.lifetimeMs + 1_000); // expired locally
    upstream.faults.next('refresh', 'lateAnswer', { delayMs: 50 }); // rotated upstream, answer still on its way
    const token = session.token().catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await session.logout();
    expect(await token).toMatchObject({ code: 'NOT_LOGGED_IN' }); // the logout won
    const calls = upstream.requests.filter((request) => request.path.startsWith('/auth/')).map((request) => request.path);
    expect(calls).toEqual(['/auth/token', '/auth/logout']);
    expect(upstream.stats.reuseDetections).toBe(0);
    expect(upstream.stats.logouts).toBe(1);
    expect(await session.state()).toEqual({ status: 'none' });
  });

  it('a logout at 50 ms wins over a login that answers at 300 ms: the state is none, and the upstream session is logged out again', async () => {
    const { keeper, upstream } = await setup('basicAuth');
    const session = keeper.session('ada');
    upstream.faults.next('login', 'timeout', { delayMs: 300 });
    const login = session.login(sensu.credentials('ada')).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await session.logout();
    expect(await login).toMatchObject({ code: 'NOT_LOGGED_IN', message: 'no session: log in first' });
    expect(await session.state()).toEqual({ status: 'none' });
    await expect.poll(() => upstream.stats.logouts).toBe(1); // the orphaned upstream session
  });
});

describe('expiry behind a proxy that writes its own Date header', () => {
  /** The upstream's clock is `minutes` off; a proxy in front writes `Date` from a correct clock. */
  const behindProxy = (minutes: number, extra = {}) => ({ clockSkewMs: minutes * 60_000, dateClockSkewMs: 0, ...extra });

  it.each([10, -10])(
    'logs in with expires_at %i minutes off (no "already in the past"), and steady traffic over 3 lifetimes sees at most one rejection',
    async (minutes) => {
      const { keeper, upstream, clock } = await setup('basicAuth', {}, behindProxy(minutes));
      const session = keeper.session('ada');
      const state = await session.login(sensu.credentials('ada'));
      expect(state.status).toBe('active');
      for (let step = 0; step < 3 * 10; step++) {
        await clock.advance(30_000);
        expect((await session.fetch(sensu.resource)).status).toBe(200);
      }
      expect(upstream.stats.rejected).toBeLessThanOrEqual(1);
    },
  );

  it('logs in when the refresh-token expiry is in the past by the Date header, and keeps refreshing', async () => {
    const { keeper, upstream, clock } = await setup('refreshToken', {}, behindProxy(-40 * 24 * 60)); // 40 days behind
    const session = keeper.session('ada');
    const state = await session.login(teletracker.credentials('ada'));
    expect(state.refreshExpiresAt).toBeUndefined(); // not believed
    await clock.advance(teletracker.lifetimeMs + 1_000);
    expect((await session.fetch(teletracker.resource)).status).toBe(200);
    expect(upstream.stats.refreshes).toBe(1);
  });

  it('plans from a JWT access token’s own exp − iat, so not even the first token is found expired by a rejection', async () => {
    const { keeper, upstream, clock } = await setup('basicAuth', {}, behindProxy(10, { jwtAccessTokens: true }));
    const session = keeper.session('ada');
    const state = await session.login(sensu.credentials('ada'));
    expect(state.expiresAt! - clock.now()).toBe(sensu.lifetimeMs);
    for (let step = 0; step < 30; step++) {
      await clock.advance(30_000);
      expect((await session.fetch(sensu.resource)).status).toBe(200);
    }
    expect(upstream.stats.rejected).toBe(0);
  });

  it('learns the real lifetime from a token rejected early, for every session of the keeper', async () => {
    const { keeper, upstream, clock } = await setup('basicAuth', {}, behindProxy(10));
    const ada = keeper.session('ada');
    const grace = keeper.session('grace');
    await ada.login(sensu.credentials('ada'));
    await clock.advance(5 * 60_000 + 1_000); // the upstream says 5 min; the keeper believed 15
    expect((await ada.fetch(sensu.resource)).status).toBe(200); // one rejection, renewed, retried
    expect(upstream.stats.rejected).toBe(1);
    await grace.login(sensu.credentials('grace'));
    for (let step = 0; step < 30; step++) {
      await clock.advance(30_000);
      expect((await ada.fetch(sensu.resource)).status).toBe(200);
      expect((await grace.fetch(sensu.resource)).status).toBe(200);
    }
    expect(upstream.stats.rejected).toBe(1);
  });
});

describe('refresh storms', () => {
  it('a token revoked a moment after login does not make every later token expire at once (1 refresh, not one per request)', async () => {
    const { keeper, upstream, clock } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(teletracker.credentials('ada'));
    await clock.advance(100);
    upstream.faults.next('api', 'expired'); // revoked upstream, 100 ms old
    expect((await session.fetch(teletracker.resource)).status).toBe(200);
    for (let step = 0; step < 20; step++) {
      await clock.advance(1_000);
      expect((await session.fetch(teletracker.resource)).status).toBe(200);
    }
    expect(upstream.stats.refreshes).toBe(1);
  });
});

describe('errors a caller can act on', () => {
  it('session.fetch to an API that refuses connections rejects with UPSTREAM_UNAVAILABLE, not a raw TypeError', async () => {
    const closed = await freePort();
    const protocol = defineProtocol({
      name: 'nowhere',
      baseUrl: `http://127.0.0.1:${closed}`,
      login: async (_credentials, client) => ({ accessToken: 'token', issuedAt: client.now(), expiresAt: client.now() + 60_000 }),
    });
    const keeper = new TokenKeeper({ protocol, keepAlive: false });
    try {
      const session = keeper.session('ada');
      await session.login({});
      const error = await rejection(() => session.fetch('/incidents'));
      expect(error).toBeInstanceOf(AuthError);
      expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 502, message: 'upstream request failed: ECONNREFUSED' });
    } finally {
      await keeper.close();
    }
  });

  it('a closed keeper answers KEEPER_CLOSED, not STORE_UNAVAILABLE', async () => {
    const { keeper } = await setup('refreshToken');
    await keeper.close();
    expect(await rejection(() => keeper.session('ada').token())).toMatchObject({
      code: 'KEEPER_CLOSED',
      message: 'the TokenKeeper is closed',
    });
    expect(await rejection(() => keeper.session('ada').login(teletracker.credentials('ada')))).toMatchObject({ code: 'KEEPER_CLOSED' });
  });

  it('a malformed session key is a TypeError (a programming error), not NOT_LOGGED_IN', async () => {
    const { keeper } = await setup('refreshToken');
    expect(() => keeper.session('')).toThrow(TypeError);
    await expect(keeper.token('x'.repeat(1025))).rejects.toThrow(/the session key must be a non-empty string of at most 1024 characters/);
  });

  it('a credentials provider that throws gets CREDENTIALS_UNAVAILABLE, not SESSION_EXPIRED', async () => {
    const { keeper, clock } = await setup('sessionRenew', {
      credentials: () => {
        throw new Error('vault sealed');
      },
    });
    const session = keeper.session('ada');
    await session.login(resolver.credentials('ada'));
    await clock.advance(resolver.lifetimeMs + 1_000);
    expect(await rejection(() => session.fetch(resolver.resource))).toMatchObject({
      code: 'CREDENTIALS_UNAVAILABLE',
      status: 503,
      message: 'the credentials provider failed',
    });
    expect((await session.state()).status).toBe('expired'); // not ended: the provider may come back
  });

  it('a login refused with 403 "No access to account" is ACCESS_DENIED (403), not a 502', async () => {
    const { keeper } = await setup('refreshToken');
    const error = await rejection(() => keeper.session('ada').login({ ...(teletracker.credentials('ada') as object), accountId: 999 }));
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', status: 403, message: 'the upstream refused this login (403)' });
  });

  it('the retry event says renewed only when a renewal succeeded and the request is retried', async () => {
    const { keeper, upstream } = await setup('refreshToken');
    const retries: boolean[] = [];
    keeper.on('retry', (event) => retries.push(event.renewed));
    const session = keeper.session('ada');
    await session.login(teletracker.credentials('ada'));
    upstream.faults.next('api', 'expired');
    upstream.faults.next('refresh', 'status429'); // the renewal fails: nothing is retried
    expect(await rejection(() => session.fetch(teletracker.resource))).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(retries).toEqual([]);
  });
});

describe('renewals a user did not expect', () => {
  it('a 403 followed by a transient renew failure logs in again within the same call (sessionRenew, like the others)', async () => {
    const { keeper, upstream } = await setup('sessionRenew', { credentials: () => resolver.credentials('ada') });
    const session = keeper.session('ada');
    await session.login(resolver.credentials('ada'));
    upstream.faults.next('api', 'expired');
    upstream.faults.next('refresh', 'status503');
    expect((await session.fetch(resolver.resource)).status).toBe(200);
    expect(upstream.stats.logins).toBe(2);
  });

  it.each(['sessionRenew', 'refreshToken'] as const)('%s: 50 requests answered 403 "forbidden" cost one renewal, not 50', async (name) => {
    const protocol = protocolCase(name);
    const { keeper, upstream } = await setup(name, {}, { expiredStatus: 403 });
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    upstream.stats.reset();
    upstream.faults.next('api', 'expired', { count: 100 }); // every answer is 403 for a while
    for (let request = 0; request < 50; request++) expect((await session.fetch(protocol.resource)).status).toBe(403);
    expect(protocol.renewals(upstream)).toBe(1);
  });

  it('keeps a 1 ms-lifetime session alive instead of silently stopping', async () => {
    const clock = createManualClock();
    let now = clock.now();
    let logins = 0;
    const protocol = defineProtocol({
      name: 'blink',
      baseUrl: 'http://127.0.0.1:9',
      async login() {
        logins++;
        return { accessToken: `t${logins}`, issuedAt: now, expiresAt: now + 1 };
      },
      async refresh() {
        now = clock.now();
        return { accessToken: `r${now}`, issuedAt: now, expiresAt: now + 1 };
      },
    });
    const keeper = new TokenKeeper({ protocol, clock, keepAliveJitterMs: 0 });
    const renewals: number[] = [];
    keeper.on('refresh', () => renewals.push(clock.now()));
    try {
      await keeper.session('svc').login({}, { service: true });
      for (let step = 0; step < 5; step++) {
        await clock.advance(1);
        await keeper.settled();
      }
      expect(renewals.length).toBeGreaterThanOrEqual(5);
    } finally {
      await keeper.close();
    }
  });

  it('a provider with no credentials for this key does not end a session whose refresh token still serves', async () => {
    const { keeper, upstream, clock } = await setup(
      'refreshToken',
      { credentials: (key) => (key === 'ada' ? undefined : teletracker.credentials('grace')) },
      { refreshTokenLifetimeMs: 2 * 3_600_000 },
    );
    const session = keeper.session('ada');
    const ended: string[] = [];
    keeper.on('expired', (event) => ended.push(event.reason));
    await session.login(teletracker.credentials('ada'));
    // one window before the refresh token lapses (2 h), the access token has most of an hour left
    await clock.advance(2 * 3_600_000 - 50_000);
    expect((await session.fetch(teletracker.resource)).status).toBe(200);
    await keeper.settled();
    expect(ended).toEqual([]);
    expect((await session.fetch(teletracker.resource)).status).toBe(200);
    expect(upstream.stats.logins).toBe(1);
  });
});

describe('one rule for a lapsed session', () => {
  it.each(PROTOCOLS.map((protocol) => protocol.name))(
    '%s: a lapse in the background and one found by a request both answer SESSION_EXPIRED to every later call',
    async (name) => {
      const protocol = protocolCase(name);
      const background = await setup(name, { keepAlive: true, keepAliveJitterMs: 0 });
      const idle = await setup(name, { keepAlive: false });
      for (const { keeper, upstream, clock } of [background, idle]) {
        const session = keeper.session('ada');
        await session.login(protocol.credentials('ada'));
        if (name !== 'sessionRenew')
          upstream.faults.next('refresh', 'rotateThen500'); // the refresh token is in doubt
        else upstream.faults.next('refresh', 'status500');
        await clock.advance(protocol.lifetimeMs - 10_000);
        await session.fetch(protocol.resource).catch(() => {}); // a request in the window, for the idle keeper
        await keeper.settled();
        await clock.advance(20_000);
        for (let call = 0; call < 3; call++) {
          expect(await rejection(() => session.fetch(protocol.resource))).toMatchObject({ code: 'SESSION_EXPIRED' });
        }
      }
    },
  );
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('logout wins across instances', () => {
  it('a logout on one instance wins over a login still answering on another (they share the store): the session stays logged out', async () => {
    const { keeper: first, upstream, clock } = await setup('basicAuth');
    const store = new MemoryStore({ clock });
    const instanceA = new TokenKeeper({ protocol: first.protocol, store, clock, keepAlive: false });
    const instanceB = new TokenKeeper({ protocol: first.protocol, store, clock, keepAlive: false });
    try {
      upstream.faults.next('login', 'lateAnswer', { delayMs: 200 });
      const login = instanceA
        .session('ada')
        .login(sensu.credentials('ada'))
        .catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await instanceB.session('ada').logout();
      expect(await login).toMatchObject({ code: 'NOT_LOGGED_IN', message: 'no session: log in first' });
      expect(await instanceA.session('ada').state()).toEqual({ status: 'none' });
      expect(await instanceB.session('ada').state()).toEqual({ status: 'none' });
      await expect.poll(() => upstream.stats.logouts).toBe(1); // A logs its orphaned upstream session out
      // A login that begins after the logout is not refused by its tombstone.
      await instanceA.session('ada').login(sensu.credentials('ada'));
      expect((await instanceB.session('ada').fetch(sensu.resource)).status).toBe(200);
    } finally {
      await instanceA.close();
      await instanceB.close();
    }
  });
});

describe('the account a user asked for', () => {
  it('a login with { account_id: 99 } (the name in the vendor’s table) is ACCESS_DENIED, not silently bound to the default account', async () => {
    const { keeper, upstream } = await setup('refreshToken');
    const session = keeper.session('ada');
    const error = await rejection(() => session.login({ username: 'ada', password: 'ada-password-1', account_id: 99 }));
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', status: 403, message: 'the upstream refused this login (403)' });
    expect(upstream.stats.logins).toBe(0);
    expect(await session.state()).toEqual({ status: 'none' });
  });

  it('a login with { account_id: 201 } binds that account of the user', async () => {
    const { keeper } = await setup('refreshToken');
    const session = keeper.session('grace');
    await session.login({ username: 'grace', password: 'grace-password-2', account_id: 201 });
    expect(await (await session.fetch(teletracker.resource)).json()).toMatchObject({ userId: 2, accountId: 201 });
  });

  it('a misspelt field is refused with INVALID_CREDENTIALS naming it, before anything is sent', async () => {
    const { keeper, upstream } = await setup('refreshToken');
    const error = await rejection(() => keeper.session('ada').login({ username: 'ada', password: 'ada-password-1', acount_id: 201 }));
    expect(error).toMatchObject({
      code: 'INVALID_CREDENTIALS',
      status: 401,
      message: 'credentials.acount_id is not a field this protocol takes (it takes username, password, accountId, account_id)',
    });
    expect(upstream.requests).toHaveLength(0);
  });

  it('accountId and account_id naming two accounts are refused, not one of them picked', async () => {
    const { keeper, upstream } = await setup('refreshToken');
    const credentials = { username: 'grace', password: 'grace-password-2', accountId: 200, account_id: 201 };
    expect(await rejection(() => keeper.session('grace').login(credentials))).toMatchObject({
      code: 'INVALID_CREDENTIALS',
      message: 'credentials.accountId and credentials.account_id name different accounts',
    });
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('a password that expired under the organisation’s policy', () => {
  it('ends the session with STORED_CREDENTIALS_REFUSED in the error and the expired event, not a login error for a login nobody made', async () => {
    const { keeper, upstream, clock } = await setup('sessionRenew', { rememberCredentials: true });
    const ended: unknown[] = [];
    keeper.on('expired', (event) => ended.push(event));
    const session = keeper.session('ada');
    await session.login(resolver.credentials('ada'));
    upstream.users.find((user) => user.id === 1)!.password = 'rotated-by-policy-1';
    await clock.advance(resolver.lifetimeMs + 1_000);

    const message = 'the upstream refused the stored credentials (an expired or changed password?): log in again';
    expect(await rejection(() => session.fetch(resolver.resource))).toMatchObject({
      code: 'STORED_CREDENTIALS_REFUSED',
      status: 401,
      message,
    });
    expect(ended).toEqual([
      {
        key: 'ada',
        protocol: 'sessionRenew',
        reason: 'the upstream refused the stored credentials on re-login',
        code: 'STORED_CREDENTIALS_REFUSED',
      },
    ]);
    expect(await session.state()).toEqual({ status: 'ended' });
    // Every call says so until a person logs in again, and no second login is tried meanwhile.
    expect(await rejection(() => session.token())).toMatchObject({ code: 'STORED_CREDENTIALS_REFUSED', message });
    expect(upstream.stats.loginFailures).toBe(1);
  });

  it('ends an unrenewable session with SESSION_EXPIRED as before, saying so in the event', async () => {
    const { keeper, clock } = await setup('sessionRenew');
    const ended: unknown[] = [];
    keeper.on('expired', (event) => ended.push(event));
    await keeper.session('ada').login(resolver.credentials('ada'));
    await clock.advance(resolver.lifetimeMs + 1_000);
    expect(await rejection(() => keeper.session('ada').token())).toMatchObject({ code: 'SESSION_EXPIRED' });
    expect(ended).toMatchObject([{ code: 'SESSION_EXPIRED', reason: 'the token expired and nothing can renew it' }]);
  });
});

describe('one rule for session keys', () => {
  it('keeper.session(7) is the session an adapter’s sessionKey answering 7 uses: a safe integer stands for its decimal string', async () => {
    const { keeper } = await setup('refreshToken');
    await keeper.session(7).login(teletracker.credentials('ada'));
    expect(sessionKeyOf(7)).toBe('7');
    expect(keeper.session(7).key).toBe('7');
    expect((await new RequestSession(keeper, sessionKeyOf(7)).state()).status).toBe('active');
    expect((await keeper.state('7')).status).toBe('active');
  });

  it('what is not a key is a TypeError for the keeper and “no session” for an adapter’s sessionKey, by the same rule', async () => {
    const { keeper } = await setup('refreshToken');
    for (const odd of [1.5, Number.NaN, 2 ** 53, '', 'x'.repeat(1025), null, {}]) {
      expect(sessionKeyOf(odd)).toBeUndefined();
      expect(() => keeper.session(odd as string)).toThrow(
        new TypeError('TokenKeeper: the session key must be a non-empty string of at most 1024 characters, or a safe integer'),
      );
    }
    expect(await rejection(() => new RequestSession(keeper, sessionKeyOf(1.5)).token())).toMatchObject({ code: 'NOT_LOGGED_IN' });
  });
});
