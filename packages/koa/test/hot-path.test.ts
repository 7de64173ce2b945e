import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { countHeaderReads, readsReported } from '../../../test/support/header-reads.js';
import { type TokenKeeperMiddlewareOptions, tokenKeeper } from '../src/index.js';

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
  try {
    return await readsReported(app.callback());
  } finally {
    await keeper.close();
  }
}

describe('tokenKeeper() on the hot path', () => {
  it("leaves the request's headers unbuilt when sessions come from a sessionKey function that does not read them", async () => {
    expect(await headerReadsBy({ sessionKey: () => 'user-1' })).toBe(0);
  });

  it("leaves the request's headers unbuilt with the built-in cookie too: the Cookie header is read from rawHeaders", async () => {
    expect(await headerReadsBy({ cookie: { secret: 'a test-only cookie secret, 32+ characters long', secure: false } })).toBe(0);
  });
});
