import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { protocolCase, rejection, setup } from './harness.js';

/**
 * `requestTimeoutMs` bounds each `session.fetch` try. With Node's own `fetch` the bound is kept
 * in a dispatcher wrapped around the one the request would have used (see `request-bound.ts`),
 * so these specs drive it through real loopback servers that stall at each stage of a call, and
 * check that the caller's signal, the caller's dispatcher and an app's global dispatcher (a
 * proxy's place) keep working around it.
 */

const teletracker = protocolCase('refreshToken');
const ada = teletracker.credentials('ada');
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
type Dispatcher = { dispatch(options: object, handler: object): boolean };
const slot = globalThis as unknown as Record<symbol, Dispatcher | undefined>;

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0).reverse()) stop();
});

/** Puts `replacement(real)` in `globalThis.fetch` until the test ends: a keeper built now takes it for the platform's. */
function replaceGlobalFetch(replacement: (real: typeof fetch) => typeof fetch): typeof fetch {
  const real = globalThis.fetch;
  globalThis.fetch = replacement(real);
  stops.push(() => {
    globalThis.fetch = real;
  });
  return globalThis.fetch;
}

/** A `globalThis.fetch` that records the init of every call, then sends it. */
function recordingGlobalFetch(): { fetch: typeof fetch; sent: RequestInit[] } {
  const sent: RequestInit[] = [];
  const recording = replaceGlobalFetch((real) => (input, init) => {
    sent.push(init ?? {});
    return real(input, init);
  });
  return { fetch: recording, sent };
}

