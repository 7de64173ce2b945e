import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type AppOptions, COOKIE_NAME, PROTOCOLS, type ProtocolCase, type TestApp, USER_IDS } from './adapter-fixtures.js';

// What every server adapter owes, for each protocol, written once: each adapter's test files call
// these with its own `startApp` (an app with the adapter's middleware in front of a few routes).

export type StartApp = (
  protocol: ProtocolCase,
  options?: AppOptions & { middleware?: { sessionKey?: (request: any) => unknown } },
) => Promise<TestApp>;

/** Sessions per user, replacement of expired tokens, the single retry, error answers, logout, single flight. */
export function sessionSpecs(subject: string, startApp: StartApp): void {
  describe.each(PROTOCOLS)(`${subject} against $name`, (protocol) => {
    it("never lets two users' sessions see each other's tokens, before or after their tokens are replaced", async () => {
      const { browser, clock } = await startApp(protocol, { keeper: protocol.renewable });
      const ada = browser();
      const grace = browser();
      await ada.login(protocol.credentials('ada'));
      await grace.login(protocol.credentials('grace'));
      const expected = Array.from({ length: 20 }, (_, i) => (i % 2 ? USER_IDS.grace : USER_IDS.ada));
      const whoAnswered = async () =>
        (await Promise.all(expected.map((_, i) => (i % 2 ? grace : ada).get('/me')))).map((answer) => answer.body.userId);

      expect(await whoAnswered()).toEqual(expected);
      await clock.advance(protocol.lifetimeMs + 1_000);
      expect(await whoAnswered()).toEqual(expected);
    });

    it('replaces an expired token before the call, and the client request still answers 200', async () => {
      const { browser, clock, upstream } = await startApp(protocol, { keeper: protocol.renewable });
      const ada = browser();
      await ada.login(protocol.credentials('ada'));
      upstream.stats.reset();
      await clock.advance(protocol.lifetimeMs + 1_000);

      expect((await ada.get('/data')).status).toBe(200);
      expect(protocol.replacements(upstream.stats)).toBe(1);
      expect(upstream.stats.rejected).toBe(0);
    });

    it(`renews once and retries once when the upstream rejects a call with ${protocol.expirySignal}`, async () => {
      const { browser, upstream } = await startApp(protocol);
      const ada = browser();
      await ada.login(protocol.credentials('ada'));
      upstream.stats.reset();
      upstream.faults.next('api', 'expired');

      expect((await ada.get('/data')).status).toBe(200);
      expect(upstream.stats.apiCalls).toBe(2);
      expect(protocol.renewals(upstream.stats)).toBe(1);
    });

    it('hands a second rejection back to the client instead of retrying again', async () => {
      const { browser, upstream } = await startApp(protocol);
      const ada = browser();
      await ada.login(protocol.credentials('ada'));
      upstream.stats.reset();
      upstream.faults.next('api', 'expired', { count: 2 });

      expect((await ada.get('/data')).status).toBe(protocol.expirySignal);
      expect(upstream.stats.apiCalls).toBe(2);
    });

    it('answers a re-login refused with the stored credentials with 401 STORED_CREDENTIALS_REFUSED in the JSON body, and nothing secret', async () => {
      const { browser, clock, upstream } = await startApp(protocol, {
        keeper: { rememberCredentials: true },
        upstream: { refreshTokenLifetimeMs: 2 * protocol.lifetimeMs },
      });
      const ada = browser();
      await ada.login(protocol.credentials('ada'));
      upstream.users.find((user) => user.id === USER_IDS.ada)!.password = 'changed-password-9';
      await clock.advance(2.5 * protocol.lifetimeMs);

      const answer = await ada.get('/data');
      expect(answer).toMatchObject({ status: 401, body: { error: 'STORED_CREDENTIALS_REFUSED', message: expect.any(String) } });
      expect(JSON.stringify(answer.body)).not.toMatch(/ada-password-1|changed-password-9/);
    });

    it('answers 401 SESSION_EXPIRED when the session can no longer be renewed and there are no credentials to log in again', async () => {
      const { browser, clock } = await startApp(protocol, { upstream: { refreshTokenLifetimeMs: 2 * protocol.lifetimeMs } });
      const ada = browser();
      await ada.login(protocol.credentials('ada'));
      await clock.advance(2.5 * protocol.lifetimeMs);

      expect(await ada.get('/data')).toMatchObject({ status: 401, body: { error: 'SESSION_EXPIRED' } });
    });

    it('answers wrong credentials at login with 401 INVALID_CREDENTIALS and sets no cookie', async () => {
      const { browser } = await startApp(protocol);
      const ada = browser();
      const answer = await ada.login({ ...protocol.credentials('ada'), password: 'not-the-password' });

      expect(answer).toMatchObject({ status: 401, body: { error: 'INVALID_CREDENTIALS' } });
      expect(answer.setCookies).toEqual([]);
    });

    it('answers a call before any login with 401 NOT_LOGGED_IN without calling the upstream', async () => {
      const { browser, upstream } = await startApp(protocol);

      expect(await browser().get('/data')).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
      expect(upstream.stats.apiCalls).toBe(0);
    });

    it('clears the session cookie on logout', async () => {
      const { browser } = await startApp(protocol);
      const ada = browser();
      await ada.login(protocol.credentials('ada'));
      const answer = await ada.request('POST', '/logout');

      expect(answer.status).toBe(204);
      expect(answer.setCookies).toEqual([expect.stringMatching(/^__Host-tk\.sid=; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=0$/)]);
    });

    it('ends the session on logout: the old cookie answers 401 NOT_LOGGED_IN', async () => {
      const { browser, upstream } = await startApp(protocol);
      const ada = browser();
      await ada.login(protocol.credentials('ada'));
      const cookie = ada.cookie;
      await ada.request('POST', '/logout');
      ada.cookie = cookie; // a client that ignores the cleared cookie
      upstream.stats.reset();

      expect(await ada.get('/data')).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
      expect(upstream.stats.apiCalls).toBe(0);
    });

    it('lets 500 concurrent requests of one user at expiry cause exactly one upstream replacement', async () => {
      const { browser, clock, upstream } = await startApp(protocol, { keeper: protocol.renewable });
      const ada = browser();
      await ada.login(protocol.credentials('ada'));
      upstream.stats.reset();
      await clock.advance(protocol.lifetimeMs + 1_000);

      const answers = await Promise.all(Array.from({ length: 500 }, () => ada.get('/data')));
      expect(answers.map((answer) => answer.status)).toEqual(Array(500).fill(200));
      expect(protocol.replacements(upstream.stats)).toBe(1);
    });
  });
}

