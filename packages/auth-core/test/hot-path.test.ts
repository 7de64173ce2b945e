import { describe, expect, it } from 'vitest';
import { PROTOCOLS, rejection, setup } from './harness.js';

// What session.fetch builds once instead of per request (each token's headers, each path's URL)
// must never be what a request sends after the token or the path changed.

/** The header value the protocol writes for `token`, as a request should carry it. */
function authorizationOf(protocol: { authorize(headers: Headers, token: string): void }, token: string): string | null {
  const headers = new Headers();
  protocol.authorize(headers, token);
  return headers.get('authorization');
}

describe.each(PROTOCOLS)('session.fetch on the hot path ($name)', (protocol) => {
  it('sends the renewed token on the first request after a renewal, not the header built for the old one', async () => {
    const { upstream, keeper, clock } = await setup(protocol.name);
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    const before = await session.token();
    expect((await session.fetch(protocol.resource)).status).toBe(200);
    expect(upstream.requests.at(-1)!.authorization).toBe(authorizationOf(keeper.protocol, before));

    await clock.advance(protocol.lifetimeMs - 30_000); // inside the refresh window: this request renews in the background
    expect((await session.fetch(protocol.resource)).status).toBe(200);
    await keeper.settled();
    expect((await session.fetch(protocol.resource)).status).toBe(200);
    const after = await session.token();
    expect(after).not.toBe(before);
    expect(upstream.requests.at(-1)!.authorization).toBe(authorizationOf(keeper.protocol, after));
    expect((await session.fetch(protocol.resource)).status).toBe(200);
    expect(upstream.requests.at(-1)!.authorization).toBe(authorizationOf(keeper.protocol, after));
  });
});

// A session-renewing upstream renews only with a live token: a killed one needs a new login.
describe.each(PROTOCOLS.filter((candidate) => candidate.name !== 'sessionRenew'))('session.fetch after a rejection ($name)', (protocol) => {
  it('retries an answer with the expiry signal with the new token, and keeps sending it', async () => {
    const { upstream, keeper } = await setup(protocol.name);
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    const killed = await session.token();
    expect((await session.fetch(protocol.resource)).status).toBe(200);
    upstream.expireAccessToken(killed);

    expect((await session.fetch(protocol.resource)).status).toBe(200);
    const renewed = await session.token();
    const [rejected, retried] = upstream.requests.filter((request) => request.path === protocol.resource).slice(-2);
    expect(rejected!.authorization).toBe(authorizationOf(keeper.protocol, killed));
    expect(retried!.authorization).toBe(authorizationOf(keeper.protocol, renewed));
    expect((await session.fetch(protocol.resource)).status).toBe(200);
    expect(upstream.requests.at(-1)!.authorization).toBe(authorizationOf(keeper.protocol, renewed));
  });
});

describe('session.fetch requests built from cached parts', () => {
  it("keeps the caller's headers and sets the token over a caller's own Authorization header", async () => {
    const { upstream, keeper, protocol } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    const token = await session.token();
    await session.fetch(protocol.resource); // the token's headers are built now
    const response = await session.fetch(protocol.resource, {
      headers: { 'x-trace': 'one', authorization: 'Bearer forged-by-the-caller' },
    });
    expect(response.status).toBe(200);
    const received = upstream.requests.at(-1)!;
    expect(received.authorization).toBe(authorizationOf(keeper.protocol, token));
    expect(received.headers['x-trace']).toBe('one');
    await session.fetch(protocol.resource, { headers: new Headers({ 'x-trace': 'two' }) });
    expect(upstream.requests.at(-1)!.headers['x-trace']).toBe('two');
    expect(upstream.requests.at(-1)!.authorization).toBe(authorizationOf(keeper.protocol, token));
  });

  it("sets the token over a caller's Authorization of any case, in a plain object, a list or a Headers, and keeps the rest", async () => {
    const { upstream, keeper, protocol } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    const expected = authorizationOf(keeper.protocol, await session.token());
    const given: NonNullable<RequestInit['headers']>[] = [
      { Authorization: 'Bearer forged', 'X-Trace': 'one' },
      { AUTHORIZATION: 'Bearer forged', 'x-trace': 'one' },
      [
        ['authorization', 'Bearer forged'],
        ['x-trace', 'one'],
      ],
      new Headers({ Authorization: 'Bearer forged', 'X-Trace': 'one' }),
    ];
    for (const headers of given) {
      expect((await session.fetch(protocol.resource, { headers })).status).toBe(200);
      const received = upstream.requests.at(-1)!;
      expect(received.authorization).toBe(expected); // one value: the caller's is replaced, not joined
      expect(received.headers['x-trace']).toBe('one');
    }
  });

  it("rejects a call whose headers fetch could not read with fetch's own TypeError, and sends nothing", async () => {
    const { upstream, keeper, protocol } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    const sent = upstream.requests.length;
    for (const headers of [null, 'x-trace: one'] as unknown as NonNullable<RequestInit['headers']>[]) {
      const error = await session.fetch(protocol.resource, { headers }).then(
        () => undefined,
        (rejected: unknown) => rejected,
      );
      expect(error).toBeInstanceOf(TypeError);
      expect((error as TypeError).message).toMatch(/^Headers constructor: /);
    }
    expect(upstream.requests.length).toBe(sent);
    expect((await session.fetch(protocol.resource)).status).toBe(200); // and the session goes on
  });

  it("follows a 303 from a POST with a GET that drops the body and the caller's Content-Type, keeping the token on the origin", async () => {
    const { upstream, keeper, protocol } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    const expected = authorizationOf(keeper.protocol, await session.token());
    const response = await session.fetch(`/redirect?status=303&to=${encodeURIComponent(`${upstream.url}/whoami`)}`, {
      method: 'POST',
      body: '{"report":42}',
      headers: { 'Content-Type': 'application/json', 'x-trace': 'one' },
    });
    expect(await response.json()).toEqual({ userId: 1 });
    const [posted, followed] = upstream.requests.slice(-2);
    expect(posted).toMatchObject({ method: 'POST', authorization: expected });
    expect(posted!.headers['content-type']).toBe('application/json');
    expect(followed).toMatchObject({ method: 'GET', path: '/whoami', authorization: expected });
    expect(followed!.headers['content-type']).toBeUndefined();
    expect(followed!.headers['x-trace']).toBe('one');
  });

  it('resolves every path against the base URL, the same path again and a new one alike', async () => {
    const { upstream, keeper, protocol } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    for (const path of [protocol.resource, protocol.resource, `${protocol.resource}?page=2`, new URL(protocol.resource, upstream.url)]) {
      await (await session.fetch(path)).arrayBuffer();
    }
    expect(upstream.requests.slice(-4).map((request) => request.path)).toEqual([
      protocol.resource,
      protocol.resource,
      `${protocol.resource}?page=2`,
      protocol.resource,
    ]);
  });

  it('refuses a path that resolves to another origin every time, also once same-origin paths were resolved', async () => {
    const { upstream, keeper, protocol } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    await (await session.fetch(protocol.resource)).arrayBuffer();
    const sent = upstream.requests.length;
    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = await rejection(() => session.fetch('//elsewhere.example/steal'));
      expect(refused.code).toBe('ORIGIN_NOT_ALLOWED');
      expect(refused.message).toBe(
        "session.fetch does not send requests to http://elsewhere.example: not the upstream's origin, and not in allowedOrigins",
      );
    }
    expect(upstream.requests.length).toBe(sent);
  });
});

