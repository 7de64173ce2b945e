/**
 * Hostile input to the server adapters (issue 5), end to end over loopback HTTP for Express, Koa,
 * Fastify and NestJS: spoiled session cookies, misbehaving sessionKey functions, header injection through
 * credentials, and an upstream redirect to another origin. In each, two users are logged in
 * first, and the suite checks that the hostile request gets its documented answer, reaches no
 * one's session, and that the server goes on serving both users afterwards.
 */
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { sessionRenew } from '@tokenkeeper/auth-core';
import { type RecordingServer, startRecordingServer } from '@tokenkeeper/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp as startExpressApp } from '../packages/express/test/support.js';
import { startApp as startFastifyApp } from '../packages/fastify/test/support.js';
import { startApp as startKoaApp } from '../packages/koa/test/support.js';
import { nestApp } from '../packages/nestjs/test/support.js';
import {
  type AppOptions,
  type Browser,
  COOKIE_NAME,
  PROTOCOLS,
  type ProtocolCase,
  type TestApp,
  USER_IDS,
} from './support/adapter-fixtures.js';
import type { StartApp } from './support/adapter-specs.js';

interface Adapter {
  name: string;
  start: StartApp;
  /**
   * The answer to a JSON body with a `__proto__` or `constructor.prototype` key, when the
   * framework's own body parser refuses it before any route runs (Fastify's does, with 400).
   */
  prototypeKeysAnswer?: HostileLogin['answer'];
}

/** What Fastify's JSON parser answers a body with prototype keys (its onProtoPoisoning and onConstructorPoisoning default to 'error'). */
const FASTIFY_REFUSES_PROTOTYPE_KEYS = { status: 400, body: { code: 'FST_ERR_CTP_INVALID_JSON_BODY', error: 'Bad Request' } };
/** The same refusal in a Nest app on Fastify, in the shape of Nest's own exception answer. */
const NEST_FASTIFY_REFUSES_PROTOTYPE_KEYS = {
  status: 400,
  body: { statusCode: 400, message: "Body is not valid JSON but content-type is set to 'application/json'" },
};

const ADAPTERS: Adapter[] = [
  { name: 'Express', start: startExpressApp },
  { name: 'Koa', start: startKoaApp },
  { name: 'Fastify', start: startFastifyApp, prototypeKeysAnswer: FASTIFY_REFUSES_PROTOTYPE_KEYS },
  { name: 'NestJS on Express', start: nestApp('express') },
  { name: 'NestJS on Fastify', start: nestApp('fastify'), prototypeKeysAnswer: NEST_FASTIFY_REFUSES_PROTOTYPE_KEYS },
];

const teletracker = PROTOCOLS.find((protocol) => protocol.name === 'refreshToken')!;
const NOT_LOGGED_IN = { status: 401, body: { error: 'NOT_LOGGED_IN' } };
const INVALID_CREDENTIALS = { status: 401, body: { error: 'INVALID_CREDENTIALS' } };

interface TwoUsers extends TestApp {
  ada: Browser;
  grace: Browser;
  /** Asserts that each user still gets an answer, and sees only their own upstream user. */
  expectBothServed(): Promise<void>;
}

/** An app with ada and grace logged in, each in a browser of their own (signed-cookie mode). */
async function twoUsers(adapter: Adapter, protocol: ProtocolCase = teletracker, options?: AppOptions): Promise<TwoUsers> {
  const app = await adapter.start(protocol, options);
  const ada = app.browser();
  const grace = app.browser();
  expect((await ada.login(protocol.credentials('ada'))).status).toBe(204);
  expect((await grace.login(protocol.credentials('grace'))).status).toBe(204);
  const expectBothServed = async () => {
    expect(await ada.get('/me')).toMatchObject({ status: 200, body: { userId: USER_IDS.ada } });
    expect(await grace.get('/me')).toMatchObject({ status: 200, body: { userId: USER_IDS.grace } });
  };
  await expectBothServed();
  return { ...app, ada, grace, expectBothServed };
}

