import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { countHeaderReads, readsReported } from '../../../test/support/header-reads.js';
import { type TokenKeeperMiddlewareOptions, tokenKeeper } from '../src/index.js';

/** How often the middleware read `req.headers` (which Node builds on first use) before the route ran. */
async function headerReadsBy(options: Omit<TokenKeeperMiddlewareOptions, 'keeper'>): Promise<number> {
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: 'https://api.teletracker.example' }) });
  const app = express();
  app.use((req, _res, next) => {
    Object.assign(req, { headerReads: countHeaderReads(req) });
    next();
  });
  app.use(tokenKeeper({ keeper, ...options } as TokenKeeperMiddlewareOptions));
  app.get('/reads', (req, res) => {
    res.json({ reads: (req as unknown as { headerReads: () => number }).headerReads() });
  });
  try {
    return await readsReported(app);
  } finally {
    await keeper.close();
  }
}

describe('tokenKeeper() on the hot path', () => {
  it('leaves req.headers unbuilt when sessions come from a sessionKey function that does not read them', async () => {
    expect(await headerReadsBy({ sessionKey: () => 'user-1' })).toBe(0);
  });

  it('reads the Cookie header when sessions come from the built-in cookie', async () => {
    expect(await headerReadsBy({ cookie: { secret: 'a test-only cookie secret, 32+ characters long', secure: false } })).toBeGreaterThan(0);
  });
});