/** Ways to spoil a valid `tk.sid=<id>.<signature>` pair, each of which must read as no session. */
const SPOILED: [string, (pair: string) => string][] = [
  [
    'a forged cookie (its id signed with another secret)',
    (pair) => `${COOKIE_NAME}=${idOf(pair)}.${sign(idOf(pair), 'an-attacker-secret-of-32-characters!!')}`,
  ],
  ['a tampered cookie (another id under the real signature)', (pair) => pair.replace(idOf(pair), 'AAAAAAAAAAAAAAAAAAAAAA')],
  ['a tampered cookie (one signature character changed)', (pair) => changeCharacter(pair, pair.length - 10)],
  ['a truncated cookie', (pair) => pair.slice(0, -5)],
  ['an unsigned cookie', (pair) => `${COOKIE_NAME}=${idOf(pair)}`],
  ['a duplicated cookie', (pair) => `${pair}; ${pair}`],
  ['a value of ours longer than ours can be', (pair) => `${pair}${'A'.repeat(300)}`],
];

function idOf(pair: string): string {
  return pair.slice(COOKIE_NAME.length + 1).split('.')[0]!;
}

// Not the last character: its two lowest bits carry no data in a 43-character base64url signature.
function changeCharacter(text: string, index: number): string {
  return text.slice(0, index) + (text[index] === 'A' ? 'B' : 'A') + text.slice(index + 1);
}

function sign(id: string, secret: string): string {
  return createHmac('sha256', secret).update(id).digest('base64url');
}