describe('keeper.authorizes', () => {
  it('answers for URLs that start like the origin but are not on it', async () => {
    const { upstream, keeper } = await setup('refreshToken');
    const origin = upstream.url; // http://127.0.0.1:PORT
    expect(keeper.authorizes(`${origin}/reports`)).toBe(true);
    expect(keeper.authorizes(`${origin.toUpperCase()}/reports`)).toBe(true);
    expect(keeper.authorizes(new URL('/reports', origin))).toBe(true);
    expect(keeper.authorizes(`${origin}@elsewhere.example/reports`)).toBe(false);
    expect(keeper.authorizes(`${origin}0/reports`)).toBe(false);
    expect(keeper.authorizes(`${origin}.elsewhere.example/reports`)).toBe(false);
    expect(keeper.authorizes(origin.replace('http:', 'https:'))).toBe(false);
    expect(keeper.authorizes('not a URL')).toBe(false);
  });
});

describe('keeper.fetch of a path with no init (its common case, sent from one async frame)', () => {
  /** What a call settles with: its status, or its rejection's name, code and message; and whether it threw instead of rejecting. */
  async function outcome(call: () => Promise<Response>) {
    let promise: Promise<Response>;
    try {
      promise = call();
    } catch (error) {
      return { threw: true, error: String(error) };
    }
    try {
      return { status: (await promise).status };
    } catch (error) {
      const { name, code, message } = error as { name: string; code?: string; message: string };
      return { name, code, message };
    }
  }

  it('rejects (never throws) on a bad session key, an unparsable path and a closed keeper, as a call with an init does', async () => {
    const { keeper } = await setup('refreshToken');
    const cases: [string, string][] = [
      ['', '/reports'],
      ['ada', 'http://['],
    ];
    for (const [key, path] of cases) {
      const plain = await outcome(() => keeper.fetch(key, path));
      expect(plain).toMatchObject({ name: expect.stringMatching(/Error$/) });
      expect(plain).toEqual(await outcome(() => keeper.fetch(key, path, {})));
    }
    await keeper.close();
    const closed = await outcome(() => keeper.fetch('ada', '/reports'));
    expect(closed).toMatchObject({ code: 'KEEPER_CLOSED' });
    expect(closed).toEqual(await outcome(() => keeper.fetch('ada', '/reports', {})));
  });

  it('answers NOT_LOGGED_IN and an unreachable upstream as a call with an init does', async () => {
    const { keeper, upstream, protocol } = await setup('refreshToken');
    const before = await outcome(() => keeper.fetch('ada', protocol.resource));
    expect(before).toMatchObject({ code: 'NOT_LOGGED_IN' });
    expect(before).toEqual(await outcome(() => keeper.fetch('ada', protocol.resource, {})));

    await keeper.session('ada').login(protocol.credentials('ada'));
    await upstream.close();
    const down = await outcome(() => keeper.fetch('ada', protocol.resource));
    expect(down).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(down).toEqual(await outcome(() => keeper.fetch('ada', protocol.resource, {})));
  });
});