// --- session cookies -------------------------------------------------------------------------

const ATTACKER_SECRET = 'an-attacker-secret-of-32-characters!!';

function idOf(pair: string): string {
  return pair.slice(COOKIE_NAME.length + 1).split('.')[0]!;
}

function signatureOf(pair: string): string {
  return pair.slice(COOKIE_NAME.length + 1).split('.')[1]!;
}

// Not the last character: its two lowest bits carry no data in a 43-character base64url signature.
function changeCharacter(text: string, index: number): string {
  return text.slice(0, index) + (text[index] === 'A' ? 'B' : 'A') + text.slice(index + 1);
}

/** Cookie headers built from ada's and grace's valid `tk.sid=<id>.<signature>` pairs; each must read as no session. */
const SPOILED: [string, (ada: string, grace: string) => string][] = [
  [
    "a forged cookie (grace's id signed with another secret)",
    (_, grace) => `${COOKIE_NAME}=${idOf(grace)}.${createHmac('sha256', ATTACKER_SECRET).update(idOf(grace)).digest('base64url')}`,
  ],
  ["grace's id under ada's signature", (ada, grace) => `${COOKIE_NAME}=${idOf(grace)}.${signatureOf(ada)}`],
  ['a cookie with one signature character changed', (ada) => changeCharacter(ada, ada.length - 10)],
  ['a cookie with one id character changed', (ada) => changeCharacter(ada, COOKIE_NAME.length + 3)],
  ['a cookie truncated by one character', (ada) => ada.slice(0, -1)],
  ['a cookie cut off after the dot', (ada) => `${COOKIE_NAME}=${idOf(ada)}.`],
  ["an unsigned cookie (grace's id alone)", (_, grace) => `${COOKIE_NAME}=${idOf(grace)}`],
  ['a cookie with text appended to its signature', (ada) => `${ada}.${signatureOf(ada)}`],
  ['an empty cookie', () => `${COOKIE_NAME}=`],
  ['a 5,000-character cookie value', () => `${COOKIE_NAME}=${'A'.repeat(5_000)}`],
  ['a cookie with a byte outside ASCII', (ada) => `${ada}\u00ff`],
  ['a cookie whose name differs in case', (ada) => ada.replace(COOKIE_NAME, COOKIE_NAME.toUpperCase())],
  ["ada's cookie twice", (ada) => `${ada}; ${ada}`],
  ["ada's and grace's cookies in one header", (ada, grace) => `${ada}; ${grace}`],
  ["grace's and ada's cookies in one header", (ada, grace) => `${grace}; other=1; ${ada}`],
];

