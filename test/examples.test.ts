import { createManualClock, type FakeProtocol, type FakeStats } from '@tokenkeeper/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningExample, start as startExpress } from '../examples/express/src/main.js';
import { start as startFastify } from '../examples/fastify/src/main.js';
import { start as startKoa } from '../examples/koa/src/main.js';

/** The Express, Koa and Fastify examples are the same app on three frameworks: one spec covers them all. */
const EXAMPLES = [
  { name: 'Express', start: startExpress },
  { name: 'Koa', start: startKoa },
  { name: 'Fastify', start: startFastify },
];

const CREDENTIALS: Record<FakeProtocol, object> = {
  sessionRenew: { email: 'ada@example.test', password: 'ada-password-1', selectedOrg: 7 },
  refreshToken: { username: 'ada', password: 'ada-password-1' },
  basicAuth: { username: 'ada', password: 'ada-password-1' },
};

/** What each upstream's protected resource answers for ada. */
const RESOURCE_BODIES: Record<FakeProtocol, unknown> = {
  sessionRenew: { id: 1, email: 'ada@example.test', currentOrg: { id: 7 } },
  refreshToken: { success: true, data: [], userId: 1 },
  basicAuth: [{ name: 'default' }],
};

/** Renewals of a still-valid token, per upstream. */
const RENEWALS: Record<FakeProtocol, (stats: FakeStats) => number> = {
  sessionRenew: (stats) => stats.renewals,
  refreshToken: (stats) => stats.refreshes,
  basicAuth: (stats) => stats.refreshes,
};

const LIFETIME_MS = 60_000;

let example: RunningExample | undefined;
afterEach(() => example?.close());

/** A client that keeps the session cookie the app sets. */
function client(url: string) {
  let cookie: string | undefined;
  return async (method: string, path: string, body?: object) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { ...(cookie && { cookie }), ...(body && { 'content-type': 'application/json' }) },
      body: body && JSON.stringify(body),
    });
    for (const header of response.headers.getSetCookie()) cookie = /Max-Age=0/.test(header) ? undefined : header.split(';')[0];
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, cookie };
  };
}

const CASES = EXAMPLES.flatMap((example) => (Object.keys(CREDENTIALS) as FakeProtocol[]).map((protocol) => ({ ...example, protocol })));

describe.each(CASES)('the $name example against $protocol', ({ start, protocol }) => {
  it('keeps a logged-in user working across five token lifetimes, renewing without a new login, until logout', async () => {
    const clock = createManualClock();
    example = await start({ protocol, clock, accessTokenLifetimeMs: LIFETIME_MS });
    const request = client(example.url);

    const login = await request('POST', '/login', CREDENTIALS[protocol]);
    expect(login).toMatchObject({ status: 200, body: { status: 'active' }, cookie: expect.stringMatching(/^tk\.sid=/) });
    for (let elapsed = 0; elapsed < 5 * LIFETIME_MS; elapsed += 10_000) {
      await clock.advance(10_000);
      expect(await request('GET', '/me')).toMatchObject({ status: 200, body: { userId: 1 } });
    }
    expect(example.upstream.stats.logins).toBe(1);
    expect(RENEWALS[protocol](example.upstream.stats)).toBeGreaterThanOrEqual(5);

    expect(await request('POST', '/logout')).toMatchObject({ status: 204, cookie: undefined });
    expect(await request('GET', '/me')).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
  });

  it("serves the upstream's protected resource on /data", async () => {
    example = await start({ protocol });
    const request = client(example.url);
    await request('POST', '/login', CREDENTIALS[protocol]);

    expect(await request('GET', '/data')).toMatchObject({ status: 200, body: RESOURCE_BODIES[protocol] });
  });

  it('answers wrong credentials with 401 INVALID_CREDENTIALS', async () => {
    example = await start({ protocol });
    const wrong = { ...CREDENTIALS[protocol], password: 'not-the-password' };

    expect(await client(example.url)('POST', '/login', wrong)).toMatchObject({ status: 401, body: { error: 'INVALID_CREDENTIALS' } });
  });
});
