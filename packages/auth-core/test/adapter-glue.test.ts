import { describe, expect, it } from 'vitest';
import {
  AuthError,
  authErrorResponse,
  cookieHeaderOf,
  RequestSession,
  refreshToken,
  SessionCookie,
  SessionSource,
  sessionKeyOf,
  TokenKeeper,
} from '../src/index.js';
import { protocolCase, setup } from './harness.js';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';

function cookieValue(setCookie: string): string {
  return setCookie.split(';')[0]!;
}

describe('SessionCookie', () => {
  const cookie = new SessionCookie({ secret: SECRET });

  it("keeps a user logged in beside an app's unrelated 9,000-character cookie (only our own cookie's size is capped)", () => {
    const { id, header } = cookie.issue();
    expect(cookie.read(`${cookieValue(header)}; analytics=${'x'.repeat(9_000)}`)).toBe(id);
  });

  it('ends a session at its absolute lifetime whatever the browser kept, and the signed issue time cannot be moved', () => {
    let now = 1_700_000_000_000;
    const timed = new SessionCookie({ secret: SECRET, absoluteLifetimeMs: 8 * 3_600_000 }, () => now);
    const { id, header } = timed.issue();
    const value = cookieValue(header);
    expect(value).toMatch(/^__Host-tk\.sid=[A-Za-z0-9_-]{22}\.[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
    now += 8 * 3_600_000 - 1_000;
    expect(timed.read(value)).toBe(id);
    const [name, rest] = value.split('=');
    const [sid, , signature] = rest!.split('.');
    const moved = `${name}=${sid}.${Math.floor(now / 1000).toString(36)}.${signature}`; // a fresher issue time, same signature
    now += 2_000;
    expect(timed.read(value)).toBeUndefined();
    expect(timed.read(moved)).toBeUndefined();
    // A cookie of the other shape is no session either way.
    expect(cookie.read(value)).toBeUndefined();
    expect(timed.read(cookieValue(cookie.issue().header))).toBeUndefined();
    expect(() => new SessionCookie({ secret: SECRET, absoluteLifetimeMs: 10 })).toThrow(
      new TypeError('session cookie: absoluteLifetimeMs must be at least 1000 (one second)'),
    );
  });

  it("refuses a path or domain that would inject an attribute (path: '/; Domain=evil.example')", () => {
    expect(() => new SessionCookie({ secret: SECRET, path: '/; Domain=evil.example' })).toThrow(
      new TypeError("session cookie: path must start with '/' and hold no ';', spaces or control characters"),
    );
    expect(() => new SessionCookie({ secret: SECRET, path: '/a\r\nSet-Cookie: x=1' })).toThrow(TypeError);
    expect(() => new SessionCookie({ secret: SECRET, domain: 'example.com; Secure=false' })).toThrow(
      new TypeError('session cookie: domain must be a host name (letters, digits, hyphens and dots)'),
    );
    expect(() => new SessionCookie({ secret: SECRET, name: '__Host-sid', domain: 'example.com' })).toThrow(
      new TypeError('session cookie: a __Host- name needs secure, path / and no domain'),
    );
    expect(new SessionCookie({ secret: SECRET, domain: '.example.com' }).issue().header).toMatch(/; Domain=\.example\.com$/);
  });

  it('issues a random 128-bit id in an HttpOnly, SameSite=Lax, Secure cookie named __Host- (no sibling domain can set it)', () => {
    const { id, header } = cookie.issue();
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(header).toMatch(/^__Host-tk\.sid=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure$/);
    expect(new SessionCookie({ secret: SECRET, secure: false }).name).toBe('tk.sid'); // plain-HTTP development
    expect(new SessionCookie({ secret: SECRET, path: '/app' }).name).toBe('tk.sid');
    expect(cookie.issue().id).not.toBe(id);
  });

  it('reads back the id it signed, among other cookies', () => {
    const { id, header } = cookie.issue();
    expect(cookie.read(`theme=dark; ${cookieValue(header)}; lang=en`)).toBe(id);
  });

  it('finds its cookie by its whole name only, wherever it is in the header and however it is spaced', () => {
    const { id, header } = cookie.issue();
    const value = cookieValue(header);
    const signed = value.slice(cookie.name.length + 1);
    const cases = [
      `x${cookie.name}=1; ${value}`, // a longer name that ends in ours
      `other=${cookie.name}=zzz; ${value}`, // our name inside another cookie's value
      `${value}; ${cookie.name}x=1`, // a longer name that starts with ours
      ` \t${value} ;other=1`,
      `${cookie.name} = ${signed}`,
      `a=1;\u00a0${cookie.name}\u00a0=\u00a0${signed}\u00a0;b=2`, // white space as trim() sees it, not only spaces and tabs
      `${cookie.name}; ${value}`, // our name without a value is no cookie
      ['theme=dark', value],
    ];
    for (const given of cases) expect(cookie.read(given)).toBe(id);
    expect(cookie.read([value, value])).toBeUndefined(); // once in each of two Cookie headers is twice
  });

  it('reads a forged, tampered, truncated, oversized or duplicated cookie as no session', () => {
    const { id, header } = cookie.issue();
    const value = cookieValue(header);
    const other = cookieValue(new SessionCookie({ secret: 'another-secret-of-thirty-two-characters!' }).issue().header);
    const tampered = value.replace(id, cookie.issue().id);
    const cases = [
      other, // signed with a secret we do not have
      tampered, // a valid signature for another id
      value.slice(0, -5), // truncated
      `${cookie.name}=${id}`, // unsigned
      `${value}; ${value}`, // duplicated
      `${cookie.name}=${'A'.repeat(300)}`, // a value of ours far longer than ours can be
      `${cookie.name}=`, // empty
      undefined,
    ];
    for (const header of cases) expect(cookie.read(header)).toBeUndefined();
  });

  it('accepts only the canonical spelling of a signature (base64url’s last character has spare bits)', () => {
    const { id, header } = cookie.issue();
    const value = cookieValue(header);
    const last = value.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sameBits = alphabet[alphabet.indexOf(last) ^ 1]!; // differs only in a bit decoding ignores
    expect(Buffer.from(value.slice(-43, -1) + sameBits, 'base64url')).toEqual(Buffer.from(value.slice(-43), 'base64url'));
    expect(cookie.read(value)).toBe(id);
    expect(cookie.read(value.slice(0, -1) + sameBits)).toBeUndefined();
  });

  it('refuses a maxAgeMs under one second, which would delete the cookie at once', () => {
    expect(() => new SessionCookie({ secret: SECRET, maxAgeMs: 500 })).toThrow(/maxAgeMs must be at least 1000/);
    expect(new SessionCookie({ secret: SECRET, maxAgeMs: 90_000 }).issue().header).toMatch(/; Max-Age=90$/);
  });

  it('verifies with every secret but signs with the first, so secrets can rotate', () => {
    const old = new SessionCookie({ secret: SECRET });
    const rotated = new SessionCookie({ secret: ['the-new-secret-of-thirty-two-characters!', SECRET] });
    const issuedBefore = old.issue();
    expect(rotated.read(cookieValue(issuedBefore.header))).toBe(issuedBefore.id);
    const issuedAfter = rotated.issue();
    expect(old.read(cookieValue(issuedAfter.header))).toBeUndefined();
  });

  it('refuses short secrets and unsafe settings, naming them', () => {
    expect(() => new SessionCookie({ secret: 'short' })).toThrow(
      /secret must be a string \(or a list of strings\) of at least 32 characters/,
    );
    expect(() => new SessionCookie({ secret: SECRET, sameSite: 'none', secure: false })).toThrow(/sameSite 'none' needs secure/);
    expect(() => new SessionCookie({ secret: SECRET, name: 'bad name' })).toThrow(/name must be a valid cookie name/);
  });

  it('clears itself with Max-Age=0', () => {
    expect(cookie.clear()).toBe('__Host-tk.sid=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0');
  });
});

describe('sessionKeyOf and authErrorResponse', () => {
  it('keeps non-empty strings and safe integers, and turns anything else into no key', () => {
    expect(sessionKeyOf('user-1')).toBe('user-1');
    expect(sessionKeyOf(42)).toBe('42');
    for (const odd of [undefined, null, '', 'x'.repeat(1_025), {}, [], 1.5, Number.NaN, () => 'x', Symbol('x')]) {
      expect(sessionKeyOf(odd)).toBeUndefined();
    }
  });

  it('answers an AuthError with its status and code, and leaves other errors alone', () => {
    expect(authErrorResponse(new AuthError('SESSION_EXPIRED', 'the session has expired: log in again'))).toEqual({
      status: 401,
      body: { error: 'SESSION_EXPIRED', message: 'the session has expired: log in again' },
    });
    expect(authErrorResponse(new Error('boom'))).toBeUndefined();
  });
});

describe('RequestSession', () => {
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: 'http://127.0.0.1:9' }), keepAlive: false });

  it('answers NOT_LOGGED_IN when the request has no session key', async () => {
    const session = new RequestSession(keeper, undefined);
    await expect(session.fetch('/x')).rejects.toMatchObject({ code: 'NOT_LOGGED_IN', message: 'no session: log in first' });
    await expect(session.token()).rejects.toMatchObject({ code: 'NOT_LOGGED_IN' });
    await expect(session.state()).resolves.toEqual({ status: 'none' });
  });

  it('waits for a key an async sessionKey function is still resolving', async () => {
    const session = new RequestSession(keeper, Promise.resolve(42));
    expect(session.key).toBeUndefined();
    await expect(session.state()).resolves.toEqual({ status: 'none' });
    expect(session.key).toBe('42');
  });

  it('surfaces a rejected key from the methods that need it, and never as an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const session = new RequestSession(keeper, Promise.reject(new Error('directory unavailable')));
      await new Promise((resolve) => setTimeout(resolve, 10));
      await expect(session.fetch('/x')).rejects.toThrow('directory unavailable');
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('clears the cookie on logout even without a live session', async () => {
    const headers: string[] = [];
    const cookie = new SessionCookie({ secret: SECRET });
    const session = new RequestSession(keeper, cookie.issue().id, { cookie, setCookie: (header) => headers.push(header) });
    await session.logout();
    expect(headers).toEqual([cookie.clear()]);
    expect(session.key).toBeUndefined();
  });
});