/** The built-in signed cookie: its attributes, what reads as no session, a new id on every login. */
export function cookieSpecs(subject: string, startApp: StartApp): void {
  describe.each(PROTOCOLS)(`the session cookie of ${subject} against $name`, (protocol) => {
    it('is set at login as an HttpOnly, SameSite=Lax, Secure cookie holding a signed 128-bit id', async () => {
      const { browser } = await startApp(protocol);
      const answer = await browser().login(protocol.credentials('ada'));

      expect(answer.status).toBe(204);
      expect(answer.setCookies).toEqual([
        expect.stringMatching(/^__Host-tk\.sid=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure$/),
      ]);
    });

    it.each(SPOILED)('reads %s as no session: 401 NOT_LOGGED_IN', async (_, spoil) => {
      const { browser, upstream } = await startApp(protocol);
      const ada = browser();
      await ada.login(protocol.credentials('ada'));
      expect((await ada.get('/me')).body).toEqual({ userId: USER_IDS.ada }); // the unspoiled cookie works
      ada.cookie = spoil(ada.cookie!);
      upstream.stats.reset();

      expect(await ada.get('/me')).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
      expect(upstream.stats.apiCalls).toBe(0);
    });

    it('finds the session in any of several Cookie fields, however the name is spelt, and reads one cookie sent twice as no session', async () => {
      const { browser } = await startApp(protocol);
      const ada = browser();
      await ada.login(protocol.credentials('ada'));
      const pair = ada.cookie!;

      // The adapters read the header from Node's rawHeaders: repeated fields join as req.headers.cookie joins them.
      expect(await ada.getWithFields('/me', { COOKIE: ['theme=dark', pair] })).toEqual({ status: 200, body: { userId: USER_IDS.ada } });
      expect(await ada.getWithFields('/me', { cookie: [pair, pair] })).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
    });

    it('changes the session id on every login, and the previous id stops working', async () => {
      const { browser } = await startApp(protocol);
      const ada = browser();
      await ada.login(protocol.credentials('ada'));
      const first = ada.cookie!;
      await ada.login(protocol.credentials('ada'));
      const second = ada.cookie!;

      expect(idOf(second)).not.toBe(idOf(first));
      expect((await ada.get('/me')).body).toEqual({ userId: USER_IDS.ada });
      ada.cookie = first;
      expect(await ada.get('/me')).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
    });

    it('never lets a cookie planted before login carry the new session (no fixation)', async () => {
      const { browser } = await startApp(protocol);
      const victim = browser();
      const attacker = browser();
      await attacker.login(protocol.credentials('grace'));
      victim.cookie = attacker.cookie; // the attacker plants their own valid cookie
      await victim.login(protocol.credentials('ada'));

      expect(idOf(victim.cookie!)).not.toBe(idOf(attacker.cookie!));
      expect(await attacker.get('/me')).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
      expect((await victim.get('/me')).body).toEqual({ userId: USER_IDS.ada });
    });
  });
}

/** Odd things an app's sessionKey function might return; each means "no session". */
const ODD_KEYS: Record<string, unknown> = {
  'an object': { id: 'ada' },
  'an array': ['ada'],
  'an empty string': '',
  'a string over 1,024 characters': 'k'.repeat(1_025),
  'a fraction': 1.5,
  NaN: Number.NaN,
  null: null,
  undefined: undefined,
  'a function': () => 'ada',
  'a promise of an object': Promise.resolve({ id: 'ada' }),
};

/**
 * A sessionKey function for an app that knows its user from the `x-user` header; `x-odd` and
 * `x-fail` make it misbehave. `header` reads a request header in the adapter's framework.
 */
function keyFromHeaders<Incoming>(header: (request: Incoming, name: string) => string | undefined) {
  return (request: Incoming): unknown => {
    const odd = header(request, 'x-odd');
    if (odd) return ODD_KEYS[odd];
    if (header(request, 'x-fail') === 'throw') throw new Error('user directory down');
    if (header(request, 'x-fail') === 'reject') return Promise.reject(new Error('user directory down'));
    return header(request, 'x-user');
  };
}

