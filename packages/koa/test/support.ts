import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import {
  type AppOptions,
  Browser,
  type ProtocolCase,
  SECRET,
  serve,
  startUpstream,
  type TestApp,
} from '../../../test/support/adapter-fixtures.js';
import { type TokenKeeperMiddlewareOptions, tokenKeeper } from '../src/index.js';

export * from '../../../test/support/adapter-fixtures.js';

/** A Koa app with tokenKeeper() in front of a few routes, against a fake upstream; closed after the test. */
export async function startApp(
  protocol: ProtocolCase,
  options: AppOptions & { middleware?: Partial<TokenKeeperMiddlewareOptions> } = {},
): Promise<TestApp> {
  const { upstream, keeper, clock } = await startUpstream(protocol, options);
  const app = new Koa();
  app.silent = true; // the tests provoke errors on purpose
  app.use(tokenKeeper({ keeper, ...(options.middleware ?? { cookie: { secret: SECRET } }) }));
  const router = new Router();
  router.post('/login', async (ctx) => {
    await ctx.state.upstream.login(await readJson(ctx));
    ctx.status = 204;
  });
  router.get('/me', async (ctx) => relay(await ctx.state.upstream.fetch('/whoami'), ctx));
  router.get('/data', async (ctx) => relay(await ctx.state.upstream.fetch(protocol.resource), ctx));
  router.post('/switch', async (ctx) => {
    const { accountId } = (await readJson(ctx)) as { accountId: number };
    ctx.body = await ctx.state.upstream.switchAccount(accountId);
  });
  router.post('/logout', async (ctx) => {
    await ctx.state.upstream.logout();
    ctx.status = 204;
  });
  router.get('/boom', () => {
    throw new Error('not an AuthError');
  });
  app.use(router.routes());

  const url = await serve(app.listen(0, '127.0.0.1'));
  return { url, upstream, keeper, clock, protocol, browser: () => new Browser(url) };
}

async function readJson(ctx: Context): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function relay(upstream: Response, ctx: Context): Promise<void> {
  ctx.status = upstream.status;
  ctx.type = upstream.headers.get('content-type') ?? 'text/plain';
  ctx.body = Buffer.from(await upstream.arrayBuffer());
}
