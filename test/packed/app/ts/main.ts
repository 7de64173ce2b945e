// A TypeScript app on the packed packages: compiled as CommonJS (`module: nodenext` in a folder
// whose package.json says "type": "commonjs"), as ES modules with `nodenext`, and for a bundler
// (`moduleResolution: bundler`), type-checked with the oldest TypeScript the READMEs promise and with the
// workspace's, then run. The types under test: `req.upstream`, `ctx.state.upstream`,
// `request.upstream`, `@UpstreamSession()` and `installTokenKeeper`'s options.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { Controller, Get, Module, Post } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { AuthError, TokenKeeper } from '@tokenkeeper/auth-core';
import { installTokenKeeper, type TokenKeeperRequestConfig } from '@tokenkeeper/axios';
import { tokenKeeper as expressTokenKeeper, tokenKeeperErrors } from '@tokenkeeper/express';
import { tokenKeeper as fastifyTokenKeeper } from '@tokenkeeper/fastify';
import { tokenKeeper as koaTokenKeeper } from '@tokenkeeper/koa';
import { AuthErrorFilter, TokenKeeperModule, UpstreamSession } from '@tokenkeeper/nestjs';
import { RedisLock, RedisStore } from '@tokenkeeper/redis';
import { defaultUsers, type FakeProtocol, fakeCredentials, fakeUpstreamPreset, startFakeUpstream } from '@tokenkeeper/testing';
import axios from 'axios';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';

// axios ships one set of declarations for require() and another for import; @tokenkeeper/axios is an
// ES module typed against the import side. A CommonJS project sees the require side, so it casts
// its instance and repeats the request-config augmentation (see the axios README, "TypeScript").
// Harmless in an ES-module project, where both name the same types.
type ImportSideAxiosInstance = import('axios', { with: { 'resolution-mode': 'import' }}).AxiosInstance;
declare module 'axios' {
  interface AxiosRequestConfig {
    tokenKeeper?: TokenKeeperRequestConfig;
  }
}

const COOKIE = { secret: 'a-cookie-secret-of-at-least-thirty-two-characters', secure: false };

async function upstreamFor(protocol: FakeProtocol) {
  const upstream = await startFakeUpstream({ protocol });
  const keeper = new TokenKeeper({ protocol: fakeUpstreamPreset(upstream) });
  const credentials = fakeCredentials(protocol, defaultUsers()[0]!);
  const close = async () => {
    await keeper.close();
    await upstream.close();
  };
  return { upstream, keeper, credentials, close };
}

async function listen(server: Server): Promise<{ base: string; close: () => Promise<void> }> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    base: `http://127.0.0.1:${address.port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function askApp(base: string): Promise<void> {
  const login = await fetch(`${base}/login`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  assert.ok(login.ok, `POST /login answered ${login.status}`);
  const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
  const me = await fetch(`${base}/me`, { headers: { cookie }, signal: AbortSignal.timeout(10_000) });
  assert.equal(me.status, 200);
  assert.deepEqual(await me.json(), { userId: 1 });
  const anonymous = await fetch(`${base}/me`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(anonymous.status, 401);
  assert.equal(((await anonymous.json()) as { error: string }).error, 'NOT_LOGGED_IN');
}

const scenarios: Record<string, () => Promise<void>> = {
  async 'auth-core'() {
    const { keeper, credentials, close } = await upstreamFor('basicAuth');
    try {
      const session = keeper.session('ada');
      await session.login(credentials);
      assert.deepEqual(await (await session.fetch('/whoami')).json(), { userId: 1 });
      assert.ok(new AuthError('NOT_LOGGED_IN', 'no session') instanceof Error);
    } finally {
      await close();
    }
  },

  async express() {
    const { keeper, credentials, close } = await upstreamFor('refreshToken');
    const app = express();
    app.use(expressTokenKeeper({ keeper, cookie: COOKIE }));
    app.post('/login', async (req, res) => {
      await req.upstream.login(credentials);
      res.json({ loggedIn: true });
    });
    app.get('/me', async (req, res) => {
      res.json(await (await req.upstream.fetch('/whoami')).json());
    });
    app.use(tokenKeeperErrors());
    const server = await listen(createServer(app));
    try {
      await askApp(server.base);
    } finally {
      await server.close();
      await close();
    }
  },

  async koa() {
    const { keeper, credentials, close } = await upstreamFor('sessionRenew');
    const app = new Koa();
    app.use(koaTokenKeeper({ keeper, cookie: COOKIE }));
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

  async fastify() {
    const { keeper, credentials, close } = await upstreamFor('basicAuth');
    const app = Fastify();
    await app.register(fastifyTokenKeeper, { keeper, cookie: COOKIE });
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

  async nestjs() {
    const { keeper, credentials, close } = await upstreamFor('refreshToken');

    @Controller()
    class AppController {
      @Post('login')
      async login(@UpstreamSession() upstream: UpstreamSession) {
        await upstream.login(credentials);
        return { loggedIn: true };
      }

      @Get('me')
      async me(@UpstreamSession() upstream: UpstreamSession) {
        return (await upstream.fetch('/whoami')).json();
      }
    }

    @Module({
      imports: [TokenKeeperModule.forRoot({ keeper, cookie: COOKIE })],
      controllers: [AppController],
      providers: [{ provide: APP_FILTER, useClass: AuthErrorFilter }],
    })
    class AppModule {}

    const app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      await askApp(`http://127.0.0.1:${app.getHttpServer().address().port}`);
    } finally {
      await app.close();
      await close();
    }
  },

  async axios() {
    const { upstream, keeper, credentials, close } = await upstreamFor('sessionRenew');
    try {
      const session = keeper.session('nightly-job');
      await session.login(credentials, { service: true });
      const api = axios.create({ baseURL: upstream.url });
      installTokenKeeper(api as unknown as ImportSideAxiosInstance, { session });
      const { status, data } = await api.get<{ userId: number }>('/whoami', { tokenKeeper: { retry: true } });
      assert.equal(status, 200);
      assert.deepEqual(data, { userId: 1 });
      const missing: unknown = await api.get('/no-such-resource').catch((error: unknown) => error);
      assert.ok(axios.isAxiosError(missing));
      assert.equal(missing.response?.status, 404);
    } finally {
      await close();
    }
  },

  async redis() {
    // Two keepers on one Redis (run.mjs starts a private redis-server): the second serves the
    // session the first logged in, as a second app instance would.
    const { upstream, credentials, close } = await upstreamFor('refreshToken');
    const store = new RedisStore({ url: process.env.REDIS_URL!, encryptionKey: randomBytes(32) });
    const shared = () => ({ protocol: fakeUpstreamPreset(upstream), store, lock: new RedisLock({ store }) });
    const first = new TokenKeeper(shared());
    const second = new TokenKeeper(shared());
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

async function main(): Promise<void> {
  // Which project this is, and the module format its compiled output must be in.
  const [label = 'ts', format] = process.argv.slice(2);
  assert.equal(typeof module === 'object' ? 'commonjs' : 'module', format, `${label} was compiled to the wrong module format`);
  for (const [name, scenario] of Object.entries(scenarios)) {
    await scenario();
    console.log(`${label}: ${name} ok`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
