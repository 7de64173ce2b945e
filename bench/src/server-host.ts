/**
 * Child-process entry for scenario 2: small apps, each with one route (`GET /calls`) that
 * makes one upstream call and answers its JSON. Per framework (Express, Koa, Fastify):
 *
 * - `baseline`: `fetch` with a hard-coded `Authorization` header (a token logged in once);
 * - `bounded`: the same, with a 30 s timeout signal, as `session.fetch` used to bound each try;
 * - `middleware`: the baseline's route in the tokenkeeper apps' shape, with an empty middleware
 *   (hook) where tokenkeeper's goes, the same `/login` route and an error handler: what any
 *   middleware costs in the framework, tokenkeeper's floor;
 * - `sessionKey`: tokenkeeper's middleware keyed by the app's own user (`sessionKey`), `req.upstream.fetch`;
 * - `cookie`: tokenkeeper's middleware with its built-in signed session cookie;
 * - `token`: the `sessionKey` middleware, but the route takes `req.upstream.token()` and calls
 *   `fetch` itself (no retry on a 401): how much of the cost is `session.fetch`'s own.
 *
 * argv[2] is the fake upstream's URL. Announces `{ ports, cookie }` when every app listens.
 */

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Session as InspectorSession } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { tokenKeeper as expressTokenKeeper, tokenKeeperErrors } from '@tokenkeeper/express';
import { tokenKeeper as fastifyTokenKeeper } from '@tokenkeeper/fastify';
import { tokenKeeper as koaTokenKeeper } from '@tokenkeeper/koa';
import { RedisLock, RedisStore } from '@tokenkeeper/redis';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { serveParent } from './child.js';
import { ADA } from './upstream.js';

export type Variant = 'baseline' | 'bounded' | 'middleware' | 'sessionKey' | 'cookie' | 'token' | 'redis' | 'redisNear';
export type Framework = 'express' | 'koa' | 'fastify';
export type AppName = `${Framework}-${Variant}`;

export interface ServerHostReady {
  ports: Record<AppName, number>;
  /** The `Cookie` header of a logged-in user of each `*-cookie` app started. */
  cookie: Partial<Record<Framework, string>>;
}

const upstreamUrl = process.argv[2]!;
const callData = `${upstreamUrl}/reports/call-data`;
const USER = 'bench-user';
const cookieOptions = { secret: 'a bench-only cookie secret, 32+ characters long', secure: false };

const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: upstreamUrl }) });
await keeper.session(USER).login(ADA);

