import express, { type Response as ExpressResponse } from 'express';
import {
  type AppOptions,
  Browser,
  type ProtocolCase,
  SECRET,
  serve,
  startUpstream,
  type TestApp,
} from '../../../test/support/adapter-fixtures.js';
import { type TokenKeeperMiddlewareOptions, tokenKeeper, tokenKeeperErrors } from '../src/index.js';

export * from '../../../test/support/adapter-fixtures.js';

/** An Express app with tokenKeeper() in front of a few routes, against a fake upstream; closed after the test. */
export async function startApp(
  protocol: ProtocolCase,
  options: AppOptions & { middleware?: Partial<TokenKeeperMiddlewareOptions> } = {},
): Promise<TestApp> {
  const { upstream, keeper, clock } = await startUpstream(protocol, options);
  const app = express();
  app.use(express.json());
  app.use(tokenKeeper({ keeper, ...(options.middleware ?? { cookie: { secret: SECRET } }) }));
  app.post('/login', async (req, res) => {
    await req.upstream.login(req.body);
    res.status(204).end();
  });
  app.get('/me', async (req, res) => relay(await req.upstream.fetch('/whoami'), res));
  app.get('/data', async (req, res) => relay(await req.upstream.fetch(protocol.resource), res));
  app.post('/switch', async (req, res) => {
    res.json(await req.upstream.switchAccount(req.body.accountId));
  });
  app.post('/logout', async (req, res) => {
    await req.upstream.logout();
    res.status(204).end();
  });
  app.get('/boom', () => {
    throw new Error('not an AuthError');
  });
  app.use(tokenKeeperErrors());

  const url = await serve(app.listen(0, '127.0.0.1'));
  return { url, upstream, keeper, clock, protocol, browser: () => new Browser(url) };
}

async function relay(upstream: Response, res: ExpressResponse): Promise<void> {
  res.status(upstream.status).type(upstream.headers.get('content-type') ?? 'text/plain');
  res.send(Buffer.from(await upstream.arrayBuffer()));
}