describe('cookieHeaderOf', () => {
  it("reads Node's rawHeaders as req.headers.cookie would: any spelling of the name, repeated fields joined with '; '", () => {
    const rawHeaders = ['Host', 'app.example', 'COOKIE', 'a=1', 'cookie-extra', 'x', 'Cookie', 'b=2', 'cookies', 'y'];
    expect(cookieHeaderOf({ rawHeaders, headers: { cookie: 'what a middleware wrote' } })).toBe('a=1; b=2');
    expect(cookieHeaderOf({ rawHeaders: ['Host', 'app.example'] })).toBeUndefined();
    expect(cookieHeaderOf({ rawHeaders: ['cookie'] })).toBeUndefined(); // a name without its value
  });

  it('falls back to headers.cookie for a request without rawHeaders (a plain object in a test)', () => {
    expect(cookieHeaderOf({ headers: { cookie: 'a=1' } })).toBe('a=1');
    expect(cookieHeaderOf({ headers: { cookie: ['a=1', 'b=2'] } })).toBe('a=1; b=2');
    expect(cookieHeaderOf({ headers: {} })).toBeUndefined();
    expect(cookieHeaderOf({})).toBeUndefined();
  });
});

describe('SessionSource', () => {
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: 'http://127.0.0.1:9' }), keepAlive: false });
  const names = { adapter: 'tokenKeeper', request: 'request' };
  const source = (options: object) => new SessionSource(options as never, names);

  it('needs a cookie secret when there is no sessionKey function', () => {
    expect(() => source({ keeper })).toThrow(new TypeError('tokenKeeper: cookie.secret is required when there is no sessionKey function'));
  });

  it('needs a TokenKeeper, and sessionKey to be a function when given', () => {
    expect(() => source({ keeper: {}, cookie: { secret: SECRET } })).toThrow(new TypeError('tokenKeeper: keeper must be a TokenKeeper'));
    expect(() => source({ keeper, sessionKey: 'user' })).toThrow(
      new TypeError('tokenKeeper: sessionKey must be a function of the request'),
    );
  });

  it('refuses both a sessionKey function and cookie options, since only one can hold the key', () => {
    expect(() => source({ keeper, sessionKey: () => 'user-1', cookie: { secret: SECRET } })).toThrow(
      /either sessionKey or cookie, not both/,
    );
  });

  it('refuses a cookie secret shorter than 32 characters', () => {
    expect(() => source({ keeper, cookie: { secret: 'short' } })).toThrow(/secret must be a string .* of at least 32 characters/);
  });

  it('keys a session by the function, or by the signed cookie', async () => {
    expect(
      source({ keeper, sessionKey: (request: { user: string }) => request.user }).sessionFor({ user: 'u-1' }, undefined, () => {}).key,
    ).toBe('u-1');
    const cookie = new SessionCookie({ secret: SECRET });
    const { id, header } = cookie.issue();
    const fromCookie = source({ keeper, cookie: { secret: SECRET } }).sessionFor({}, header.split(';')[0], () => {});
    expect(fromCookie.key).toBe(id);
  });

  it('turns a throwing sessionKey function into an error where the session is used', async () => {
    const session = source({
      keeper,
      sessionKey: () => {
        throw new Error('no directory');
      },
    }).sessionFor({}, undefined, () => {});
    await expect(session.token()).rejects.toThrow('no directory');
  });
});

