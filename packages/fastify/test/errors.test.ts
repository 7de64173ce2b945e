import { AuthError, refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenKeeper } from '../src/index.js';
import { Browser, PROTOCOLS, SECRET, serve, startApp, startUpstream } from './support.js';

const teletracker = PROTOCOLS.find((protocol) => protocol.name === 'refreshToken')!;
const NOT_LOGGED_IN = { status: 401, body: { error: 'NOT_LOGGED_IN', message: 'no session: log in first' } };

const keepers: TokenKeeper<any>[] = [];
afterEach(async () => {
  for (const keeper of keepers.splice(0)) await keeper.close();
});

/** A keeper whose upstream is never called: for option checks. */
function idleKeeper(): TokenKeeper<any> {
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: 'http://127.0.0.1:9' }), keepAlive: false });
  keepers.push(keeper);
  return keeper;
}

/** A Fastify app against the refreshToken fake upstream, built by `build` around the plugin; listening, closed after the test. */
async function appWith(build: (app: FastifyInstance, keeper: TokenKeeper<any>) => Promise<void> | void) {
  const { upstream, keeper } = await startUpstream(teletracker);
  const app = Fastify();
  await build(app, keeper);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = await serve(app.server);
  return { url, upstream, keeper, browser: () => new Browser(url) };
}

describe("the plugin's error handler", () => {
  it("passes errors that are not AuthErrors on to Fastify's own handler, which answers 500", async () => {
    const { browser } = await startApp(teletracker);

    expect(await browser().get('/boom')).toMatchObject({
      status: 500,
      body: { statusCode: 500, error: 'Internal Server Error', message: 'not an AuthError' },
    });
  });

  it('answers an AuthError thrown by a route in a scope registered inside the plugin’s', async () => {
    const { browser } = await appWith(async (app, keeper) => {
      await app.register(tokenKeeper, { keeper, cookie: { secret: SECRET } });
      await app.register(async (child) => {
        child.get('/inner', async (request) => (await request.upstream.fetch('/whoami')).json());
      });
    });

    expect(await browser().get('/inner')).toMatchObject(NOT_LOGGED_IN);
  });

  it('answers the AuthErrors that an error handler of an inner scope rethrows, and leaves it the rest', async () => {
    const seen: string[] = [];
    const { browser } = await appWith(async (app, keeper) => {
      await app.register(tokenKeeper, { keeper, cookie: { secret: SECRET } });
      await app.register(async (scope) => {
        scope.setErrorHandler((error, _request, reply) => {
          seen.push((error as AuthError).code);
          if (error instanceof AuthError && error.code === 'NOT_LOGGED_IN') throw error;
          return reply.code(418).send({ mine: true });
        });
        scope.get('/data', async (request) => (await request.upstream.fetch('/whoami')).json());
        scope.get('/teapot', async () => {
          throw new AuthError('TIMEOUT', 'the upstream took too long');
        });
      });
    });

    expect(await browser().get('/data')).toMatchObject(NOT_LOGGED_IN);
    expect(await browser().get('/teapot')).toMatchObject({ status: 418, body: { mine: true } });
    expect(seen).toEqual(['NOT_LOGGED_IN', 'TIMEOUT']);
  });

  it("is not set with errorHandler: false, so Fastify's own handler answers an AuthError with its status", async () => {
    const { browser } = await appWith(async (app, keeper) => {
      await app.register(tokenKeeper, { keeper, cookie: { secret: SECRET }, errorHandler: false });
      app.get('/data', async (request) => (await request.upstream.fetch('/whoami')).json());
    });

    expect(await browser().get('/data')).toMatchObject({
      status: 401,
      body: { statusCode: 401, code: 'NOT_LOGGED_IN', error: 'Unauthorized', message: 'no session: log in first' },
    });
  });
});

