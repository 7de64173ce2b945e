/**
 * An Express app that calls an upstream API as each of its users, through tokenkeeper.
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
import { tokenKeeper, tokenKeeperErrors } from '@tokenkeeper/express';
import {
  defaultUsers,
  FAKE_RESOURCES,
  type FakeProtocol,
  type FakeUpstream,
  fakeCredentials,
  fakeUpstreamPreset,
  startFakeUpstream,
} from '@tokenkeeper/testing';
import express from 'express';

/** The app: four routes between tokenKeeper() and tokenKeeperErrors(). */
export function createApp(options: { keeper: TokenKeeper<any>; resource: string; cookieSecret: string }): express.Express {
  const app = express();
  app.use(express.json());
  // secure: false only because this example serves plain HTTP on localhost.
  app.use(tokenKeeper({ keeper: options.keeper, cookie: { secret: options.cookieSecret, secure: false } }));

  app.post('/login', async (req, res) => {
    const session = await req.upstream.login(req.body); // sets a new session cookie
    res.json({ status: session.status, expiresAt: session.expiresAt });
  });

  app.get('/me', async (req, res) => {
    const answer = await req.upstream.fetch('/whoami'); // the token is renewed and retried for you
    await relay(answer, res);
  });

  app.get('/data', async (req, res) => {
    await relay(await req.upstream.fetch(options.resource), res);
  });

  app.post('/logout', async (req, res) => {
    await req.upstream.logout(); // clears the cookie
    res.status(204).end();
  });

  app.use(tokenKeeperErrors()); // AuthError → { error: code, message } with its status
  return app;
}

/** Passes an upstream answer on to the client. */
async function relay(answer: Response, res: express.Response): Promise<void> {
  res.status(answer.status).type(answer.headers.get('content-type') ?? 'text/plain');
  res.send(Buffer.from(await answer.arrayBuffer()));
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
  console.log(`Express example on ${example.url} (fake ${protocol} upstream on ${example.upstream.url})`);
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