describe('decisions core makes for adapters that send requests themselves', () => {
  it('authorizes only absolute URLs on the protocol’s origin', () => {
    const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: 'https://api.example.test/v1/' }), keepAlive: false });
    expect(keeper.authorizes('https://api.example.test/v1/reports')).toBe(true);
    expect(keeper.authorizes(new URL('https://api.example.test:443/other'))).toBe(true);
    for (const url of [
      'https://api.example.test.evil.test/',
      'http://api.example.test/',
      '//10.0.0.1/latest/meta-data',
      '\\\\host',
      'nonsense',
    ]) {
      expect(keeper.authorizes(url)).toBe(false);
    }
    expect(keeper.protocol.header).toBe('authorization');
    return keeper.close();
  });

  it('retryTokenFor: a new token after the expiry signal, undefined for other answers and within the back-off', async () => {
    const teletracker = protocolCase('refreshToken');
    const { keeper } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(teletracker.credentials('ada'));
    const sent = await session.token();
    const answer = (status: number) => ({ status, headers: new Headers() });
    expect(await keeper.retryTokenFor('ada', sent, answer(404))).toBeUndefined();
    const renewed = await keeper.retryTokenFor('ada', sent, answer(401));
    expect(renewed).toEqual(expect.any(String));
    expect(renewed).not.toBe(sent);
    expect(await keeper.retryTokenFor('ada', renewed!, answer(401))).toBeUndefined(); // turned away again at once: a permission answer
    expect(await keeper.retryTokenFor('ada', sent, answer(401))).toBe(renewed); // a request still in flight with the old token
  });
});