/** A plain HTTP server that takes every request and never answers it. */
async function silentHttp(): Promise<string> {
  const server: Server = createHttpServer(() => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stops.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** A TCP server that accepts connections and says nothing: an `https:` request to it never gets past its TLS handshake. */
async function silentTls(): Promise<string> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stops.push(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return `https://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** A dispatcher that passes every request on to `inner` and counts them, as an app's own (a proxy agent) would carry them. */
function counting(inner: Dispatcher): Dispatcher & { count: number } {
  return {
    count: 0,
    dispatch(options, handler) {
      this.count++;
      return inner.dispatch(options, handler);
    },
  };
}

/** The keeper with `options` and a logged-in session whose first call has gone through (so the bound has settled on how it holds). */
async function warmSession(options: Parameters<typeof setup>[1] = {}) {
  const context = await setup('refreshToken', { requestTimeoutMs: 300, ...options });
  const session = context.keeper.session('ada');
  await session.login(ada);
  expect((await session.fetch(teletracker.resource)).status).toBe(200);
  return { ...context, session };
}

describe('requestTimeoutMs with Node’s own fetch', () => {
  it('bounds a call that hangs after earlier calls went through, without handing fetch a signal of its own', async () => {
    const { fetch: recording, sent } = recordingGlobalFetch();
    const { session, upstream } = await warmSession({ fetch: recording });
    sent.length = 0;
    expect((await session.fetch(teletracker.resource)).status).toBe(200);
    expect(sent[0]?.signal).toBeUndefined();
    expect((sent[0] as { dispatcher?: unknown })?.dispatcher).toBeDefined();
    upstream.faults.next('api', 'hang');
    expect(await rejection(() => session.fetch(teletracker.resource))).toMatchObject({
      code: 'TIMEOUT',
      status: 504,
      message: 'upstream request took longer than 300 ms',
    });
    expect((await session.fetch(teletracker.resource)).status).toBe(200);
  });

  // One timer serves every try of a keeper (set for the oldest): each try must still get its
  // full time from its own start, whichever try the timer was set for.
  it('gives every try its full time from its own start: one after an earlier call, and two hanging at once', async () => {
    const { session, upstream } = await warmSession(); // its call set the timer, then ended
    const timed = async (): Promise<{ code: unknown; elapsed: number }> => {
      const started = performance.now();
      const error = await rejection(() => session.fetch(teletracker.resource));
      return { code: (error as { code?: unknown }).code, elapsed: performance.now() - started };
    };
    await new Promise((resolve) => setTimeout(resolve, 150));
    upstream.faults.next('api', 'hang', { count: 3 });
    const alone = await timed();
    const first = timed();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const together = await Promise.all([first, timed()]);
    for (const { code, elapsed } of [alone, ...together]) {
      expect(code).toBe('TIMEOUT');
      expect(elapsed).toBeGreaterThanOrEqual(300);
    }
    expect((await session.fetch(teletracker.resource)).status).toBe(200);
  });

  // undici's own connect timeout (10 s) would end this call too, and be reported as TIMEOUT as
  // well: the test's own time limit is what tells the 300 ms bound from it.
  it('lets a second keeper of the same fetch skip the probe: its first call carries no signal of its own', async () => {
    const { fetch: recording, sent } = recordingGlobalFetch();
    await warmSession({ fetch: recording }); // the probe: its first call carried both
    expect(sent.find((init) => (init as { dispatcher?: unknown }).dispatcher !== undefined)?.signal).toBeInstanceOf(AbortSignal);
    const { keeper, upstream } = await setup('refreshToken', { requestTimeoutMs: 300, fetch: recording });
    const session = keeper.session('ada');
    await session.login(ada);
    sent.length = 0;
    upstream.faults.next('api', 'hang');
    expect(await rejection(() => session.fetch(teletracker.resource))).toMatchObject({ code: 'TIMEOUT' });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.signal).toBeUndefined();
  });

  it('bounds a call still waiting for its connection (a TLS handshake that never completes), not only one waiting for headers', {
    timeout: 5_000,
  }, async () => {
    const stalled = await silentTls();
    const { session } = await warmSession({ allowedOrigins: [stalled] });
    expect(await rejection(() => session.fetch(`${stalled}/reports`))).toMatchObject({
      code: 'TIMEOUT',
      message: 'upstream request took longer than 300 ms',
    });
  });

  it('counts every hop of a redirect against one bound: a redirect to a server that never answers times out', async () => {
    const silent = await silentHttp();
    const { session, upstream } = await warmSession({ allowedOrigins: [silent] });
    const error = await rejection(() => session.fetch(`/redirect?to=${encodeURIComponent(`${silent}/reports`)}`));
    expect(error).toMatchObject({ code: 'TIMEOUT', message: 'upstream request took longer than 300 ms' });
    expect(upstream.requests.some((request) => request.path.startsWith('/redirect'))).toBe(true);
  });

  it('leaves the answer’s body to the caller: a body slower than the bound is still read in full', async () => {
    const slow = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first ');
      setTimeout(() => res.end('last'), 250);
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    stops.push(() => slow.close());
    const origin = `http://127.0.0.1:${(slow.address() as { port: number }).port}`;
    const { session } = await warmSession({ requestTimeoutMs: 100, allowedOrigins: [origin] });
    expect(await (await session.fetch(`${origin}/slow`)).text()).toBe('first last');
  });

  it('still aborts on the caller’s signal, as an abort and not a TIMEOUT', async () => {
    const { session, upstream } = await warmSession({ requestTimeoutMs: 5_000 });
    upstream.faults.next('api', 'hang');
    const caller = new AbortController();
    setTimeout(() => caller.abort(), 50).unref();
    const error = await rejection(() => session.fetch(teletracker.resource, { signal: caller.signal }));
    expect(error).toMatchObject({ name: 'AbortError' });
  });

  it('sends through the caller’s own init.dispatcher, and still bounds it', async () => {
    const { session, upstream } = await warmSession();
    const own = counting(slot[GLOBAL_DISPATCHER]!);
    const init = { dispatcher: own } as unknown as RequestInit;
    expect((await session.fetch(teletracker.resource, init)).status).toBe(200);
    expect(own.count).toBe(1);
    upstream.faults.next('api', 'hang');
    expect(await rejection(() => session.fetch(teletracker.resource, init))).toMatchObject({ code: 'TIMEOUT' });
    expect(own.count).toBe(2);
  });

  it('sends through the global dispatcher the app set (where setGlobalDispatcher(new ProxyAgent(…)) puts a proxy)', async () => {
    const { session } = await warmSession();
    const original = slot[GLOBAL_DISPATCHER]!;
    const app = counting(original);
    slot[GLOBAL_DISPATCHER] = app;
    stops.push(() => {
      slot[GLOBAL_DISPATCHER] = original;
    });
    expect((await session.fetch(teletracker.resource)).status).toBe(200);
    expect((await session.fetch(teletracker.resource)).status).toBe(200);
    expect(app.count).toBe(2);
  });
});