describe('the tokenKeeper plugin', () => {
  it('puts request.upstream on routes of every scope inside the one it is registered in (it is not encapsulated)', async () => {
    const { browser } = await appWith(async (app, keeper) => {
      await app.register(async (scope) => {
        await scope.register(tokenKeeper, { keeper, cookie: { secret: SECRET, secure: false } });
        scope.post('/login', async (request) => request.upstream.login(request.body));
        await scope.register(async (inner) => {
          inner.get('/me', async (request) => (await request.upstream.fetch('/whoami')).json());
        });
      });
      app.get('/outside', async (request) => ({ upstream: typeof request.upstream }));
    });
    const ada = browser();

    expect((await ada.login(teletracker.credentials('ada'))).status).toBe(200);
    expect(await ada.get('/me')).toMatchObject({ status: 200, body: { userId: 1 } });
    expect(await ada.get('/outside')).toMatchObject({ status: 200, body: { upstream: 'undefined' } }); // a sibling scope: untouched
  });

  it('calls sessionKey after the onRequest hooks added before it, so a hook that sets the user comes first', async () => {
    const { browser } = await appWith(async (app, keeper) => {
      app.decorateRequest('user', null);
      app.addHook('onRequest', async (request) => {
        (request as unknown as { user: string }).user = String(request.headers['x-user']);
      });
      await app.register(tokenKeeper, { keeper, sessionKey: (request) => (request as unknown as { user: string }).user });
      app.post('/login', async (request) => request.upstream.login(request.body));
      app.get('/key', async (request) => ({ key: request.upstream.key }));
    });

    expect((await browser().login(teletracker.credentials('ada'), { 'x-user': 'user-1' })).status).toBe(200);
    expect(await browser().get('/key', { 'x-user': 'user-1' })).toMatchObject({ status: 200, body: { key: 'user-1' } });
  });

  it('lets a route that never uses the session answer without an upstream call, whatever the cookie', async () => {
    const { browser, upstream } = await appWith(async (app, keeper) => {
      await app.register(tokenKeeper, { keeper, cookie: { secret: SECRET } });
      app.get('/health', async () => ({ ok: true }));
    });
    const client = browser();
    client.cookie = '__Host-tk.sid=not-a-session';

    expect(await client.get('/health')).toMatchObject({ status: 200, body: { ok: true } });
    expect(upstream.requests).toEqual([]);
  });
});

describe('tokenKeeper plugin options', () => {
  it('are checked by SessionSource when the plugin is registered, naming the option (the rest of the rules are auth-core specs)', async () => {
    const keeper = idleKeeper();
    await expect(Fastify().register(tokenKeeper, { keeper } as never)).rejects.toThrow(
      new TypeError('tokenKeeper: cookie.secret is required when there is no sessionKey function'),
    );
    await expect(Fastify().register(tokenKeeper, { keeper, sessionKey: 'user' as never })).rejects.toThrow(
      new TypeError('tokenKeeper: sessionKey must be a function of the request'),
    );
  });

  it('refuses a registration without options, and an errorHandler that is not a boolean, naming them', async () => {
    const keeper = idleKeeper();
    await expect(Fastify().register(tokenKeeper as never)).rejects.toThrow(new TypeError('tokenKeeper: keeper must be a TokenKeeper'));
    await expect(Fastify().register(tokenKeeper, { keeper, cookie: { secret: SECRET }, errorHandler: 'yes' as never })).rejects.toThrow(
      new TypeError('tokenKeeper: errorHandler must be a boolean'),
    );
  });

  it('can be registered only once in a scope, as Fastify refuses a second request.upstream', async () => {
    const keeper = idleKeeper();
    const app = Fastify();
    await app.register(tokenKeeper, { keeper, cookie: { secret: SECRET } });
    await expect(app.register(tokenKeeper, { keeper, cookie: { secret: SECRET } })).rejects.toMatchObject({
      code: 'FST_ERR_DEC_ALREADY_PRESENT',
    });
  });
});
