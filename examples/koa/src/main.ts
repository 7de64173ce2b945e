/**
 * A Koa app that calls an upstream API as each of its users, through tokenkeeper.
 * It starts a fake upstream (from @tokenkeeper/testing) with short-lived tokens, so you can watch
 * sessions survive many token lifetimes.
 *
 *   node dist/main.js
 *   UPSTREAM_PROTOCOL=sessionRenew TOKEN_LIFETIME_S=20 PORT=3000 node dist/main.js
 *
 * Routes: POST /login (JSON credentials), GET /me, GET /data, POST /logout.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import Router from '@koa/router';
import { type Clock, TokenKeeper } from '@tokenkeeper/auth-core';
import { tokenKeeper } from '@tokenkeeper/koa';
import {
  defaultUsers,
  FAKE_RESOURCES,
  type FakeProtocol,
  type FakeUpstream,
  fakeCredentials,
  fakeUpstreamPreset,
  startFakeUpstream,
} from '@tokenkeeper/testing';
import Koa, { type Context } from 'koa';

/** The app: tokenKeeper() in front of four routes. */
export function createApp(options: { keeper: TokenKeeper<any>; resource: string; cookieSecret: string }): Koa {
  const app = new Koa();
  // Sets ctx.state.upstream, and answers an AuthError with { error: code, message } and its status.
  // secure: false only because this example serves plain HTTP on localhost.
  app.use(tokenKeeper({ keeper: options.keeper, cookie: { secret: options.cookieSecret, secure: false } }));

  const router = new Router();
  router.post('/login', async (ctx) => {
    const session = await ctx.state.upstream.login(await readJson(ctx)); // sets a new session cookie
    ctx.body = { status: session.status, expiresAt: session.expiresAt };
  });

  router.get('/me', async (ctx) => {
    const answer = await ctx.state.upstream.fetch('/whoami'); // the token is renewed and retried for you
    await relay(answer, ctx);
  });

  router.get('/data', async (ctx) => {
    await relay(await ctx.state.upstream.fetch(options.resource), ctx);
  });

  router.post('/logout', async (ctx) => {
    await ctx.state.upstream.logout(); // clears the cookie
    ctx.status = 204;
  });

  app.use(router.routes()).use(router.allowedMethods());
  return app;
}

/** Koa has no body parser built in; in a real app, use @koa/bodyparser. */
async function readJson(ctx: Context): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    ctx.throw(400, 'the body must be JSON');
  }
}

/** Passes an upstream answer on to the client. */
async function relay(answer: Response, ctx: Context): Promise<void> {
  ctx.status = answer.status;
  ctx.type = answer.headers.get('content-type') ?? 'text/plain';
  ctx.body = Buffer.from(await answer.arrayBuffer());
}

export interface ExampleOptions {
  /** Which upstream to imitate. Default `'refreshToken'`. */
  protocol?: FakeProtocol;
  /** Lifetime of the upstream's access tokens. Default 60 s. */
  accessTokenLifetimeMs?: number;
  /** Default 0: any free port. */
  port?: number;
  /** Default `'127.0.0.1'`. */
  host?: string;
  /** Time for the upstream and the keeper; tests pass a manual clock. Default: the system clock. */
  clock?: Clock;
  /** Default: random per process (sessions live in memory, so they end with it anyway). */
  cookieSecret?: string;
}

export interface RunningExample {
  /** The app's URL. */
  url: string;
  upstream: FakeUpstream;
  keeper: TokenKeeper<any>;
  /** Stops the app, the keeper and the upstream. */
  close(): Promise<void>;
}

/** Starts the fake upstream, a keeper with the matching preset, and the app. */
export async function start(options: ExampleOptions = {}): Promise<RunningExample> {
  const protocol = options.protocol ?? 'refreshToken';
  const lifetimeMs = options.accessTokenLifetimeMs ?? 60_000;
  const upstream = await startFakeUpstream({ protocol, accessTokenLifetimeMs: lifetimeMs, clock: options.clock });
  const keeper = new TokenKeeper({ protocol: fakeUpstreamPreset(upstream, lifetimeMs), clock: options.clock });
  const app = createApp({
    keeper,
    resource: FAKE_RESOURCES[protocol],
    cookieSecret: options.cookieSecret ?? randomBytes(32).toString('base64url'),
  });

  const server = app.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    upstream,
    keeper,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await keeper.close();
      await upstream.close();
    },
  };
}

async function main(): Promise<void> {
  const protocol = (process.env.UPSTREAM_PROTOCOL ?? 'refreshToken') as FakeProtocol;
  if (!(protocol in FAKE_RESOURCES)) throw new Error(`UPSTREAM_PROTOCOL must be one of ${Object.keys(FAKE_RESOURCES).join(', ')}`);
  const example = await start({
    protocol,
    accessTokenLifetimeMs: Number(process.env.TOKEN_LIFETIME_S ?? 60) * 1000,
    port: Number(process.env.PORT ?? 3000),
    cookieSecret: process.env.COOKIE_SECRET,
  });
  console.log(`Koa example on ${example.url} (fake ${protocol} upstream on ${example.upstream.url})`);
  console.log(
    `  curl -c jar -H 'content-type: application/json' -d '${JSON.stringify(fakeCredentials(protocol, defaultUsers()[0]!))}' ${example.url}/login`,
  );
  console.log(`  curl -b jar ${example.url}/me`);
  const stop = () => void example.close().then(() => process.exit(0));
  process.once('SIGINT', stop).once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