describe('requestTimeoutMs with a fetch that does not use dispatchers', () => {
  it('keeps the signal bound when globalThis.fetch was replaced by one that drops init.dispatcher (a test interceptor)', async () => {
    const dropping = replaceGlobalFetch((real) => (input, init) => {
      const { dispatcher: _dropped, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
      return real(input, rest);
    });
    const { session, upstream } = await warmSession({ fetch: dropping });
    upstream.faults.next('api', 'hang');
    expect(await rejection(() => session.fetch(teletracker.resource))).toMatchObject({
      code: 'TIMEOUT',
      message: 'upstream request took longer than 300 ms',
    });
  });

  it('bounds the very first call through such a fetch too, while it is still being probed', async () => {
    const dropping = replaceGlobalFetch((real) => (input, init) => {
      const { dispatcher: _dropped, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
      return real(input, rest);
    });
    const { keeper, upstream } = await setup('refreshToken', { requestTimeoutMs: 300, fetch: dropping });
    const session = keeper.session('ada');
    await session.login(ada);
    upstream.faults.next('api', 'hang');
    expect(await rejection(() => session.fetch(teletracker.resource))).toMatchObject({
      code: 'TIMEOUT',
      message: 'upstream request took longer than 300 ms',
    });
  });

  it('passes a handler of a shape it does not know on untouched, and keeps to the signal after it (a later undici’s fetch)', async () => {
    const unknownShape = { onRequestStart() {}, onResponseStart() {}, onResponseData() {}, onResponseEnd() {}, onResponseError() {} };
    const reached: object[] = [];
    const original = slot[GLOBAL_DISPATCHER]!;
    slot[GLOBAL_DISPATCHER] = {
      dispatch(options, handler) {
        if (handler !== unknownShape) return original.dispatch(options, handler);
        reached.push(handler); // only if it came through unwrapped
        return true;
      },
    };
    stops.push(() => {
      slot[GLOBAL_DISPATCHER] = original;
    });
    // A stand-in for a later fetch: it hands the dispatcher a handler of another shape, then answers through Node's own.
    const future = replaceGlobalFetch((real) => (input, init) => {
      const { dispatcher, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: Dispatcher };
      dispatcher?.dispatch({ path: '/', method: 'GET' }, unknownShape);
      return real(input, rest);
    });
    const { session, upstream } = await warmSession({ fetch: future });
    expect(reached).toEqual([unknownShape]);
    upstream.faults.next('api', 'hang');
    expect(await rejection(() => session.fetch(teletracker.resource))).toMatchObject({
      code: 'TIMEOUT',
      message: 'upstream request took longer than 300 ms',
    });
  });

  it('bounds a fetch of the app’s own by a signal from the first call', async () => {
    const realFetch = globalThis.fetch;
    const signals: (AbortSignal | null | undefined)[] = [];
    const own: typeof fetch = (input, init) => {
      signals.push(init?.signal);
      return realFetch(input, init);
    };
    const { session, upstream } = await warmSession({ fetch: own });
    expect(signals.at(-1)).toBeInstanceOf(AbortSignal);
    upstream.faults.next('api', 'hang');
    expect(await rejection(() => session.fetch(teletracker.resource))).toMatchObject({ code: 'TIMEOUT' });
  });
});
