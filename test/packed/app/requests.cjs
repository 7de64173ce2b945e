// One real request through each adapter, each against a fake upstream speaking a different
// protocol. The entry files (esm.mjs, cjs.cjs) differ only in how they load the packages, which
// is what they test; this file is the app code both run.
'use strict';
const assert = require('node:assert/strict');
const { randomBytes, randomUUID } = require('node:crypto');
const { once } = require('node:events');
const { createServer } = require('node:http');

const COOKIE = { secret: 'a-cookie-secret-of-at-least-thirty-two-characters', secure: false };

/** A fake upstream of `protocol`, a keeper for it, and the first default user's login. */
async function upstreamFor(packages, protocol) {
  const { defaultUsers, fakeCredentials, fakeUpstreamPreset, startFakeUpstream } = packages.testing;
  const upstream = await startFakeUpstream({ protocol });
  const keeper = new packages.core.TokenKeeper({ protocol: fakeUpstreamPreset(upstream) });
  const credentials = fakeCredentials(protocol, defaultUsers()[0]);
  const close = async () => {
    await keeper.close();
    await upstream.close();
  };
  return { upstream, keeper, credentials, close };
}

/** Listens on a free loopback port; returns the base URL and a close function. */
async function listen(server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return { base: `http://127.0.0.1:${server.address().port}`, close };
}

/** POST /login sets the session cookie; GET /me with it is the upstream's /whoami; without it, 401 NOT_LOGGED_IN. */
async function askApp(base) {
  const login = await fetch(`${base}/login`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  assert.ok(login.ok, `POST /login answered ${login.status}`);
  const cookie = login.headers.getSetCookie()[0].split(';')[0];
  const me = await fetch(`${base}/me`, { headers: { cookie }, signal: AbortSignal.timeout(10_000) });
  assert.equal(me.status, 200);
  assert.deepEqual(await me.json(), { userId: 1 });
  const anonymous = await fetch(`${base}/me`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(anonymous.status, 401);
  assert.equal((await anonymous.json()).error, 'NOT_LOGGED_IN');
}

const scenarios = {
  async 'auth-core'(packages) {
    const { keeper, credentials, close } = await upstreamFor(packages, 'basicAuth');
    try {
      const session = keeper.session('ada');
      await session.login(credentials);
      const response = await session.fetch('/whoami');
      assert.deepEqual(await response.json(), { userId: 1 });
    } finally {
      await close();
    }
  },

  async express({ express: { framework: express, adapter }, ...packages }) {
    const { keeper, credentials, close } = await upstreamFor(packages, 'refreshToken');
    const app = express();
    app.use(adapter.tokenKeeper({ keeper, cookie: COOKIE }));
    app.post('/login', async (req, res) => {
      await req.upstream.login(credentials);
      res.json({ loggedIn: true });
    });
    app.get('/me', async (req, res) => res.json(await (await req.upstream.fetch('/whoami')).json()));
    app.use(adapter.tokenKeeperErrors());
    const server = await listen(createServer(app));
    try {
      await askApp(server.base);
    } finally {
      await server.close();
      await close();
    }
  },

  async koa({ koa: { framework: Koa, adapter }, ...packages }) {
    const { keeper, credentials, close } = await upstreamFor(packages, 'sessionRenew');
    const app = new Koa();
    app.use(adapter.tokenKeeper({ keeper, cookie: COOKIE }));
    app.use(async (ctx) => {
      if (ctx.method === 'POST' && ctx.path === '/login') {
        await ctx.state.upstream.login(credentials);
        ctx.body = { loggedIn: true };
      } else if (ctx.path === '/me') {
        ctx.body = await (await ctx.state.upstream.fetch('/whoami')).json();
      }
    });
    const server = await listen(createServer(app.callback()));
    try {
      await askApp(server.base);
    } finally {
      await server.close();
      await close();
    }
  },

  async fastify({ fastify: { framework: Fastify, adapter }, ...packages }) {
    const { keeper, credentials, close } = await upstreamFor(packages, 'basicAuth');
    const app = Fastify();
    await app.register(adapter.tokenKeeper, { keeper, cookie: COOKIE });
    app.post('/login', async (request) => {
      await request.upstream.login(credentials);
      return { loggedIn: true };
    });
    app.get('/me', async (request) => (await request.upstream.fetch('/whoami')).json());
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await askApp(base);
    } finally {
      await app.close();
      await close();
    }
  },

  async nestjs({ nestjs: { common, core, adapter }, ...packages }) {
    const { keeper, credentials, close } = await upstreamFor(packages, 'refreshToken');
    // Plain JavaScript has no decorator syntax: apply Nest's decorators by hand, as TypeScript would.
    class AppController {
      async login(upstream) {
        await upstream.login(credentials);
        return { loggedIn: true };
      }
      async me(upstream) {
        return (await upstream.fetch('/whoami')).json();
      }
    }
    for (const [method, route] of [
      ['login', common.Post],
      ['me', common.Get],
    ]) {
      adapter.UpstreamSession()(AppController.prototype, method, 0);
      route(method)(AppController.prototype, method, Object.getOwnPropertyDescriptor(AppController.prototype, method));
    }
    common.Controller()(AppController);
    class AppModule {}
    common.Module({
      imports: [adapter.TokenKeeperModule.forRoot({ keeper, cookie: COOKIE })],
      controllers: [AppController],
      providers: [{ provide: core.APP_FILTER, useClass: adapter.AuthErrorFilter }],
    })(AppModule);
    const app = await core.NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      await askApp(`http://127.0.0.1:${app.getHttpServer().address().port}`);
    } finally {
      await app.close();
      await close();
    }
  },

  async axios({ axios: { framework: axios, adapter }, ...packages }) {
    const { upstream, keeper, credentials, close } = await upstreamFor(packages, 'sessionRenew');
    try {
      const session = keeper.session('nightly-job');
      await session.login(credentials, { service: true });
      const api = axios.create({ baseURL: upstream.url });
      adapter.installTokenKeeper(api, { session });
      const { status, data } = await api.get('/whoami');
      assert.equal(status, 200);
      assert.deepEqual(data, { userId: 1 });
      // In a CommonJS app the error may come from axios's other build (see the axios README): isAxiosError() holds either way.
      const missing = await api.get('/no-such-resource').catch((error) => error);
      assert.ok(axios.isAxiosError(missing));
      assert.equal(missing.response.status, 404);
    } finally {
      await close();
    }
  },

  async redis({ redis, ...packages }) {
    // Two keepers on one Redis (run.mjs starts a private redis-server): the second serves the
    // session the first logged in, as a second app instance would.
    const { upstream, credentials, close } = await upstreamFor(packages, 'refreshToken');
    const store = new redis.RedisStore({ url: process.env.REDIS_URL, encryptionKey: randomBytes(32) });
    const shared = () => ({ protocol: packages.testing.fakeUpstreamPreset(upstream), store, lock: new redis.RedisLock({ store }) });
    const first = new packages.core.TokenKeeper(shared());
    const second = new packages.core.TokenKeeper(shared());
    const key = `packed-${randomUUID()}`;
    try {
      await first.session(key).login(credentials);
      assert.deepEqual(await (await second.session(key).fetch('/whoami')).json(), { userId: 1 });
    } finally {
      await first.close();
      await second.close();
      await store.close();
      await close();
    }
  },
};

/** Runs every scenario in turn; prints one line per scenario and fails on the first that fails. */
async function runAll(label, packages) {
  for (const [name, scenario] of Object.entries(scenarios)) {
    await scenario(packages);
    console.log(`${label}: ${name} ok`);
  }
}

module.exports = { runAll };
