import type { AddressInfo } from 'node:net';
import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { countHeaderReads } from '../../../test/support/header-reads.js';
import { type TokenKeeperMiddlewareOptions, tokenKeeper } from '../src/index.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** How often the middleware read the request's headers (which Node builds on first use) before the route ran. */
async function headerReadsBy(options: Omit<TokenKeeperMiddlewareOptions, 'keeper'>): Promise<number> {
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: 'https://api.teletracker.example' }) });
  const app = new Koa();
  let reads = () => 0;
  app.use(async (ctx, next) => {
    reads = countHeaderReads(ctx.req);
    await next();
  });
  app.use(tokenKeeper({ keeper, ...options } as TokenKeeperMiddlewareOptions));
  app.use((ctx) => {
    ctx.body = { reads: reads() };
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  closers.push(async () => {
    await new Promise((resolve) => server.close(resolve));
    await keeper.close();
  });
  const { port } = server.address() as AddressInfo;
  const answer = await fetch(`http://127.0.0.1:${port}/reads`, { headers: { cookie: 'other=1' } });
  return ((await answer.json()) as { reads: number }).reads;
}

describe('tokenKeeper() on the hot path', () => {
  it("leaves the request's headers unbuilt when sessions come from a sessionKey function that does not read them", async () => {
    expect(await headerReadsBy({ sessionKey: () => 'user-1' })).toBe(0);
  });

  it('reads the Cookie header when sessions come from the built-in cookie', async () => {
    expect(await headerReadsBy({ cookie: { secret: 'a test-only cookie secret, 32+ characters long', secure: false } })).toBeGreaterThan(0);
  });
});
