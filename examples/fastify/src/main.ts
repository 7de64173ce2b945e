/**
 * A Fastify app that calls an upstream API as each of its users, through tokenkeeper.
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
import { type Clock, TokenKeeper } from '@tokenkeeper/auth-core';
import { tokenKeeper } from '@tokenkeeper/fastify';
import {
  defaultUsers,
  FAKE_RESOURCES,
  type FakeProtocol,
  type FakeUpstream,
  fakeCredentials,
  fakeUpstreamPreset,
  startFakeUpstream,
} from '@tokenkeeper/testing';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';

/** The app: the tokenKeeper plugin in front of four routes. */
export async function createApp(options: { keeper: TokenKeeper<any>; resource: string; cookieSecret: string }): Promise<FastifyInstance> {
  const app = Fastify();
  // Decorates request.upstream, and answers an AuthError with { error: code, message } and its status.
  // secure: false only because this example serves plain HTTP on localhost.
  await app.register(tokenKeeper, { keeper: options.keeper, cookie: { secret: options.cookieSecret, secure: false } });

  app.post('/login', async (request) => {
    const session = await request.upstream.login(request.body); // sets a new session cookie
    return { status: session.status, expiresAt: session.expiresAt };
  });

  app.get('/me', async (request, reply) => {
    const answer = await request.upstream.fetch('/whoami'); // the token is renewed and retried for you
    return relay(answer, reply);
  });

  app.get('/data', async (request, reply) => relay(await request.upstream.fetch(options.resource), reply));

  app.post('/logout', async (request, reply) => {
    await request.upstream.logout(); // clears the cookie
    return reply.code(204).send();
  });

  return app;
}

/** Passes an upstream answer on to the client. */
async function relay(answer: Response, reply: FastifyReply): Promise<FastifyReply> {
  const body = Buffer.from(await answer.arrayBuffer());
  return reply
    .code(answer.status)
    .type(answer.headers.get('content-type') ?? 'text/plain')
    .send(body);
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
  const app = await createApp({
    keeper,
    resource: FAKE_RESOURCES[protocol],
    cookieSecret: options.cookieSecret ?? randomBytes(32).toString('base64url'),
  });

  await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  const { address, port } = app.server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    upstream,
    keeper,
    async close() {
      await app.close();
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
  console.log(`Fastify example on ${example.url} (fake ${protocol} upstream on ${example.upstream.url})`);
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