/** A GET with header lines exactly as given (an array sends one line per value), which fetch cannot send. */
function rawGet(url: string, path: string, headers: Record<string, string | string[]>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}${path}`, { headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        resolve({ status: response.statusCode!, body });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

// --- sessionKey functions --------------------------------------------------------------------

/** What a misbehaving sessionKey function returns, chosen by the request's `x-odd` header; each means "no session". */
const ODD_KEYS: Record<string, () => unknown> = {
  "an object whose toString names grace's key": () => ({ toString: () => 'user-2' }),
  "a String object of grace's key": () => new String('user-2'),
  "an array holding grace's key": () => ['user-2'],
  'an object that throws when turned into a string': () => ({
    toString() {
      throw new Error('not a string');
    },
    [Symbol.toPrimitive]() {
      throw new Error('not a primitive');
    },
  }),
  NaN: () => Number.NaN,
  Infinity: () => Number.POSITIVE_INFINITY,
  'an integer beyond the safe range (2 ** 53)': () => 2 ** 53,
  'a bigint': () => 2n,
  'an empty string': () => '',
  "a 2 KB string that starts with grace's key": () => `user-2${'x'.repeat(2_042)}`,
  "a Symbol named after grace's key": () => Symbol('user-2'),
};

/** A sessionKey function keyed by `x-user`; `x-odd` and `x-fail` make it misbehave. Works on a request or a Koa context. */
function hostileSessionKey(incoming: { headers: Record<string, string | string[] | undefined> }): unknown {
  const odd = incoming.headers['x-odd'];
  if (typeof odd === 'string') return ODD_KEYS[odd]!();
  if (incoming.headers['x-fail'] === 'throw') throw new Error('user directory down');
  if (incoming.headers['x-fail'] === 'reject') return Promise.reject(new Error('user directory down'));
  return incoming.headers['x-user'];
}

/** ada under key `user-1` and grace under `user-2`, through the app's sessionKey function. */
async function twoKeyedUsers(adapter: Adapter) {
  const app = await adapter.start(teletracker, { middleware: { sessionKey: hostileSessionKey } });
  const client = app.browser();
  const as = (user: string, extra: Record<string, string> = {}) => ({ 'x-user': user, ...extra });
  expect((await client.login(teletracker.credentials('ada'), as('user-1'))).status).toBe(204);
  expect((await client.login(teletracker.credentials('grace'), as('user-2'))).status).toBe(204);
  const expectBothServed = async () => {
    expect(await client.get('/me', as('user-1'))).toMatchObject({ status: 200, body: { userId: USER_IDS.ada } });
    expect(await client.get('/me', as('user-2'))).toMatchObject({ status: 200, body: { userId: USER_IDS.grace } });
  };
  await expectBothServed();
  return { ...app, client, as, expectBothServed };
}

/** Runs `run` with the worker's unhandled-rejection handlers swapped for a recorder, and returns what it recorded. */
async function unhandledRejectionsDuring(run: () => Promise<void>): Promise<unknown[]> {
  const recorded: unknown[] = [];
  const record = (reason: unknown) => void recorded.push(reason);
  const previous = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', record);
  try {
    await run();
    // Node reports unhandled rejections once the microtask queue drains: let it.
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', record);
    for (const listener of previous) process.on('unhandledRejection', listener);
  }
  return recorded;
}

// --- credentials -----------------------------------------------------------------------------

interface HostileLogin {
  name: string;
  credentials: unknown;
  /** The answer the adapter's README documents (status and JSON error code). */
  answer: { status: number; body: Record<string, string | number> };
  /** Refused before any upstream call (tokenkeeper's own check), rather than by the upstream. */
  refusedLocally: boolean;
  /** Hides the credentials under a prototype key, which some frameworks' body parsers refuse themselves. */
  prototypeKeys?: boolean;
}

const INJECTED_LINE = '\r\nX-Injected: yes';
const LONG_PASSWORD = `long-password-${'p'.repeat(20_000)}`;

/** Credentials an attacker can post to the example-style `POST /login` (which hands the JSON body to `login`). */
function hostileLogins(protocol: ProtocolCase): HostileLogin[] {
  const user = protocol.name === 'sessionRenew' ? 'email' : 'username';
  const valid = protocol.credentials('ada');
  const local = { answer: INVALID_CREDENTIALS, refusedLocally: true };
  const logins: HostileLogin[] = [
    { name: 'a CR/LF and a header line in the user name', credentials: { ...valid, [user]: `${valid[user]}${INJECTED_LINE}` }, ...local },
    {
      name: 'a CR/LF and a header line in the password',
      credentials: { ...valid, password: `hostile-password${INJECTED_LINE}` },
      ...local,
    },
    { name: 'a NUL in the user name', credentials: { ...valid, [user]: `${valid[user]}\u0000grace` }, ...local },
    {
      name: 'a ":" in the user name',
      credentials: { ...valid, [user]: 'grace:grace-password-2', password: 'hostile-password' },
      // RFC 7617: only Basic cannot carry it, and refuses it before sending.
      answer: INVALID_CREDENTIALS,
      refusedLocally: protocol.name === 'basicAuth',
    },
    // Over 4,096 characters: refused here rather than sent upstream (which would answer 413/431).
    { name: 'a 20,000-character password', credentials: { ...valid, password: LONG_PASSWORD }, ...local },
    { name: 'numbers and booleans in place of strings', credentials: { ...valid, [user]: 42, password: true }, ...local },
    {
      name: 'objects and arrays in place of strings',
      credentials: { ...valid, [user]: { $gt: '' }, password: ['hostile-password'] },
      ...local,
    },
    { name: 'null fields', credentials: { ...valid, [user]: null, password: null }, ...local },
    { name: 'an array in place of the credentials object', credentials: [valid], ...local },
    {
      name: 'valid credentials hidden under a JSON "__proto__" key',
      credentials: JSON.parse(`{"__proto__": ${JSON.stringify(valid)}}`),
      ...local,
      prototypeKeys: true,
    },
    {
      name: 'valid credentials hidden under "constructor.prototype"',
      credentials: { constructor: { prototype: valid } },
      ...local,
      prototypeKeys: true,
    },
  ];
  if (protocol.name === 'sessionRenew') {
    logins.push({
      name: 'a CR/LF and a header line in selectedOrg',
      credentials: { ...valid, selectedOrg: `7${INJECTED_LINE}` },
      ...local,
    });
  }
  return logins;
}

const LOGIN_PATHS = ['/user/authenticate', '/auth/login', '/auth'];

// --- redirects -------------------------------------------------------------------------------

const foreignServers: RecordingServer[] = [];
afterEach(async () => {
  await Promise.all(foreignServers.splice(0).map((server) => server.close()));
});

async function foreignOrigin(): Promise<RecordingServer> {
  const server = await startRecordingServer();
  foreignServers.push(server);
  return server;
}

/** `protocol` with its protected resource (the test apps' `GET /data`) replaced by a path on the upstream. */
function withResource(protocol: ProtocolCase, resource: string): ProtocolCase {
  return { ...protocol, resource };
}

/** App options whose keeper may reach `server` (without the token): redirects there are followed. */
function allowing(server: RecordingServer): AppOptions {
  return { keeper: { allowedOrigins: [server.url] } };
}

function redirectTo(url: string): string {
  return `/redirect?to=${encodeURIComponent(url)}`;
}

/** The token in a recorded token header: its value without the `Bearer ` scheme. */
function tokenIn(value: string | string[] | undefined): string {
  expect(typeof value).toBe('string');
  return (value as string).replace(/^Bearer /, '');
}

function headerValues(request: { headers: Record<string, string | string[] | undefined> }): string {
  return Object.values(request.headers).flat().join('\n');
}

// --- the specification -----------------------------------------------------------------------

describe.each(ADAPTERS)('the $name adapter under hostile input', (adapter) => {
  describe('session cookies', () => {
    it.each(SPOILED)('answers %s with 401 NOT_LOGGED_IN, reaching no session', async (_, spoil) => {
      const app = await twoUsers(adapter);
      const attacker = app.browser();
      attacker.cookie = spoil(app.ada.cookie!, app.grace.cookie!);
      app.upstream.stats.reset();

      expect(await attacker.get('/me')).toMatchObject(NOT_LOGGED_IN);
      expect(await attacker.get('/data')).toMatchObject(NOT_LOGGED_IN);
      expect(app.upstream.stats.apiCalls).toBe(0);
      await app.expectBothServed();
    });

    it("answers two Cookie header lines holding ada's and grace's cookies with 401 NOT_LOGGED_IN", async () => {
      const app = await twoUsers(adapter);
      app.upstream.stats.reset();

      expect(await rawGet(app.url, '/me', { cookie: [app.ada.cookie!, app.grace.cookie!] })).toMatchObject(NOT_LOGGED_IN);
      expect(app.upstream.stats.apiCalls).toBe(0);
      await app.expectBothServed();
    });

    it("keeps ada logged in beside an app's unrelated 9,000-character cookie (it used to log her out)", async () => {
      const app = await twoUsers(adapter);
      const header = `${app.ada.cookie}; padding=${'x'.repeat(9_000)}`;

      expect(await rawGet(app.url, '/me', { cookie: header })).toMatchObject({ status: 200, body: { userId: USER_IDS.ada } });
    });

    it("answers a Cookie header over Node's 16 KiB header limit with Node's own 431, and keeps serving", async () => {
      const app = await twoUsers(adapter);
      const attacker = app.browser();
      attacker.cookie = `${app.grace.cookie}; padding=${'x'.repeat(20_000)}`;
      app.upstream.stats.reset();

      expect((await attacker.get('/me')).status).toBe(431);
      expect(app.upstream.stats.apiCalls).toBe(0);
      await app.expectBothServed();
    });

    it("logs neither user out when a login comes with both users' cookies", async () => {
      const app = await twoUsers(adapter);
      const attacker = app.browser();
      attacker.cookie = `${app.ada.cookie}; ${app.grace.cookie}`;

      expect((await attacker.login(teletracker.credentials('ada'))).status).toBe(204);
      expect(attacker.cookie).not.toContain(idOf(app.ada.cookie!));
      await app.expectBothServed();
    });
  });

  describe('sessionKey functions', () => {
    it.each(Object.keys(ODD_KEYS))('treats %s as no session: 401 NOT_LOGGED_IN', async (odd) => {
      const app = await twoKeyedUsers(adapter);
      app.upstream.stats.reset();

      expect(await app.client.get('/me', app.as('user-1', { 'x-odd': odd }))).toMatchObject(NOT_LOGGED_IN);
      expect(await app.client.get('/data', app.as('user-1', { 'x-odd': odd }))).toMatchObject(NOT_LOGGED_IN);
      expect(app.upstream.stats.apiCalls).toBe(0);
      await app.expectBothServed();
    });

    it('answers 500 when the function throws, and keeps serving', async () => {
      const app = await twoKeyedUsers(adapter);
      app.upstream.stats.reset();

      expect((await app.client.get('/me', app.as('user-2', { 'x-fail': 'throw' }))).status).toBe(500);
      expect(app.upstream.stats.apiCalls).toBe(0);
      await app.expectBothServed();
    });

    it('answers 500 when the function returns a rejected promise, and leaves no rejection unhandled', async () => {
      const app = await twoKeyedUsers(adapter);
      app.upstream.stats.reset();
      let status = 0;
      const unhandled = await unhandledRejectionsDuring(async () => {
        status = (await app.client.get('/me', app.as('user-2', { 'x-fail': 'reject' }))).status;
      });

      expect(unhandled).toEqual([]);
      expect(status).toBe(500);
      expect(app.upstream.stats.apiCalls).toBe(0);
      await app.expectBothServed();
    });
  });

  describe.each(PROTOCOLS)('credentials posted to the login route against $name', (protocol) => {
    it.each(hostileLogins(protocol).map((login) => [login.name, login] as const))(
      'answers %s with the documented error, logs no one in and injects no header',
      async (_, hostile) => {
        const app = await twoUsers(adapter, protocol);
        app.upstream.stats.reset();
        const loginRequestsBefore = app.upstream.requests.filter((request) => LOGIN_PATHS.includes(request.path)).length;

        const answer = await app.browser().login(hostile.credentials);
        expect(answer).toMatchObject((hostile.prototypeKeys && adapter.prototypeKeysAnswer) || hostile.answer);
        expect(answer.setCookies).toEqual([]);
        expect(JSON.stringify(answer.body)).not.toMatch(/hostile-password|long-password/);
        expect(app.upstream.stats.logins).toBe(0);
        expect(app.upstream.requests.filter((request) => 'x-injected' in request.headers)).toEqual([]);
        if (hostile.refusedLocally) {
          expect(app.upstream.requests.filter((request) => LOGIN_PATHS.includes(request.path))).toHaveLength(loginRequestsBefore);
        }
        expect(Object.prototype).not.toHaveProperty('username');
        await app.expectBothServed();
      },
    );
  });

  describe.each(PROTOCOLS)('an upstream redirect to another origin, against $name', (protocol) => {
    it('is handed back, not followed, when nobody allowed that origin: the foreign origin gets nothing', async () => {
      const foreign = await foreignOrigin();
      const app = await twoUsers(adapter, withResource(protocol, redirectTo(`${foreign.url}/steal`)));

      expect((await app.ada.get('/data')).status).not.toBe(200);
      expect(foreign.requests).toEqual([]);
      await app.expectBothServed();
    });

    it('is followed without the token when the origin is allowed: the foreign origin gets no Authorization header', async () => {
      const foreign = await foreignOrigin();
      const app = await twoUsers(adapter, withResource(protocol, redirectTo(`${foreign.url}/steal`)), allowing(foreign));

      expect(await app.ada.get('/data')).toMatchObject({ status: 200, body: { ok: true } });
      const [hop] = app.upstream.requests.filter((request) => request.path.startsWith('/redirect'));
      const token = tokenIn(hop!.authorization); // the upstream itself did get the token
      expect(foreign.requests).toHaveLength(1);
      expect(foreign.requests[0]!.authorization).toBeUndefined();
      expect(headerValues(foreign.requests[0]!)).not.toContain(token);
      await app.expectBothServed();
    });

    it('drops the token at the hop that leaves the upstream, after a redirect within it', async () => {
      const foreign = await foreignOrigin();
      const chained = withResource(protocol, '');
      const app = await twoUsers(adapter, chained, allowing(foreign));
      // Read by GET /data at request time: /redirect → /redirect (the upstream's own origin) → foreign.
      chained.resource = redirectTo(`${app.upstream.url}${redirectTo(`${foreign.url}/steal`)}`);

      expect(await app.ada.get('/data')).toMatchObject({ status: 200, body: { ok: true } });
      const hops = app.upstream.requests.filter((request) => request.path.startsWith('/redirect'));
      expect(hops).toHaveLength(2);
      const token = tokenIn(hops[1]!.authorization); // both hops on the upstream carried it
      expect(tokenIn(hops[0]!.authorization)).toBe(token);
      expect(foreign.requests).toHaveLength(1);
      expect(foreign.requests[0]!.authorization).toBeUndefined();
      expect(headerValues(foreign.requests[0]!)).not.toContain(token);
      await app.expectBothServed();
    });
  });

  it('does not let a custom token header (x-auth-token) follow a redirect to another origin either', async () => {
    const foreign = await foreignOrigin();
    const base = PROTOCOLS.find((protocol) => protocol.name === 'sessionRenew')!;
    const customHeader: ProtocolCase = {
      ...withResource(base, redirectTo(`${foreign.url}/steal`)),
      preset: (baseUrl) => sessionRenew({ baseUrl, header: 'x-auth-token' }),
    };
    const app = await adapter.start(customHeader, allowing(foreign));
    const ada = app.browser();
    expect((await ada.login(base.credentials('ada'))).status).toBe(204);

    expect(await ada.get('/data')).toMatchObject({ status: 200, body: { ok: true } });
    const [hop] = app.upstream.requests.filter((request) => request.path.startsWith('/redirect'));
    const token = tokenIn(hop!.headers['x-auth-token']);
    expect(foreign.requests).toHaveLength(1);
    expect(foreign.requests[0]!.headers['x-auth-token']).toBeUndefined();
    expect(headerValues(foreign.requests[0]!)).not.toContain(token);
  });
});
