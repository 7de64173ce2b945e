import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { describe, expect, it } from 'vitest';
import { tokenKeeper } from '../src/index.js';
import { PROTOCOLS, startApp } from './support.js';

describe('errors thrown past tokenKeeper()', () => {
  it('rethrows errors that are not AuthErrors, and Koa answers 500', async () => {
    const { browser } = await startApp(PROTOCOLS[1]!);
    const answer = await browser().get('/boom');

    expect(answer.status).toBe(500);
    expect(answer.body).toBe('Internal Server Error');
  });
});

describe('tokenKeeper() options', () => {
  it('are checked by SessionSource, naming the option (the rest of the rules are auth-core specs)', async () => {
    const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: 'http://127.0.0.1:9' }), keepAlive: false });
    try {
      expect(() => tokenKeeper({ keeper })).toThrow(
        new TypeError('tokenKeeper: cookie.secret is required when there is no sessionKey function'),
      );
      expect(() => tokenKeeper({ keeper, sessionKey: 'user' as never })).toThrow(
        new TypeError('tokenKeeper: sessionKey must be a function of the context'),
      );
    } finally {
      await keeper.close();
    }
  });
});