// argv[3], when given: a Redis for the `express-redis` apps, whose keepers share sessions there
// (`express-redisNear` with the store's near cache, under a prefix of its own).
const redisUrl = process.argv[3];
const onRedis = (near: boolean) => {
  if (!redisUrl) return undefined;
  const store = new RedisStore({ url: redisUrl, encryptionKey: randomBytes(32), prefix: near ? 'tk-near' : 'tk', nearCache: near });
  return { store, keeper: new TokenKeeper({ protocol: refreshToken({ baseUrl: upstreamUrl }), store, lock: new RedisLock({ store }) }) };
};
const redisApps = { redis: onRedis(false), redisNear: onRedis(true) };
for (const app of Object.values(redisApps)) await app?.keeper.session(USER).login(ADA);
const login = await fetch(`${upstreamUrl}/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(ADA),
});
const { token } = (await login.json()) as { token: string };
const hardCoded = { authorization: `Bearer ${token}` };
/** The hard-coded call, bounded as `session.fetch` bounds each try (`requestTimeoutMs`, 30 s). */
async function boundedCall(): Promise<unknown> {
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(), 30_000);
  try {
    return await (await fetch(callData, { headers: hardCoded, signal: timer.signal })).json();
  } finally {
    clearTimeout(timeout);
  }
}

function expressApp(variant: Variant) {
  const app = express();
  if (variant === 'baseline') {
    app.get('/calls', async (_req, res) => {
      res.json(await (await fetch(callData, { headers: hardCoded })).json());
    });
    return app;
  }
  if (variant === 'bounded') {
    app.get('/calls', async (_req, res) => {
      res.json(await boundedCall());
    });
    return app;
  }
  if (variant === 'middleware') {
    app.use((_req, _res, next) => next());
    app.post('/login', (_req, res) => {
      res.json({});
    });
    app.get('/calls', async (_req, res) => {
      res.json(await (await fetch(callData, { headers: hardCoded })).json());
    });
    app.use(((error, _req, _res, next) => next(error)) as express.ErrorRequestHandler);
    return app;
  }
  if (variant === 'redis' || variant === 'redisNear')
    app.use(expressTokenKeeper({ keeper: redisApps[variant]!.keeper, sessionKey: () => USER }));
  else app.use(expressTokenKeeper(variant === 'cookie' ? { keeper, cookie: cookieOptions } : { keeper, sessionKey: () => USER }));
  app.post('/login', async (req, res) => {
    res.json(await req.upstream.login(ADA));
  });
  if (variant === 'token') {
    app.get('/calls', async (req, res) => {
      const headers = { authorization: `Bearer ${await req.upstream.token()}` };
      res.json(await (await fetch(callData, { headers })).json());
    });
  } else {
    app.get('/calls', async (req, res) => {
      res.json(await (await req.upstream.fetch('/reports/call-data')).json());
    });
  }
  app.use(tokenKeeperErrors());
  return app;
}

function koaApp(variant: Variant) {
  const app = new Koa();
  const router = new Router();
  if (variant === 'baseline') {
    router.get('/calls', async (ctx) => {
      ctx.body = await (await fetch(callData, { headers: hardCoded })).json();
    });
  } else if (variant === 'bounded') {
    router.get('/calls', async (ctx) => {
      ctx.body = await boundedCall();
    });
  } else if (variant === 'middleware') {
    app.use((_ctx, next) => next());
    router.post('/login', (ctx) => {
      ctx.body = {};
    });
    router.get('/calls', async (ctx) => {
      ctx.body = await (await fetch(callData, { headers: hardCoded })).json();
    });
  } else {
    app.use(koaTokenKeeper(variant === 'cookie' ? { keeper, cookie: cookieOptions } : { keeper, sessionKey: () => USER }));
    router.post('/login', async (ctx) => {
      ctx.body = await ctx.state.upstream.login(ADA);
    });
    router.get('/calls', async (ctx) => {
      if (variant === 'token') {
        const headers = { authorization: `Bearer ${await ctx.state.upstream.token()}` };
        ctx.body = await (await fetch(callData, { headers })).json();
      } else {
        ctx.body = await (await ctx.state.upstream.fetch('/reports/call-data')).json();
      }
    });
  }
  app.use(router.routes());
  return app;
}

async function fastifyApp(variant: Variant) {
  const app = Fastify();
  if (variant === 'baseline') {
    app.get('/calls', async () => (await fetch(callData, { headers: hardCoded })).json());
  } else if (variant === 'bounded') {
    app.get('/calls', boundedCall);
  } else if (variant === 'middleware') {
    app.decorateRequest('floor', null); // as the plugin decorates `upstream`
    app.addHook('onRequest', (_request, _reply, next) => next());
    app.setErrorHandler((error, _request, reply) => reply.send(error));
    app.post('/login', async () => ({}));
    app.get('/calls', async () => (await fetch(callData, { headers: hardCoded })).json());
  } else {
    await app.register(fastifyTokenKeeper, variant === 'cookie' ? { keeper, cookie: cookieOptions } : { keeper, sessionKey: () => USER });
    app.post('/login', async (request) => request.upstream.login(ADA));
    app.get('/calls', async (request) => {
      if (variant !== 'token') return (await request.upstream.fetch('/reports/call-data')).json();
      const headers = { authorization: `Bearer ${await request.upstream.token()}` };
      return (await fetch(callData, { headers })).json();
    });
  }
  await app.ready(); // then its Node server listens like the others
  return app.server;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return (server.address() as AddressInfo).port;
}

/** Logs in through the app's own `/login` route and returns the session cookie it set. */
async function cookieOf(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/login`, { method: 'POST' });
  const cookie = response.headers.getSetCookie()[0]?.split(';')[0];
  if (response.status !== 200 || !cookie) throw new Error(`login through port ${port} answered ${response.status}`);
  return cookie;
}

// TK_BENCH_APPS, when set: only these apps (comma-separated names), so that code the apps share
// (the framework's, the middleware's) sees one app's objects, as in a process that serves one app.
const only = process.env.TK_BENCH_APPS?.split(',');
const servers = new Map<AppName, Server>();
const add = async (name: AppName, server: () => Server | Promise<Server>) => {
  if (!only || only.includes(name)) servers.set(name, await server());
};
for (const variant of ['baseline', 'bounded', 'middleware', 'sessionKey', 'cookie', 'token'] as const) {
  await add(`express-${variant}`, () => createServer(expressApp(variant)));
  await add(`koa-${variant}`, () => createServer(koaApp(variant).callback()));
  await add(`fastify-${variant}`, () => fastifyApp(variant));
}
if (redisUrl)
  for (const variant of ['redis', 'redisNear'] as const) await add(`express-${variant}`, () => createServer(expressApp(variant)));
const ports = {} as Record<AppName, number>;
for (const [name, server] of servers) ports[name] = await listen(server);
const cookie: ServerHostReady['cookie'] = {};
for (const framework of ['express', 'koa', 'fastify'] as const) {
  const port = ports[`${framework}-cookie`];
  if (port !== undefined) cookie[framework] = await cookieOf(port);
}
const ready: ServerHostReady = { ports, cookie };

/** CPU time this process has used (µs): per request, it is what the apps cost, whatever else the machine runs. */
function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** The inspector's CPU profiler in this process, for `profile.ts`: started and stopped around one load (connected only then). */
let inspector: InspectorSession | undefined;
async function profileStart(intervalMicros: number): Promise<void> {
  if (!inspector) {
    inspector = new InspectorSession();
    inspector.connect();
  }
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: intervalMicros });
  await inspector.post('Profiler.start');
}
async function profileStop(): Promise<unknown> {
  const { profile } = await inspector!.post('Profiler.stop');
  return profile;
}

serveParent(ready, { cpuMicros, profileStart, profileStop }, async () => {
  inspector?.disconnect();
  for (const server of servers.values()) {
    server.closeAllConnections();
    server.close();
  }
  await keeper.close();
  for (const app of Object.values(redisApps)) {
    await app?.keeper.close();
    await app?.store.close();
  }
});