/** Apps that know their user: a key from the app's function, and odd or failing functions. */
export function sessionKeySpecs<Incoming>(
  subject: string,
  startApp: StartApp,
  header: (request: Incoming, name: string) => string | undefined,
): void {
  const sessionKey = keyFromHeaders(header);
  describe.each(PROTOCOLS)(`${subject} with a sessionKey function against $name`, (protocol) => {
    it("keys each user's session by what the function returns, without a cookie", async () => {
      const { browser } = await startApp(protocol, { middleware: { sessionKey } });
      const client = browser();
      const login = await client.login(protocol.credentials('ada'), { 'x-user': 'user-1' });
      await client.login(protocol.credentials('grace'), { 'x-user': 'user-2' });

      expect(login).toMatchObject({ status: 204, setCookies: [] });
      expect((await client.get('/me', { 'x-user': 'user-1' })).body).toEqual({ userId: USER_IDS.ada });
      expect((await client.get('/me', { 'x-user': 'user-2' })).body).toEqual({ userId: USER_IDS.grace });
    });

    it('ends the session of that key on logout', async () => {
      const { browser } = await startApp(protocol, { middleware: { sessionKey } });
      const client = browser();
      await client.login(protocol.credentials('ada'), { 'x-user': 'user-1' });
      await client.request('POST', '/logout', undefined, { 'x-user': 'user-1' });

      expect(await client.get('/me', { 'x-user': 'user-1' })).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
    });

    it.each(Object.keys(ODD_KEYS))('treats %s as no session: 401 NOT_LOGGED_IN', async (odd) => {
      const { browser, upstream } = await startApp(protocol, { middleware: { sessionKey } });
      const client = browser();

      expect(await client.get('/data', { 'x-odd': odd })).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
      expect(await client.login(protocol.credentials('ada'), { 'x-odd': odd })).toMatchObject({
        status: 401,
        body: { error: 'NOT_LOGGED_IN' },
      });
      expect(upstream.stats.apiCalls + upstream.stats.logins).toBe(0);
    });

    it.each(['throw', 'reject'])(
      'hands the error to the framework when the function fails (%s): 500, and the app keeps serving',
      async (fail) => {
        const { browser } = await startApp(protocol, { middleware: { sessionKey } });
        const client = browser();
        await client.login(protocol.credentials('ada'), { 'x-user': 'user-1' });

        expect((await client.get('/me', { 'x-user': 'user-1', 'x-fail': fail })).status).toBe(500);
        expect((await client.get('/me', { 'x-user': 'user-1' })).body).toEqual({ userId: USER_IDS.ada });
      },
    );
  });
}

/**
 * Account switching through the request session (the app serves `POST /switch` with
 * `{ accountId }` calling `switchAccount`, and answers its state as JSON).
 */
export function switchAccountSpecs(subject: string, startApp: StartApp): void {
  const teletracker = PROTOCOLS.find((protocol) => protocol.name === 'refreshToken')!;

  describe(`${subject}.switchAccount`, () => {
    it('switches a logged-in user to another of their accounts, and the same cookie then calls the API as that account', async () => {
      const { browser, upstream } = await startApp(teletracker);
      const grace = browser();
      await grace.login(teletracker.credentials('grace'));
      expect((await grace.get('/data')).body).toMatchObject({ userId: USER_IDS.grace, accountId: 200 });

      expect(await grace.request('POST', '/switch', { accountId: 201 })).toMatchObject({ status: 200, body: { status: 'active' } });
      expect((await grace.get('/data')).body).toMatchObject({ userId: USER_IDS.grace, accountId: 201 });
      expect(upstream.stats).toMatchObject({ logins: 1, masquerades: 1 });
    });

    it('answers an account the user may not use with 403 ACCESS_DENIED, and the session stays on its account', async () => {
      const { browser } = await startApp(teletracker);
      const ada = browser();
      await ada.login(teletracker.credentials('ada'));

      expect(await ada.request('POST', '/switch', { accountId: 200 })).toMatchObject({
        status: 403,
        body: { error: 'ACCESS_DENIED', message: 'the upstream refused this switch (403)' },
      });
      expect((await ada.get('/data')).body).toMatchObject({ userId: USER_IDS.ada, accountId: 100 });
    });

    it('answers a switch before any login with 401 NOT_LOGGED_IN without calling the upstream', async () => {
      const { browser, upstream } = await startApp(teletracker);
      expect(await browser().request('POST', '/switch', { accountId: 201 })).toMatchObject({
        status: 401,
        body: { error: 'NOT_LOGGED_IN' },
      });
      expect(upstream.requests).toHaveLength(0);
    });
  });
}
